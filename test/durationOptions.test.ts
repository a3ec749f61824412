/**
 * Duration options outside jobs refuse a negative or NaN value up front, with `InvalidParamsError` naming the
 * option (Effect 3 read one as zero: a wait that timed out at once, a tolerance no delivery passed). Zero is
 * taken where it is no loop; a pace that repeats (a redraw, a poll of the database, a check) refuses it too. The
 * `BatchSchedule` constructors cannot fail in the error channel: they throw a `RangeError` naming the option.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchWait from "../src/BatchWait.js"
import * as DurableJob from "../src/durable/DurableJob.js"
import * as SqliteEngine from "../src/durable/SqliteEngine.js"
import * as JobProgress from "../src/JobProgress.js"
import * as Webhooks from "../src/Webhooks.js"
import * as Fake from "./support/FakeHttp.js"

const secret = Redacted.make(`whsec_${randomBytes(32).toString("base64")}`)
/** Each refused value, as a message shows it. */
const refused: ReadonlyArray<readonly [Duration.DurationInput, string]> = [
  [-5, "-5 millis"],
  [Number.NaN, "NaN millis"],
  ["-5 seconds", "-5 seconds"],
  [[-1, 0], "[-1, 0]"]
]
/** A pace that repeats also refuses zero: a busy loop. */
const refusedPace: ReadonlyArray<readonly [Duration.DurationInput, string]> = [[0, "0 millis"], ...refused]

describe("duration options", () => {
  it.effect("BatchWait timeout and Webhooks tolerance: negative or NaN refused before any request, zero taken", () =>
    Effect.gen(function*() {
      for (const [value] of refused) {
        const wait = yield* Effect.flip(BatchWait.awaitBatch("batch_1", { timeout: value }))
        assert.strictEqual(wait.message, "awaitBatch: timeout must be a duration >= 0", String(value))
        const webhooks = yield* Effect.flip(Webhooks.make({ secret, tolerance: value }))
        assert.strictEqual(webhooks.message, "Webhooks.make: tolerance must be a duration >= 0", String(value))
      }
      assert.strictEqual((yield* Fake.requests).length, 0)
      yield* Webhooks.make({ secret, tolerance: 0 })
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(500, {})))))

  it.scoped("paces (JobProgress interval, DurableJob round and interruptCheck, SqliteEngine pollInterval): <= 0 refused", () =>
    Effect.gen(function*() {
      const output = { write: () => undefined }
      for (const [value] of refusedPace) {
        const view = yield* Effect.flip(JobProgress.view(output, { interval: value }))
        assert.strictEqual(view.message, "JobProgress.view: interval must be a duration > 0", String(value))
        for (const hook of ["round", "interruptCheck"] as const) {
          // Thrown when the layer is made: a failure at job start would be journaled under the job's id.
          assert.throws(
            () => DurableJob.layer({ [hook]: value }),
            `DurableJob.layer: ${hook} must be a duration > 0, got `
          )
        }
        // Refused before a lock is taken or a file opened: the directory does not exist.
        const engine = yield* Effect.flip(
          Layer.build(SqliteEngine.layer({ filename: "/nonexistent/jobs.db", pollInterval: value }))
        )
        assert.strictEqual(engine.message, "SqliteEngine.layer: pollInterval must be a duration > 0", String(value))
      }
      assert.strictEqual(
        (yield* Effect.flip(Layer.build(SqliteEngine.layer({
          filename: "/nonexistent/jobs.db",
          shardingConfig: { entityMessagePollInterval: 0 }
        })))).message,
        "SqliteEngine.layer: shardingConfig.entityMessagePollInterval must be a duration > 0"
      )
      yield* JobProgress.view(output, { interval: 1 })
    }))

  it("BatchSchedule constructors throw a RangeError naming the option; zero taken but for a pace", () => {
    const throws = (build: () => unknown, message: string) => {
      try {
        build()
      } catch (error) {
        assert.instanceOf(error, RangeError, message)
        assert.strictEqual(error.message, message)
        return
      }
      assert.fail(`did not throw: ${message}`)
    }
    for (const [value, shown] of refused) {
      for (const option of ["baseDelay", "maxDelay", "maxRetryAfter", "deadline"] as const) {
        throws(
          () => BatchSchedule.retry({ [option]: value }),
          `BatchSchedule.retry: ${option} must be a duration >= 0, got ${shown}`
        )
      }
      const timeout = `timeout must be a duration >= 0, got ${shown}`
      throws(() => BatchSchedule.withTimeout(Effect.void, value), `BatchSchedule.withTimeout: ${timeout}`)
      throws(() => BatchSchedule.layerTimeout(value), `BatchSchedule.layerTimeout: ${timeout}`)
      throws(
        () => BatchSchedule.withDeadline(Schedule.forever, value),
        `BatchSchedule.withDeadline: deadline must be a duration >= 0, got ${shown}`
      )
    }
    for (const [value, shown] of refusedPace) {
      throws(() => BatchSchedule.every(value), `BatchSchedule.every: interval must be a duration > 0, got ${shown}`)
      // An idle timeout of zero would cut every download's body at once.
      const idle = `timeout must be a duration > 0, got ${shown}`
      throws(() => BatchSchedule.withIdleTimeout(Effect.void, value), `BatchSchedule.withIdleTimeout: ${idle}`)
      throws(() => BatchSchedule.layerIdleTimeout(value), `BatchSchedule.layerIdleTimeout: ${idle}`)
      for (const option of ["initial", "max"] as const) {
        const rule = `${option} must be a duration > 0, got ${shown}`
        throws(() => BatchSchedule.poll({ [option]: value }), `BatchSchedule.poll: ${rule}`)
        throws(() => BatchSchedule.cancelWindow({ [option]: value }), `BatchSchedule.cancelWindow: ${rule}`)
      }
    }
    for (const factor of [0.5, 0, Number.NaN]) {
      throws(() => BatchSchedule.poll({ factor }), `BatchSchedule.poll: factor must be a number >= 1, got ${factor}`)
    }
    // -1 reads as "retry forever" in many libraries; here it silently meant no retry at all.
    for (const maxRetries of [-1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY]) {
      throws(
        () => BatchSchedule.retry({ maxRetries }),
        `BatchSchedule.retry: maxRetries must be a whole number >= 0 (Infinity: until the deadline), got ${maxRetries}`
      )
    }
    for (const jitter of [{ min: -0.5, max: 1 }, { min: 1, max: 0.5 }, { min: Number.NaN, max: 1 }]) {
      const rule = `jitter must be { min, max } with 0 <= min <= max, got { min: ${jitter.min}, max: ${jitter.max} }`
      throws(() => BatchSchedule.retry({ jitter }), `BatchSchedule.retry: ${rule}`)
      throws(() => BatchSchedule.poll({ jitter }), `BatchSchedule.poll: ${rule}`)
      throws(() => BatchSchedule.cancelWindow({ jitter }), `BatchSchedule.cancelWindow: ${rule}`)
    }
    BatchSchedule.retry({ maxRetries: 0, jitter: { min: 0, max: 0 } })
    BatchSchedule.retry({ maxRetries: Infinity, jitter: { min: 1, max: 1.5 } })
    BatchSchedule.retry({ baseDelay: 0, maxDelay: 0, maxRetryAfter: 0, deadline: 0 })
    BatchSchedule.withTimeout(Effect.void, 0)
    BatchSchedule.layerTimeout(0)
    BatchSchedule.withDeadline(Schedule.forever, 0)
    BatchSchedule.every(1)
    BatchSchedule.poll({ initial: 1, max: 1, factor: 1 })
  })
})
