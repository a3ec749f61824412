/**
 * Cancelling a batch and waiting out the cancel window (up to 10 minutes, sometimes longer).
 *
 *   npx tsx examples/cancel-and-wait.ts           # on the embedded simulator (a 10-minute cancel window)
 *   OPENAI_API_KEY=sk-... npx tsx examples/cancel-and-wait.ts --live --batch batch_abc123
 */
import { Console, Effect, Stream } from "effect"
import { BatchApi, BatchWait } from "effect-openai-batch"
import { argument, isLive, run } from "./support/run.js"

const program = Effect.gen(function*() {
  const batchId = argument("batch") ?? (isLive ? undefined : (yield* BatchApi.createBatch({
    input_file_id: "file-cancel-example",
    endpoint: "/v1/chat/completions",
    completion_window: "24h"
  })).id)
  if (batchId === undefined) return yield* Console.error("--live needs --batch <batch id>")

  if (!isLive) {
    // Let it get going, so there are partial results to keep.
    yield* BatchWait.watchBatch(batchId).pipe(
      Stream.takeUntil((b) => (b.request_counts?.completed ?? 0) >= 20),
      Stream.runDrain
    )
  }
  const started = yield* BatchApi.retrieveBatch(batchId)
  yield* Console.log(`${batchId} is ${started.status}; cancelling and waiting (deadline 30 minutes)`)

  const ended = yield* BatchWait.cancelBatchAndWait(batchId, {
    onProgress: (b) =>
      Console.log(`  ${b.status.padEnd(11)} ${b.request_counts?.completed ?? 0}/${b.request_counts?.total ?? "?"} done`)
  })
  yield* Console.log(`${ended.id} is ${ended.status}`)
  if (ended.status === "cancelled") {
    yield* Console.log(`partial results (already billed): ${ended.output_file_id ?? "none"}`)
  } else {
    yield* Console.log(`it ended ${ended.status} before the cancel took effect`)
  }

  // Calling it again is safe: an ended batch is returned as is, with no second cancel request.
  const again = yield* BatchWait.cancelBatchAndWait(batchId)
  yield* Console.log(`again: ${again.status}`)
}).pipe(Effect.catchTag("WaitTimeoutError", (e) => Console.error(`${e.message}; last seen: ${e.lastBatch?.status}`)))

run(program, { simulator: { script: { inProgress: "20 minutes", cancelling: "10 minutes" } } })
