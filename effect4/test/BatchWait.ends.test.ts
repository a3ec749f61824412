/**
 * The waits on Effect 4, continued (BatchWait.test.ts has the rest): the cancel window (`cancelBatchAndWait`) and
 * what a wait logs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger, References, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchWait from "../src/BatchWait.js"
import * as Fake from "./support/FakeHttp.js"
import { exactPoll, hour, lifecycle, minute, run, started } from "./support/waitLifecycle.js"

describe("cancelBatchAndWait", () => {
  for (const cancellingMinutes of [10, 25]) {
    it.effect(`waits out a ${cancellingMinutes}-minute cancel window`, () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(
          BatchWait.cancelBatchAndWait("batch_1", { schedule: BatchSchedule.cancelWindow({ jitter: false }) })
        )
        yield* started(fiber, 1)
        yield* TestClock.adjust("1 hour")
        const batch = yield* Fiber.join(fiber)
        assert.strictEqual(batch.status, "cancelled")
        assert.strictEqual(batch.output_file_id, "file-out")
        const log = yield* Fake.requests
        assert.strictEqual(log.filter((r) => r.method === "POST").length, 1)
        const last = log[log.length - 1]?.at ?? 0
        assert.isAtLeast(last, cancellingMinutes * minute)
        assert.isAtMost(last - cancellingMinutes * minute, 30_000)
      }).pipe(
        Effect.provide(
          Fake.layer(lifecycle({ inProgress: 10 * hour, cancelling: cancellingMinutes * minute }).responder)
        )
      ))
  }

  it.effect("a cancel window past the 30-minute deadline fails with the last (cancelling) batch", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.cancelBatchAndWait("batch_1"), "2 hours")
      assert.strictEqual(result._tag, "Failure")
      if (result._tag !== "Failure" || result.failure._tag !== "WaitTimeoutError") {
        return assert.fail("expected WaitTimeoutError")
      }
      assert.strictEqual(result.failure.lastBatch?.status, "cancelling")
      assert.strictEqual(result.failure.waitedMs, 30 * minute)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 10 * hour, cancelling: 40 * minute }).responder))))

  it.effect("an already terminal batch is returned without a cancel request", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(3 * hour)
      const batch = yield* BatchWait.cancelBatchAndWait("batch_1")
      assert.strictEqual(batch.status, "completed")
      const log = yield* Fake.requests
      assert.deepStrictEqual(log.map((r) => r.method), ["GET"])
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: hour }).responder))))

  it.effect("a repeated call while cancelling sends no second cancel", () =>
    Effect.gen(function*() {
      const first = yield* Effect.forkChild(BatchWait.cancelBatchAndWait("batch_1"))
      yield* started(first, 1)
      yield* TestClock.adjust("1 minute")
      const second = yield* Effect.forkChild(BatchWait.cancelBatchAndWait("batch_1"))
      yield* started(second, 2)
      yield* TestClock.adjust("30 minutes")
      assert.strictEqual((yield* Fiber.join(first)).status, "cancelled")
      assert.strictEqual((yield* Fiber.join(second)).status, "cancelled")
      const posts = (yield* Fake.requests).filter((r) => r.method === "POST")
      assert.strictEqual(posts.length, 1)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 10 * hour, cancelling: 10 * minute }).responder))))

  it.effect("a batch that completes before the cancel takes effect is returned as completed", () =>
    Effect.gen(function*() {
      // finalizing until 61.5 s; the first GET (t=0) is "validating"... so start just before completion
      yield* TestClock.setTime(30_000 + 20 * minute + minute - 1)
      const fiber = yield* Effect.forkChild(BatchWait.cancelBatchAndWait("batch_1"))
      yield* started(fiber, 1)
      yield* TestClock.adjust("1 hour")
      const batch = yield* Fiber.join(fiber)
      assert.strictEqual(batch.status, "completed")
    }).pipe(Effect.provide(Fake.layer(lifecycleRacing()))))
})

/** A batch that is finalizing on the first GET and completed when the cancel arrives. */
function lifecycleRacing(): Fake.Responder {
  return (request, index) => {
    if (request.method === "POST") {
      return Fake.json(400, {
        error: {
          message: "Cannot cancel a batch with status 'completed'.",
          type: "invalid_request_error",
          param: null,
          code: null
        }
      })
    }
    return Fake.json(
      200,
      Fake.batchJson({
        status: index === 0 ? "finalizing" : "completed",
        output_file_id: index === 0 ? null : "file-out"
      })
    )
  }
}

describe("what a wait logs", () => {
  const capture = () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.toUpperCase()} ${JSON.stringify(message)}`)
    })
    return { lines, layer: Logger.layer([logger]) }
  }
  const notFound = () =>
    Fake.json(404, { error: { message: "No batch found", type: "invalid_request_error", param: null, code: null } })

  it.effect("no WARN \"will poll again\" for a first poll whose error ends the wait", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      const error = yield* Effect.flip(BatchWait.awaitBatch("batch_gone")).pipe(
        Effect.provide(layer),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
      assert.strictEqual(error._tag, "NotFoundError")
      assert.deepStrictEqual(lines.filter((line) => line.startsWith("WARN")), [])
    }).pipe(Effect.provide(Fake.layer(notFound))))

  it.effect("one WARN per transient failure of the first poll, which does go on", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      const result = yield* run(
        BatchWait.awaitBatch("batch_1", { schedule: exactPoll }).pipe(
          Effect.provide(layer),
          Effect.provideService(References.MinimumLogLevel, "All")
        ),
        "2 hours"
      )
      assert.strictEqual(result._tag, "Success")
      assert.strictEqual(lines.filter((line) => line.startsWith("WARN") && line.includes("will poll again")).length, 2)
    }).pipe(
      Effect.provide(Fake.layer(lifecycle({ inProgress: 30 * minute, failingPolls: new Set([0, 1]) }).responder))
    ))

  it.effect("a handled failure logs no \"unhandled error\" fiber failure at debug level", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      const unhandled = (effect: Effect.Effect<unknown, { readonly _tag: string }, BatchApi.BatchApi>) =>
        Effect.gen(function*() {
          lines.length = 0
          const tag = yield* effect.pipe(
            Effect.catch((error) => Effect.succeed(error._tag)),
            Effect.provide(layer),
            Effect.provideService(References.MinimumLogLevel, "All")
          )
          return [tag, lines.filter((line) => line.includes("unhandled")).length] as const
        })
      // The waits are effects over a stream: nothing. (Before: 3 lines per failure, from the stream's run and the
      // fibers of the deadline's `interruptWhen`.)
      for (const effect of [BatchWait.awaitBatch("batch_gone"), BatchWait.awaitCompleted("batch_gone")]) {
        assert.deepStrictEqual(yield* unhandled(effect), ["NotFoundError", 0])
      }
      // A stream the caller runs: what Effect's channel executor logs for any failed stream run, no more.
      const plain = yield* unhandled(Stream.runDrain(Stream.fail({ _tag: "Plain" })))
      const streams: ReadonlyArray<Stream.Stream<unknown, { readonly _tag: string }, BatchApi.BatchApi>> = [
        BatchWait.watchBatch("batch_gone"),
        BatchApi.streamBatches()
      ]
      for (const stream of streams) {
        assert.deepStrictEqual(yield* unhandled(Stream.runDrain(stream)), ["NotFoundError", plain[1]])
      }
    }).pipe(Effect.provide(Fake.layer(notFound))))
})
