/**
 * How we recommend testing YOUR batch pipeline: swap the BatchApi layer for the simulator, drive time with
 * TestClock (hours of batch time pass in milliseconds), and assert on the simulator's request log.
 *
 * The pipeline under test is an ordinary function of yours that needs `BatchApi`; nothing in it knows about tests.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { BatchApi, BatchSchedule, BatchWait } from "effect-openai-batch"
import { BatchApiSimulator, BatchApiTest } from "effect-openai-batch/testing"

// ---- your code -------------------------------------------------------------------------------------------
/**
 * Submits a nightly batch, waits for it, and reports how many requests succeeded. Taking the wait options as a
 * parameter lets a test that covers a day of batch time poll every 30 minutes instead of every minute.
 */
const nightlyJob = (inputFileId: string, wait: BatchWait.AwaitOptions = {}) =>
  Effect.gen(function*() {
    const batch = yield* BatchApi.createBatch({
      input_file_id: inputFileId,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      metadata: { job: "nightly" }
    })
    const done = yield* BatchWait.awaitCompleted(batch.id, wait)
    return { id: done.id, succeeded: done.request_counts?.completed ?? 0 }
  })
// ----------------------------------------------------------------------------------------------------------

/** The simulator in place of the real API; it accepts any file id so the test needs no upload. */
const TestApi = BatchApiSimulator.layerBatchApi({ requireInputFile: false })

/** Runs `effect` in a fiber and lets `hours` of virtual time pass. */
const afterHours = <A, E, R>(effect: Effect.Effect<A, E, R>, hours: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(`${hours} hours`)
    return yield* Fiber.join(fiber)
  })

describe("nightlyJob", () => {
  it.effect("returns the counts of a batch that takes 3 hours", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.setDefaultScript({ inProgress: "3 hours", requestCount: 500 })

      const result = yield* afterHours(nightlyJob("file-nightly"), 4)

      assert.strictEqual(result.succeeded, 500)
      const log = yield* simulator.requests
      assert.strictEqual(log.filter((r) => r.method === "POST").length, 1)
      assert.deepStrictEqual(log[0]?.body, {
        input_file_id: "file-nightly",
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
        metadata: { job: "nightly", [BatchApi.idempotencyMetadataKey]: log[0]?.headers["idempotency-key"] }
      })
    }).pipe(Effect.provide(TestApi)))

  it.effect("survives a rate limit on create and a dropped connection while polling", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.injectFault(BatchApiSimulator.rateLimited({ retryAfterSeconds: 2 }), {
        match: { method: "POST" }
      })
      yield* simulator.injectFault(BatchApiSimulator.dropConnection, { match: { method: "GET" }, times: 2 })

      const result = yield* afterHours(nightlyJob("file-nightly"), 2)

      assert.strictEqual(result.succeeded, 100)
      const posts = (yield* simulator.requests).filter((r) => r.method === "POST")
      assert.deepStrictEqual(posts.map((r) => r.status), [429, 200])
      // the retry waited exactly the server's hint
      assert.strictEqual((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0), 2000)
    }).pipe(Effect.provide(TestApi)))

  it.effect("fails with BatchExpiredError, carrying the partial results, when the batch expires", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      // an expiring batch runs until its expires_at: 24 hours after it was created
      yield* simulator.setDefaultScript({ outcome: "expired" })

      const everyHalfHour = { schedule: BatchSchedule.every("30 minutes") }
      const error = yield* afterHours(Effect.flip(nightlyJob("file-nightly", everyHalfHour)), 25)

      assert.strictEqual(error._tag, "BatchExpiredError")
      if (error._tag === "BatchExpiredError") assert.isDefined(error.batch.output_file_id)
    }).pipe(Effect.provide(TestApi)))

  it.effect("unit-level: a BatchApi from plain handlers, when HTTP does not matter", () =>
    Effect.gen(function*() {
      const result = yield* nightlyJob("file-1")
      assert.deepStrictEqual(result, { id: "batch_done", succeeded: 7 })
    }).pipe(Effect.provide(BatchApiTest.layer({
      createBatch: () => Effect.succeed(BatchApiTest.batch({ id: "batch_done" })),
      // waits and streams are built on these handlers, so awaitCompleted works unchanged
      retrieveBatch: (id) =>
        Effect.succeed(
          BatchApiTest.batch({ id, status: "completed", request_counts: { total: 7, completed: 7, failed: 0 } })
        )
    }))))
})
