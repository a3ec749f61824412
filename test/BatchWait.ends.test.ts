/**
 * The waits that end otherwise than by polling to a terminal status: awaitCompleted's typed outcomes, watchBatch's
 * snapshots, cancelBatchAndWait through the cancel window, and what a wait logs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Logger, LogLevel, Stream, TestClock } from "effect"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchWait from "../src/BatchWait.js"
import * as Fake from "./support/FakeHttp.js"
import { exactPoll, gets, hour, lifecycle, minute, run } from "./support/waitLifecycle.js"

describe("awaitCompleted", () => {
  for (const [outcome, tag] of [["failed", "BatchFailedError"], ["expired", "BatchExpiredError"]] as const) {
    it.effect(`a batch that ends ${outcome} fails with ${tag} carrying the batch`, () =>
      Effect.gen(function*() {
        const result = yield* run(BatchWait.awaitCompleted("batch_1", { schedule: exactPoll }), "2 hours")
        assert.strictEqual(result._tag, "Left")
        if (result._tag !== "Left") return
        assert.strictEqual(result.left._tag, tag)
        if (result.left._tag === "BatchFailedError") {
          assert.strictEqual(result.left.errors[0]?.line, 7)
          assert.include(result.left.message, "invalid_json_line")
          assert.include(result.left.message, "(line 7 of its input file)")
        }
        if (result.left._tag === "BatchExpiredError") {
          assert.strictEqual(result.left.batch.output_file_id, "file-out")
          assert.include(result.left.message, "partial results in file-out")
        }
      }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 20 * minute, outcome }).responder))))
  }

  it.effect("a completed batch is returned", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitCompleted("batch_1"), "2 hours")
      assert.strictEqual(result._tag, "Right")
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 20 * minute }).responder))))
})

describe("watchBatch", () => {
  it.effect("emits on change only, shows finalizing at 100%, ends after the terminal snapshot", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Stream.runCollect(BatchWait.watchBatch("batch_1", { schedule: exactPoll })))
      yield* TestClock.adjust("2 hours")
      const snapshots = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      const keys = snapshots.map((b) => `${b.status}:${b.request_counts?.completed}`)
      for (let i = 1; i < keys.length; i++) assert.notStrictEqual(keys[i], keys[i - 1])
      assert.strictEqual(keys[0], "validating:0")
      assert.include(keys, "finalizing:100")
      assert.strictEqual(keys[keys.length - 1], "completed:100")
      const counts = snapshots.filter((b) => b.status === "in_progress").map((b) => b.request_counts?.completed ?? 0)
      assert.isAbove(counts.length, 3)
      for (let i = 1; i < counts.length; i++) assert.isAbove(counts[i] ?? 0, counts[i - 1] ?? 0)
      // fewer snapshots than polls: unchanged polls are not emitted
      assert.isBelow(snapshots.length, (yield* gets).length)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 30 * minute, finalizing: 10 * minute }).responder))))
})

describe("cancelBatchAndWait", () => {
  for (const cancellingMinutes of [10, 25]) {
    it.effect(`waits out a ${cancellingMinutes}-minute cancel window`, () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          BatchWait.cancelBatchAndWait("batch_1", { schedule: BatchSchedule.cancelWindow({ jitter: false }) })
        )
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
      assert.strictEqual(result._tag, "Left")
      if (result._tag !== "Left" || result.left._tag !== "WaitTimeoutError") {
        return assert.fail("expected WaitTimeoutError")
      }
      assert.strictEqual(result.left.lastBatch?.status, "cancelling")
      assert.strictEqual(result.left.waitedMs, 30 * minute)
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
      const first = yield* Effect.fork(BatchWait.cancelBatchAndWait("batch_1"))
      yield* TestClock.adjust("1 minute")
      const second = yield* Effect.fork(BatchWait.cancelBatchAndWait("batch_1"))
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
      const fiber = yield* Effect.fork(BatchWait.cancelBatchAndWait("batch_1"))
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
    const logger = Logger.make(({ logLevel, message }) => lines.push(`${logLevel.label} ${JSON.stringify(message)}`))
    return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
  }
  const notFound = () =>
    Fake.json(404, { error: { message: "No batch found", type: "invalid_request_error", param: null, code: null } })

  it.effect("no WARN \"will poll again\" for a first poll whose error ends the wait", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      const error = yield* Effect.flip(BatchWait.awaitBatch("batch_gone")).pipe(
        Effect.provide(layer),
        Logger.withMinimumLogLevel(LogLevel.All)
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
          Logger.withMinimumLogLevel(LogLevel.All)
        ),
        "2 hours"
      )
      assert.strictEqual(result._tag, "Right")
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
            Effect.catchAll((error) => Effect.succeed(error._tag)),
            Effect.provide(layer),
            Logger.withMinimumLogLevel(LogLevel.All)
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
