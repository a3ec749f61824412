/**
 * The Files API with the Effect 4 edition: upload a batch input file (stored once, even when the answer to the
 * upload is lost: its filename carries a marker the retry looks for), download a file's content as it arrives
 * (resuming after a broken connection), and list the newest batch files.
 *
 *   OPENAI_API_KEY=sk-... npx tsx examples/files.ts file-xyz789        (from effect4/, Node >= 22.19)
 */
import { Effect, Layer, Stream } from "effect"
import { BatchLine, OpenAiConfig, OpenAiFiles } from "effect-openai-batch"
import * as FetchTransport from "effect-openai-batch/transport/FetchTransport"

const program = (outputFileId: string) =>
  Effect.gen(function*() {
    const lines = [
      BatchLine.chatCompletion("q-1", { model: "gpt-4o-mini", messages: [{ role: "user", content: "2 + 2?" }] })
    ]
    const input = yield* OpenAiFiles.uploadFile({
      file: lines.map((line) => JSON.stringify(line) + "\n").join(""), // a Blob, bytes or a Stream of bytes work too
      filename: "requests.jsonl",
      purpose: "batch"
    })
    yield* Effect.log(`uploaded ${input.id} as ${input.filename}`)
    const results = yield* OpenAiFiles.downloadFile(outputFileId).pipe(
      Stream.decodeText,
      Stream.splitLines,
      Stream.runCount
    )
    yield* Effect.log(`${outputFileId}: ${results} lines`)
    const newest = yield* OpenAiFiles.streamFiles({ purpose: "batch", pageSize: 5 }).pipe(
      Stream.take(5),
      Stream.runCollect
    )
    yield* Effect.log(newest.map((file) => `${file.id} ${file.filename}`).join("\n"))
  })

// OPENAI_API_KEY (and OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID when set); requests over fetch
const FilesLive = OpenAiFiles.layer.pipe(Layer.provide(Layer.mergeAll(OpenAiConfig.layerFromEnv, FetchTransport.layer)))

const outputFileId = process.argv[2]
if (outputFileId === undefined) {
  console.log("usage: npx tsx examples/files.ts <output file id>")
} else {
  Effect.runPromise(program(outputFileId).pipe(Effect.provide(FilesLive))).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
