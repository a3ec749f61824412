/**
 * Quickstart: create a batch, wait for it with a progress line, print how it ended.
 *
 *   npx tsx examples/quickstart.ts                                        # on the embedded simulator
 *   OPENAI_API_KEY=sk-... npx tsx examples/quickstart.ts --live --input-file file-abc123
 */
import { Console, Effect } from "effect"
import { BatchApi, BatchWait } from "effect-openai-batch"
import { argument, isLive, run } from "./support/run.js"

const program = Effect.gen(function*() {
  const inputFileId = argument("input-file") ?? (isLive ? undefined : "file-quickstart")
  if (inputFileId === undefined) return yield* Console.error("--live needs --input-file <id of an uploaded batch file>")

  const batch = yield* BatchApi.createBatch({
    input_file_id: inputFileId,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
    metadata: { example: "quickstart" }
  })
  yield* Console.log(`created ${batch.id} (${batch.status})`)

  const done = yield* BatchWait.awaitBatch(batch.id, {
    onProgress: (b) =>
      Console.log(`  ${b.status.padEnd(11)} ${b.request_counts?.completed ?? 0}/${b.request_counts?.total ?? "?"}`)
  })
  yield* Console.log(`${done.id} ended ${done.status}; output file: ${done.output_file_id ?? "(none)"}`)
}).pipe(
  // Errors are typed: handle the ones you care about by tag.
  Effect.catchTag("AuthenticationError", (e) => Console.error(`check OPENAI_API_KEY: ${e.message}`)),
  Effect.catchTag("BadRequestError", (e) => Console.error(`the API refused the batch: ${e.message} (param ${e.param})`))
)

run(program)
