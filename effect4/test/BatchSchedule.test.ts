/**
 * BatchSchedule on Effect 4: the retry policy's delays, limits and deadline, the region's policy and timeout
 * (`Context.Reference`s set by `withRetry`/`layerRetry`, `withTimeout`/`layerTimeout`), `withDeadline` and the
 * poll schedules, on `TestClock`. The policy is driven here by a scripted request (`attempts`): the HTTP pipeline's
 * own tests check that every request reads it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber, Option, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Batch from "../src/Batch.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import { fixture } from "./support/fixtures.js"

const exact = BatchSchedule.retry({ jitter: false })

const status = (code: number, extra: { readonly retryAfterMs?: number; readonly shouldRetry?: boolean } = {}) =>
  new BatchError.InternalServerError({ status: code, method: "GET", url: "u", ...extra })

/**
 * A request that fails with `errors` in turn (the last one repeated; none: it succeeds), retried on the policy in
 * effect, run in a fiber while `virtual` time passes. Returns the exit and when each attempt started (ms).
 */
const attempts = (
  errors: ReadonlyArray<BatchError.RequestError | undefined>,
  options: {
    readonly virtual?: Duration.Input
    readonly around?: <A, E>(eff: Effect.Effect<A, E>) => Effect.Effect<A, E>
  } = {}
) =>
  Effect.gen(function*() {
    const times: Array<number> = []
    const request = Effect.gen(function*() {
      times.push(yield* Clock.currentTimeMillis)
      const error = errors[Math.min(times.length - 1, errors.length - 1)]
      if (error !== undefined) return yield* Effect.fail(error)
      return "ok"
    })
    const retried = Effect.flatMap(
      Effect.service(BatchSchedule.currentRetry),
      (policy) => Effect.retry(request, policy)
    )
    const fiber = yield* Effect.forkChild(Effect.exit(options.around === undefined ? retried : options.around(retried)))
    yield* TestClock.adjust(options.virtual ?? "1 hour")
    const exit = yield* Fiber.join(fiber)
    const start = times[0] ?? 0
    return { exit, times: times.map((time) => time - start) }
  })

const failedWith = (exit: Exit.Exit<string, BatchError.RequestError>): BatchError.RequestError => {
  if (Exit.isSuccess(exit)) return assert.fail("succeeded")
  const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  return error?._tag === "Fail" ? error.error : assert.fail("no failure")
}

describe("retry schedule", () => {
  it.effect("backs off 0.5 s then 1 s (no jitter), then succeeds", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* attempts([status(429), status(503), undefined]).pipe(
        BatchSchedule.withRetry(exact)
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(times, [0, 500, 1500])
    }))

  it.effect("gives up after 2 retries (3 attempts) by default and returns the last error", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* attempts([status(503), status(502), status(500)]).pipe(
        BatchSchedule.withRetry(exact)
      )
      assert.deepStrictEqual(times, [0, 500, 1500])
      assert.strictEqual(failedWith(exit).message, "GET u: 500 status code (no body)")
    }))

  it.effect("doubles up to the 8 s cap", () =>
    Effect.gen(function*() {
      const { times } = yield* attempts([status(500)]).pipe(
        BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, maxRetries: 7 }))
      )
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0))
      assert.deepStrictEqual(gaps, [500, 1000, 2000, 4000, 8000, 8000, 8000])
    }))

  it.effect("the default jitter only shortens a delay, by at most 25%", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const request = Effect.gen(function*() {
        times.push(yield* Clock.currentTimeMillis)
        if (times.length === 1) return yield* Effect.fail(status(500))
      })
      const fiber = yield* Effect.forkChild(Effect.retry(request, BatchSchedule.retry()))
      yield* TestClock.adjust("374 millis")
      assert.strictEqual(times.length, 1)
      yield* TestClock.adjust("126 millis")
      assert.strictEqual(times.length, 2)
      yield* Fiber.join(fiber)
    }))

  it.effect("a server hint (retryAfterMs) is obeyed exactly, over the backoff", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* attempts([status(429, { retryAfterMs: 1250 }), undefined]).pipe(
        BatchSchedule.withRetry(exact)
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(times, [0, 1250])
    }))

  it.effect("a hint over the cap fails at once with the error and its hint", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* attempts([status(429, { retryAfterMs: 3_600_000 }), undefined]).pipe(
        BatchSchedule.withRetry(exact)
      )
      assert.deepStrictEqual(times, [0])
      const error = failedWith(exit)
      assert.isTrue(BatchError.isStatusError(error) && error.retryAfterMs === 3_600_000)
    }))

  it.effect("the cap is configurable: a 90 s hint is obeyed under a 2 minute cap", () =>
    Effect.gen(function*() {
      const { times } = yield* attempts([status(429, { retryAfterMs: 90_000 }), undefined]).pipe(
        BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, maxRetryAfter: "2 minutes" }))
      )
      assert.deepStrictEqual(times, [0, 90_000])
    }))

  it.effect("x-should-retry: false stops a 500; true retries a 400", () =>
    Effect.gen(function*() {
      const stopped = yield* attempts([status(500, { shouldRetry: false }), undefined]).pipe(
        BatchSchedule.withRetry(exact)
      )
      assert.deepStrictEqual(stopped.times, [0])
      const retried = yield* attempts([status(400, { shouldRetry: true }), undefined]).pipe(
        BatchSchedule.withRetry(exact)
      )
      assert.deepStrictEqual(retried.times, [0, 500])
    }))

  it.effect("which failures are retried: 408, 409, 429, 5xx, a dropped connection, a timeout; not 4xx, decode, params", () =>
    Effect.gen(function*() {
      const transport = (reason: BatchError.TransportError["reason"]) =>
        new BatchError.TransportError({ method: "GET", url: "u", reason })
      const retried: ReadonlyArray<BatchError.RequestError> = [
        ...[408, 409, 429, 500, 502, 503, 504, 529].map((code) => status(code)),
        transport("Transport"),
        transport("Timeout")
      ]
      for (const error of retried) {
        const { times } = yield* attempts([error, undefined]).pipe(BatchSchedule.withRetry(exact))
        assert.strictEqual(times.length, 2, error.message)
      }
      const decode = new BatchError.DecodeError({
        method: "GET",
        url: "u",
        status: 200,
        issue: "i",
        bodyExcerpt: ""
      })
      const params = new BatchError.InvalidParamsError({ operation: "listBatches", issue: "i" })
      const permanent: ReadonlyArray<BatchError.RequestError> = [
        ...[400, 401, 403, 404, 422].map((code) => status(code)),
        decode,
        params,
        transport("Encode")
      ]
      for (const error of permanent) {
        const { times } = yield* attempts([error, undefined]).pipe(BatchSchedule.withRetry(exact))
        assert.strictEqual(times.length, 1, error.message)
      }
    }))

  it.effect("the total deadline: no retry starts after it", () =>
    Effect.gen(function*() {
      const { exit, times } = yield* attempts([status(429, { retryAfterMs: 25_000 })]).pipe(
        BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, maxRetries: 10, deadline: "60 seconds" }))
      )
      // hints of 25 s: retries at 25 s and 50 s; the next would start at 75 s > 60 s
      assert.deepStrictEqual(times, [0, 25_000, 50_000])
      assert.isTrue(Exit.isFailure(exit))
    }))

  it.effect("noRetry: one attempt", () =>
    Effect.gen(function*() {
      const { times } = yield* attempts([status(503), undefined]).pipe(BatchSchedule.withRetry(BatchSchedule.noRetry))
      assert.deepStrictEqual(times, [0])
    }))
})

describe("the policy of a region", () => {
  it.effect("without any override, the default policy: 2 retries", () =>
    Effect.gen(function*() {
      const { times } = yield* attempts([status(500)])
      assert.strictEqual(times.length, 3)
      assert.strictEqual(BatchSchedule.retryDefaults.maxRetries, 2)
      assert.strictEqual(yield* Effect.service(BatchSchedule.currentRetry), BatchSchedule.defaultRetry)
    }))

  it.effect("one policy per layer (layerRetry); withRetry over the layer's; the narrowest region over both", () =>
    Effect.gen(function*() {
      const layered = yield* attempts([status(500)])
      assert.strictEqual(layered.times.length, 6)
      const scoped = yield* attempts([status(500)]).pipe(
        BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 1 }))
      )
      assert.strictEqual(scoped.times.length, 2)
      const narrowest = yield* attempts([status(500)], { around: BatchSchedule.withRetry(BatchSchedule.noRetry) }).pipe(
        BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 1 }))
      )
      assert.strictEqual(narrowest.times.length, 1)
      const outside = yield* attempts([status(500)])
      assert.strictEqual(outside.times.length, 6)
    }).pipe(Effect.provide(BatchSchedule.layerRetry(BatchSchedule.retry({ maxRetries: 5 })))))

  it.effect("the per-attempt timeout: none set by default; withTimeout for a region, the narrowest wins", () =>
    Effect.gen(function*() {
      const current = Effect.service(BatchSchedule.currentTimeout)
      assert.isTrue(Option.isNone(yield* current))
      assert.deepStrictEqual(BatchSchedule.timeoutDefaults.request, Duration.seconds(60))
      const region = yield* current.pipe(BatchSchedule.withTimeout("10 seconds"))
      assert.deepStrictEqual(region, Option.some(Duration.seconds(10)))
      const narrow = yield* current.pipe(BatchSchedule.withTimeout("2 seconds"), BatchSchedule.withTimeout("1 minute"))
      assert.deepStrictEqual(narrow, Option.some(Duration.seconds(2)))
      assert.isTrue(Option.isNone(yield* current))
    }))

  it.effect("layerTimeout sets it for everything the layer is provided to, a region still narrower", () =>
    Effect.gen(function*() {
      const current = Effect.service(BatchSchedule.currentTimeout)
      assert.deepStrictEqual(yield* current, Option.some(Duration.seconds(7)))
      assert.deepStrictEqual(
        yield* current.pipe(BatchSchedule.withTimeout("3 seconds")),
        Option.some(Duration.seconds(3))
      )
      const forked = yield* Effect.forkChild(current).pipe(Effect.flatMap(Fiber.join))
      assert.deepStrictEqual(forked, Option.some(Duration.seconds(7)))
    }).pipe(Effect.provide(BatchSchedule.layerTimeout("7 seconds"))))
})

describe("withDeadline", () => {
  const stepTimes = (schedule: Schedule.Schedule<unknown, unknown>) =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const fiber = yield* Effect.forkChild(
        Effect.repeat(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => times.push(now))), schedule)
      )
      yield* TestClock.adjust("1 hour")
      yield* Fiber.join(fiber)
      return times.map((time) => time - (times[0] ?? 0))
    })

  it.effect("no recurrence starts past the deadline (upTo would allow one more delay beyond it)", () =>
    Effect.gen(function*() {
      const every25 = Schedule.spaced("25 seconds")
      assert.deepStrictEqual(yield* stepTimes(every25.pipe(BatchSchedule.withDeadline("60 seconds"))), [
        0,
        25_000,
        50_000
      ])
      // a recurrence landing on the deadline itself still starts
      assert.deepStrictEqual(
        yield* stepTimes(Schedule.spaced("30 seconds").pipe(BatchSchedule.withDeadline("60 seconds"))),
        [0, 30_000, 60_000]
      )
      assert.deepStrictEqual(
        yield* stepTimes(every25.pipe(Schedule.upTo({ duration: "60 seconds" }))),
        [0, 25_000, 50_000, 75_000]
      )
    }))

  it.effect("keeps the schedule's output and its own end", () =>
    Effect.gen(function*() {
      const outputs = yield* Effect.repeat(Effect.void, Schedule.recurs(2).pipe(BatchSchedule.withDeadline("1 hour")))
      assert.strictEqual(outputs, 2)
    }))
})

describe("poll schedules", () => {
  const batch = Schema.decodeUnknownSync(Batch.Batch)(fixture("Batch.object.json"))
  /** The first `count` delays, in ms rounded to the microsecond (Effect 4's `Duration` keeps nanoseconds). */
  const delays = (schedule: Schedule.Schedule<unknown, Batch.Batch>, count: number) =>
    Effect.gen(function*() {
      const step = yield* Schedule.toStep(schedule)
      const out: Array<number> = []
      let now = 0
      for (let i = 0; i < count; i++) {
        const [, delay] = yield* step(now, batch)
        out.push(Math.round(Duration.toMillis(delay) * 1000) / 1000)
        now += Duration.toMillis(delay)
      }
      return out
    })

  it.effect("poll: 1 s growing 1.5x to a 60 s cap; cancelWindow: 5 s growing to 30 s; every: fixed", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* delays(BatchSchedule.poll({ jitter: false }), 12),
        [1000, 1500, 2250, 3375, 5062.5, 7593.75, 11390.625, 17085.938, 25628.906, 38443.359, 57665.039, 60000]
      )
      assert.deepStrictEqual(
        yield* delays(BatchSchedule.cancelWindow({ jitter: false }), 6),
        [5000, 7500, 11250, 16875, 25312.5, 30000]
      )
      assert.deepStrictEqual(yield* delays(BatchSchedule.every("30 seconds"), 3), [30_000, 30_000, 30_000])
    }))

  it.effect("the default poll jitter stays within ±10%", () =>
    Effect.gen(function*() {
      const jittered = yield* delays(BatchSchedule.poll(), 12)
      const exactDelays = yield* delays(BatchSchedule.poll({ jitter: false }), 12)
      jittered.forEach((delay, i) => {
        const base = exactDelays[i] ?? 0
        assert.isAtLeast(delay, base * 0.9 - 1e-6)
        assert.isAtMost(delay, base * 1.1 + 1e-6)
      })
      assert.notDeepEqual(jittered, exactDelays)
    }))
})
