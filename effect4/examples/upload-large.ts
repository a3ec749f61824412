/**
 * A large batch input through the Uploads API: a stream of requests, never held whole, cut into parts of 8 MiB as it
 * arrives, each part sent on its own (one connection reset mid-part is sent again, alone), the MD5 computed on the
 * fly, then a batch created from the file. Against the simulator's server on 127.0.0.1, with the reset injected.
 *
 *   npx tsx examples/upload-large.ts        (inside effect4/, on Node >= 22.19)
 *
 * The root's program on this edition: `FetchHttpClient` is `effect/http`'s.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Redacted, Stream } from "effect"
import { BatchApi, BatchLine, OpenAiConfig, OpenAiFiles, OpenAiUploads } from "effect-openai-batch"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import * as Server from "effect-openai-batch/testing/server"
import { FetchHttpClient } from "effect/http"

const encoder = new TextEncoder()
const line = (i: number) =>
  encoder.encode(
    `${
      JSON.stringify(
        BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input: `paragraph ${i} `.repeat(40) })
      )
    }\n`
  )
const lines = 20_000
/** The API asks for the file's size before the first byte: the stream is counted once, without keeping it. */
const sizeOf = (count: number) => {
  let total = 0
  for (let i = 0; i < count; i++) total += line(i).length
  return total
}

const program = Effect.gen(function*() {
  // Real time: an upload expires an hour after it is created, and nothing here waits on the simulator's clock (an
  // accelerated clock would expire it while a loaded machine is still sending its parts).
  const openai = yield* Server.make({ speed: 1 })
  // The first part's connection is reset while its body is on the wire.
  yield* openai.simulator.injectFault(BatchApiSimulator.resetDuringBody, {
    match: (request) => request.method === "POST" && request.path.endsWith("/parts")
  })
  const Live = Layer.mergeAll(BatchApi.layer, OpenAiFiles.layer, OpenAiUploads.layer).pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(BatchApiSimulator.testApiKey), baseUrl: openai.baseUrl })),
    Layer.provide(FetchHttpClient.layer)
  )
  const size = sizeOf(lines)
  yield* Console.log(`uploading ${lines} requests, ${(size / 1e6).toFixed(1)} MB, in parts of 8 MiB`)
  const upload = yield* OpenAiUploads.uploadStream(Stream.range(0, lines - 1).pipe(Stream.map(line)), {
    bytes: size,
    filename: "requests.jsonl",
    purpose: "batch",
    partSize: 8 * 1024 * 1024
  }).pipe(Effect.provide(Live))
  const parts = (yield* openai.simulator.requests).filter((r) => r.method === "POST" && r.path.endsWith("/parts"))
  yield* Console.log(
    `uploaded ${upload.file.id}: ${upload.file.bytes} bytes in ${parts.length - 1} parts, ` +
      `${parts.filter((r) => r.fault !== undefined).length} reset and sent again alone`
  )
  const batch = yield* BatchApi.createBatch({
    input_file_id: upload.file.id,
    endpoint: "/v1/embeddings",
    completion_window: "24h"
  }).pipe(Effect.provide(Live))
  yield* Console.log(`created ${batch.id} from it (${batch.status})`)
})

program.pipe(Effect.scoped, NodeRuntime.runMain)
