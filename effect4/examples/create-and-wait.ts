/**
 * The request side with the Effect 4 edition: create a batch from an uploaded input file (at most once, even
 * across a restart: the idempotency key names it), wait for it with progress, and list the newest batches. Every
 * request retries transient failures on the region's policy and times each attempt (`BatchSchedule`).
 *
 *   OPENAI_API_KEY=sk-... npx tsx examples/create-and-wait.ts file-abc123        (from effect4/, Node >= 22.19)
 */
import { Effect, Layer, Stream } from "effect"
import { BatchApi, BatchSchedule, BatchWait } from "effect-openai-batch"
import * as FetchTransport from "effect-openai-batch/transport/FetchTransport"

const program = (inputFileId: string) =>
  Effect.gen(function*() {
    const batch = yield* BatchApi.createBatch(
      { input_file_id: inputFileId, endpoint: "/v1/chat/completions", completion_window: "24h" },
      { idempotencyKey: `example-${inputFileId}` }
    )
    yield* Effect.log(`created ${batch.id} (${batch.status})`)
    const done = yield* BatchWait.awaitCompleted(batch.id, {
      onProgress: (snapshot) => Effect.log(`${snapshot.status} ${snapshot.request_counts?.completed ?? 0}`)
    })
    yield* Effect.log(`completed: output in ${done.output_file_id ?? "none"}`)
    const newest = yield* BatchApi.streamBatches({ pageSize: 5 }).pipe(Stream.take(5), Stream.runCollect)
    yield* Effect.log(newest.map((item) => `${item.id} ${item.status}`).join("\n"))
  }).pipe(
    // a patient policy for this program: 5 retries, 30 s per attempt
    BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 5 })),
    BatchSchedule.withTimeout("30 seconds"),
    Effect.catchTags({
      BatchFailedError: (error) => Effect.logError(error.message),
      WaitTimeoutError: (error) => Effect.logError(`${error.message}; last seen: ${error.lastBatch?.status}`)
    })
  )

// OPENAI_API_KEY (and OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID when set); requests over fetch
const MainLive = BatchApi.layerFromEnv.pipe(Layer.provide(FetchTransport.layer))

const inputFileId = process.argv[2]
if (inputFileId === undefined) {
  console.log("usage: npx tsx examples/create-and-wait.ts <input file id>")
} else {
  Effect.runPromise(program(inputFileId).pipe(Effect.provide(MainLive))).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
