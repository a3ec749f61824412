/**
 * Waiting for a batch: the default wait, a custom pace, and a wait that only accepts `completed`.
 *
 *   npx tsx examples/wait-for-batch.ts            # on the embedded simulator
 *   OPENAI_API_KEY=sk-... npx tsx examples/wait-for-batch.ts --live --batch batch_abc123
 */
import { Console, Duration, Effect, Schedule } from "effect"
import { type Batch, BatchApi, BatchSchedule, BatchWait } from "effect-openai-batch"
import { argument, isLive, run } from "./support/run.js"

const progress = (b: Batch.Batch) => {
  const counts = b.request_counts
  const done = counts === undefined ? "" : `${counts.completed + counts.failed}/${counts.total}`
  const note = b.status === "finalizing" ? " (all requests done; the output file is being written)" : ""
  return Console.log(`  ${b.status.padEnd(11)} ${done}${note}`)
}

/**
 * Every 10 s, but once a minute while finalizing: the schedule's input is the latest snapshot (Effect 4:
 * `Schedule.setInputType` and the step's metadata, where Effect 3 intersected with `Schedule.identity`).
 */
const slowerWhileFinalizing: BatchSchedule.PollSchedule = Schedule.spaced("10 seconds").pipe(
  Schedule.setInputType<Batch.Batch>(),
  Schedule.modifyDelay(({ duration, input }) =>
    Effect.succeed(input.status === "finalizing" ? Duration.minutes(1) : duration)
  )
)

const program = Effect.gen(function*() {
  const batchId = argument("batch") ?? (isLive ? undefined : (yield* BatchApi.createBatch({
    input_file_id: "file-wait-example",
    endpoint: "/v1/embeddings",
    completion_window: "24h"
  })).id)
  if (batchId === undefined) return yield* Console.error("--live needs --batch <batch id>")

  yield* Console.log(`1. awaitBatch with the default pace (1 s growing to 60 s) and deadline (expires_at + 1 h)`)
  const batch = yield* BatchWait.awaitBatch(batchId, { onProgress: progress })
  yield* Console.log(`   -> ${batch.status}`)

  yield* Console.log(`2. every 30 s for at most 2 hours (an ended batch returns at once)`)
  yield* BatchWait.awaitBatch(batchId, { schedule: BatchSchedule.every("30 seconds"), timeout: "2 hours" })

  yield* Console.log(`3. a pace that reads the snapshot`)
  yield* BatchWait.awaitBatch(batchId, { schedule: slowerWhileFinalizing })

  yield* Console.log(`4. awaitCompleted: anything but completed is a typed error carrying the batch`)
  const completed = yield* BatchWait.awaitCompleted(batchId).pipe(
    Effect.map((b) =>
      `completed: results in ${b.output_file_id ?? "(none)"}, errors in ${b.error_file_id ?? "(none)"}`
    ),
    Effect.catchTags({
      BatchFailedError: (e) =>
        Effect.succeed(`failed: ${e.errors.map((x) => `line ${x.line}: ${x.message}`).join("; ")}`),
      BatchExpiredError: (e) => Effect.succeed(`expired; partial results in ${e.batch.output_file_id ?? "(none)"}`),
      BatchCancelledError: (e) => Effect.succeed(`cancelled; partial results in ${e.batch.output_file_id ?? "(none)"}`),
      WaitTimeoutError: (e) => Effect.succeed(`gave up after ${e.waitedMs} ms; last status ${e.lastBatch?.status}`)
    })
  )
  yield* Console.log(`   -> ${completed}`)
})

// A finalizing phase far longer than the 60 s poll cap, so the progress lines always show it: 20 minutes here are 2 s
// of real time on the simulator's clock, which a poll does not miss even on a machine too loaded to keep its pace.
run(program, { simulator: { script: { finalizing: "20 minutes" } } })
