/**
 * The request policy and the schedules users compose: the retry policy (Retry-After aware, bounded by a total
 * deadline), the per-attempt timeout and a download's idle timeout, each set for a whole program or layer
 * (`layerRetry`, `layerTimeout`, `layerIdleTimeout`) or for a region of code (`withRetry`, `withTimeout`,
 * `withIdleTimeout`); polling a batch until it ends, polling through the cancel window,
 * and `withDeadline`, which stops any schedule from starting a recurrence past a deadline. They are plain
 * `Schedule`s: combine them with `Schedule.intersect`, `Schedule.union`, ... or replace them outright.
 *
 * Operations take only their own options (`idempotencyKey`, `pageSize`, ...): how a request is retried and timed is
 * the policy of the region it runs in, one place to read for `BatchApi`, `OpenAiFiles` and everything built on them.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type { Batch } from "./Batch.js"
import * as BatchError from "./BatchError.js"
import * as DurationOption from "./internal/durationOption.js"
import * as ScheduleOptions from "./internal/scheduleOptions.js"

// ---------------------------------------------------------------------------------------------------------------
// Deadlines
// ---------------------------------------------------------------------------------------------------------------

/**
 * `self`, except that no recurrence starts later than `deadline` after the first step: a recurrence whose delay
 * would end past it ends the schedule instead (`Schedule.upTo` would still allow that last delay). The output and
 * the input are `self`'s. A negative or NaN `deadline` throws a `RangeError`.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { BatchSchedule } from "effect-openai-batch"
 *
 * // every 30 s, the last recurrence starting at most 2 minutes after the first
 * const bounded = Schedule.spaced("30 seconds").pipe(BatchSchedule.withDeadline("2 minutes"))
 * ```
 *
 * @since 0.3.0
 * @category Combinators
 */
export const withDeadline: {
  (deadline: Duration.DurationInput): <Out, In, R>(self: Schedule.Schedule<Out, In, R>) => Schedule.Schedule<Out, In, R>
  <Out, In, R>(self: Schedule.Schedule<Out, In, R>, deadline: Duration.DurationInput): Schedule.Schedule<Out, In, R>
} = dual(2, <Out, In, R>(self: Schedule.Schedule<Out, In, R>, deadline: Duration.DurationInput) => {
  const millis = Duration.toMillis(DurationOption.orThrow("BatchSchedule.withDeadline", "deadline", deadline, ">= 0"))
  return Schedule.makeWithState(
    [Option.none<number>(), self.initial] as const,
    (now, input: In, [started, state]) => {
      const start = Option.getOrElse(started, () => now)
      return Effect.map(self.step(now, input, state), ([next, output, decision]) => {
        const stopped = ScheduleDecision.isContinue(decision) &&
          ScheduleIntervals.start(decision.intervals) - start > millis
        return [[Option.some(start), next] as const, output, stopped ? ScheduleDecision.done : decision] as const
      })
    }
  )
})

// ---------------------------------------------------------------------------------------------------------------
// Retry
// ---------------------------------------------------------------------------------------------------------------

/**
 * The retry constants. Backoff and retry count match openai-node and openai-python (0.5 s doubling to 8 s, 2
 * retries); unlike them, a `Retry-After` over `maxRetryAfter` is surfaced at once rather than ignored, and all
 * attempts of one call share a total `deadline`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const retryDefaults = {
  maxRetries: 2,
  baseDelay: Duration.millis(500),
  maxDelay: Duration.seconds(8),
  maxRetryAfter: Duration.seconds(60),
  deadline: Duration.minutes(2),
  /** Each backoff delay is scaled by a random factor in [0.75, 1]: jitter only ever shortens a delay. */
  jitter: { min: 0.75, max: 1 }
} as const

/**
 * @since 0.1.0
 * @category Models
 */
export interface RetryOptions {
  /** Retries after the first attempt: a whole number >= 0, or `Infinity` (until `deadline`); default 2. */
  readonly maxRetries?: number | undefined
  readonly baseDelay?: Duration.DurationInput | undefined
  readonly maxDelay?: Duration.DurationInput | undefined
  /** A server hint above this fails at once with the error that carried it. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** No retry starts later than this after the first failure. */
  readonly deadline?: Duration.DurationInput | undefined
  /** `false` for exact delays (tests), or the bounds of the random factor. */
  readonly jitter?: false | { readonly min: number; readonly max: number } | undefined
}

/**
 * A schedule that decides whether and when a failed request is sent again. Its input is the error.
 *
 * @since 0.1.0
 * @category Models
 */
export type RetrySchedule = Schedule.Schedule<unknown, BatchError.RequestError>

/**
 * The default retry decision: what `BatchError.transience` does not call permanent (transport failures and
 * timeouts, 408, 409, 429 and >= 500, with `x-should-retry: true|false` taking precedence), unless its retry hint
 * is above `maxRetryAfter`. Client-side validation and decode errors are never retried.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const isRetryable = (
  error: BatchError.RequestError,
  maxRetryAfter: Duration.DurationInput = retryDefaults.maxRetryAfter
): boolean =>
  BatchError.transience(error) !== "permanent" &&
  !(BatchError.isStatusError(error) && error.retryAfterMs !== undefined &&
    error.retryAfterMs > Duration.toMillis(Duration.decode(maxRetryAfter)))

/**
 * The default retry schedule: `maxRetries` retries with exponential backoff (`baseDelay` doubling, capped at
 * `maxDelay`, jittered down by up to 25%), or exactly the server's `retry-after-ms`/`retry-after` when it sent one
 * (up to `maxRetryAfter`), while the error `isRetryable` and the retry would start before `deadline`. A negative or
 * NaN duration option throws a `RangeError` naming it (zero is taken: the retries stay bounded by `maxRetries`),
 * and so do a `maxRetries` that is not a whole number >= 0 (-1 is not "forever") and a `jitter` with `min` < 0 or
 * above `max`.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { BatchApi, type BatchError, BatchSchedule } from "effect-openai-batch"
 *
 * const patient = BatchSchedule.retry({ maxRetries: 5, maxRetryAfter: "2 minutes" })
 * // the default policy, logging each retry decision
 * const logged = BatchSchedule.retry().pipe(
 *   Schedule.tapInput((error: BatchError.RequestError) => Effect.logWarning(`retrying: ${error.message}`))
 * )
 *
 * const one = (id: string) => BatchApi.retrieveBatch(id).pipe(BatchSchedule.withRetry(patient))
 * const all = (id: string) => BatchApi.retrieveBatch(id).pipe(BatchSchedule.withRetry(logged))
 * ```
 *
 * @since 0.1.0
 * @category Schedules
 */
export const retry = (options: RetryOptions = {}): RetrySchedule => {
  for (const option of ["baseDelay", "maxDelay", "maxRetryAfter", "deadline"] as const) {
    const value = options[option]
    if (value !== undefined) DurationOption.orThrow("BatchSchedule.retry", option, value, ">= 0")
  }
  const maxRetries = ScheduleOptions.maxRetries("BatchSchedule.retry", options.maxRetries ?? retryDefaults.maxRetries)
  const maxRetryAfter = options.maxRetryAfter ?? retryDefaults.maxRetryAfter
  const deadline = options.deadline ?? retryDefaults.deadline
  const jitter = ScheduleOptions.jitter("BatchSchedule.retry", options.jitter ?? retryDefaults.jitter)
  const capped = Schedule.exponential(options.baseDelay ?? retryDefaults.baseDelay, 2).pipe(
    Schedule.union(Schedule.spaced(options.maxDelay ?? retryDefaults.maxDelay))
  )
  const backoff = jitter === false ? capped : Schedule.jitteredWith(capped, jitter)
  return backoff.pipe(
    Schedule.intersect(Schedule.recurs(maxRetries)),
    Schedule.intersect(Schedule.identity<BatchError.RequestError>()),
    Schedule.whileInput((error: BatchError.RequestError) => isRetryable(error, maxRetryAfter)),
    Schedule.modifyDelay(([, error], delay) =>
      BatchError.isStatusError(error) && error.retryAfterMs !== undefined ? Duration.millis(error.retryAfterMs) : delay
    ),
    withDeadline(deadline)
  )
}

/**
 * Never retry.
 *
 * @since 0.1.0
 * @category Schedules
 */
export const noRetry: RetrySchedule = Schedule.recurs(0)

/**
 * The retry policy every request uses unless told otherwise: `retry()` with `retryDefaults`.
 *
 * @since 0.2.0
 * @category Schedules
 */
export const defaultRetry: RetrySchedule = retry()

/**
 * The retry policy in effect for the current fiber. Set it with `withRetry` or `layerRetry`.
 *
 * @since 0.2.0
 * @category Fiber refs
 */
export const currentRetry: FiberRef.FiberRef<RetrySchedule> = globalValue(
  Symbol.for("effect-openai-batch/BatchSchedule/currentRetry"),
  () => FiberRef.unsafeMake(defaultRetry)
)

/**
 * Runs `self` with `schedule` as the retry policy of every request it makes; the narrowest region wins.
 *
 * @since 0.2.0
 * @category Combinators
 */
export const withRetry: {
  (schedule: RetrySchedule): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, schedule: RetrySchedule): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, schedule: RetrySchedule): Effect.Effect<A, E, R> =>
    Effect.locally(self, currentRetry, schedule)
)

/**
 * A layer that sets the retry policy for everything it is provided to, e.g.
 * `Layer.provideMerge(BatchSchedule.layerRetry(BatchSchedule.retry({ maxRetries: 5 })))`.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerRetry = (schedule: RetrySchedule): Layer.Layer<never> => Layer.locallyScoped(currentRetry, schedule)

// ---------------------------------------------------------------------------------------------------------------
// Timeout
// ---------------------------------------------------------------------------------------------------------------

/** `timeout` as an option's value, or a `RangeError` naming `where` (internal/durationOption.ts). */
const checked = (where: string, timeout: Duration.DurationInput, rule: DurationOption.Rule) =>
  Option.some(DurationOption.orThrow(where, "timeout", timeout, rule))

/**
 * The per-attempt timeouts when none is set: 60 s for a call (batch calls return small JSON documents; the official
 * SDKs' 10 minutes only delays the retry of a stuck connection), 10 minutes for an upload (a 200 MB file on a slow
 * link takes a while). A download's timeout bounds the wait for its response head only: a large body takes as long
 * as it takes, but one that stalls (no byte for `idle`, 5 minutes, undici's own `bodyTimeout`) is broken off and
 * resumed from its last byte, where the library watches it (`currentIdleTimeout`). Five minutes because a results
 * file is read as it arrives: a server that pauses for a minute is slow, not stuck, and a body cut wrongly costs a
 * resumed request, never money.
 *
 * @since 0.3.0
 * @category Constants
 */
export const timeoutDefaults = {
  request: Duration.seconds(60),
  upload: Duration.minutes(10),
  idle: Duration.minutes(5)
} as const

/**
 * The per-attempt timeout in effect for the current fiber: `None` for each request's default (`timeoutDefaults`),
 * or one timeout for every attempt, uploads included. Set it with `withTimeout` or `layerTimeout`.
 *
 * @since 0.3.0
 * @category Fiber refs
 */
export const currentTimeout: FiberRef.FiberRef<Option.Option<Duration.Duration>> = globalValue(
  Symbol.for("effect-openai-batch/BatchSchedule/currentTimeout"),
  () => FiberRef.unsafeMake(Option.none<Duration.Duration>())
)

/**
 * Runs `self` with `timeout` as the per-attempt timeout of every request it makes (the body read included;
 * `Duration.infinity` for none); the narrowest region wins. A timed-out attempt fails with a `TransportError` of
 * reason `"Timeout"`, which the retry policy retries. A negative or NaN `timeout` throws a `RangeError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchApi, BatchSchedule } from "effect-openai-batch"
 *
 * // one attempt of at most 10 seconds
 * const quick = (id: string) =>
 *   BatchApi.cancelBatch(id).pipe(
 *     BatchSchedule.withTimeout("10 seconds"),
 *     BatchSchedule.withRetry(BatchSchedule.noRetry)
 *   )
 * ```
 *
 * @since 0.3.0
 * @category Combinators
 */
export const withTimeout: {
  (timeout: Duration.DurationInput): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput): Effect.Effect<A, E, R> =>
    Effect.locally(self, currentTimeout, checked("BatchSchedule.withTimeout", timeout, ">= 0"))
)

/**
 * A layer that sets the per-attempt timeout for everything it is provided to (a negative or NaN `timeout` throws
 * a `RangeError`), e.g.
 * `Layer.provideMerge(BatchSchedule.layerTimeout("30 seconds"))`.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerTimeout = (timeout: Duration.DurationInput): Layer.Layer<never> =>
  Layer.locallyScoped(currentTimeout, checked("BatchSchedule.layerTimeout", timeout, ">= 0"))

/**
 * The longest a download's body may go without a byte, for the current fiber: `None` unless set with
 * `withIdleTimeout` or `layerIdleTimeout`. `None` leaves a body to its transport where the transport declares a body
 * timeout of its own (`Transport.Service.bodyIdleTimeout`, on its own `HttpClient`) and bounds it with
 * `timeoutDefaults.idle` everywhere else.
 *
 * @since 0.3.0
 * @category Fiber refs
 */
export const currentIdleTimeout: FiberRef.FiberRef<Option.Option<Duration.Duration>> = globalValue(
  Symbol.for("effect-openai-batch/BatchSchedule/currentIdleTimeout"),
  () => FiberRef.unsafeMake(Option.none<Duration.Duration>())
)

/**
 * Runs `self` with `timeout` as the idle timeout of every download it makes (`OpenAiFiles.downloadFile`,
 * `BatchResults`, a job's results): the longest its body may go without a byte, watched by the library on every
 * transport (`Duration.infinity` for none); the narrowest region wins. A stalled body is broken off and asked for
 * again from its last byte (`Range`) under the retry policy; when the policy gives up, the download fails with a
 * `TransportError` of reason `"Timeout"` and `bodyBrokenOff`, whose message says the body stalled and for how long.
 * `withTimeout` does not set it: that one bounds each attempt's wait for the response head.
 *
 * Unset, the library watches a body only where nothing else does (see `currentIdleTimeout` and docs/transports.md:
 * on `NodeHttpClient.layerUndici` or `FetchHttpClient.layer`, where undici's own 5 minutes apply,
 * `withIdleTimeout(Duration.infinity)` gives back the watchdog's CPU). Zero, a negative or NaN `timeout` throws a
 * `RangeError` (zero would cut every body at once).
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { BatchSchedule, OpenAiFiles } from "effect-openai-batch"
 *
 * // a proxy known to hold bodies back for a while: allow 10 minutes between two bytes
 * const content = (id: string) =>
 *   Stream.runCollect(OpenAiFiles.downloadFile(id)).pipe(BatchSchedule.withIdleTimeout("10 minutes"))
 * ```
 *
 * @since 0.3.0
 * @category Combinators
 */
export const withIdleTimeout: {
  (timeout: Duration.DurationInput): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.DurationInput): Effect.Effect<A, E, R> =>
    Effect.locally(self, currentIdleTimeout, checked("BatchSchedule.withIdleTimeout", timeout, "> 0"))
)

/**
 * A layer that sets the idle timeout of downloads for everything it is provided to (see `withIdleTimeout`), e.g.
 * `Layer.provideMerge(BatchSchedule.layerIdleTimeout("10 minutes"))`.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerIdleTimeout = (timeout: Duration.DurationInput): Layer.Layer<never> =>
  Layer.locallyScoped(currentIdleTimeout, checked("BatchSchedule.layerIdleTimeout", timeout, "> 0"))

// ---------------------------------------------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------------------------------------------

/**
 * A schedule that paces the polls of a wait. Its input is the latest batch snapshot, so a schedule can slow down
 * in `finalizing` or stop on its own terms; the wait itself stops at a terminal status and at its deadline.
 *
 * @since 0.1.0
 * @category Models
 */
export type PollSchedule = Schedule.Schedule<unknown, Batch>

/**
 * Polling constants: start at 1 s, grow by 1.5x to a 60 s cap, jittered by ±10%. A batch that completes after
 * hours is seen within about a minute; one that completes in seconds is seen within seconds.
 *
 * @since 0.1.0
 * @category Constants
 */
export const pollDefaults = {
  initial: Duration.seconds(1),
  factor: 1.5,
  max: Duration.seconds(60),
  jitter: { min: 0.9, max: 1.1 }
} as const

/**
 * @since 0.1.0
 * @category Models
 */
export interface PollOptions {
  readonly initial?: Duration.DurationInput | undefined
  readonly factor?: number | undefined
  readonly max?: Duration.DurationInput | undefined
  readonly jitter?: false | { readonly min: number; readonly max: number } | undefined
}

/**
 * Exponential polling capped at `max`: the default pace of `awaitBatch` and `watchBatch`. It ignores its input, so
 * it also paces retries of anything. An `initial` or `max` that is not a duration > 0, or a `factor` below 1 (a
 * busy polling loop), or a `jitter` with `min` < 0 or above `max`, throws a `RangeError` naming it.
 *
 * @since 0.1.0
 * @category Schedules
 */
export const poll = (options: PollOptions = {}): Schedule.Schedule<unknown, unknown> => {
  ScheduleOptions.pace("BatchSchedule.poll", options)
  const capped = Schedule.exponential(options.initial ?? pollDefaults.initial, options.factor ?? pollDefaults.factor)
    .pipe(Schedule.union(Schedule.spaced(options.max ?? pollDefaults.max)))
  const jitter = options.jitter ?? pollDefaults.jitter
  return jitter === false ? capped : Schedule.jitteredWith(capped, jitter)
}

/**
 * Cancel-window pace: a cancelled batch sits in `cancelling` for up to 10 minutes (25 have been seen), so poll every
 * 5 s growing to 30 s (the wait's deadline is `BatchWait.waitDefaults.cancelDeadline`).
 *
 * @since 0.1.0
 * @category Constants
 */
export const cancelDefaults = {
  initial: Duration.seconds(5),
  factor: 1.5,
  max: Duration.seconds(30)
} as const

/**
 * The default pace of `cancelBatchAndWait`. Its options are checked as `poll`'s.
 *
 * @since 0.1.0
 * @category Schedules
 */
export const cancelWindow = (options: PollOptions = {}): Schedule.Schedule<unknown, unknown> => {
  ScheduleOptions.pace("BatchSchedule.cancelWindow", options)
  return poll({
    initial: options.initial ?? cancelDefaults.initial,
    factor: options.factor ?? cancelDefaults.factor,
    max: options.max ?? cancelDefaults.max,
    jitter: options.jitter
  })
}

/**
 * Polls at a fixed interval: `BatchSchedule.every("30 seconds")`, with `awaitBatch`'s `timeout` for the deadline.
 * An `interval` that is not a duration > 0 throws a `RangeError` naming it: zero is a busy polling loop against the
 * API (its rate limits), and Effect 3 reads a negative or NaN one as zero.
 *
 * @example
 * ```ts
 * import { Duration, Schedule } from "effect"
 * import { type Batch, BatchSchedule, BatchWait } from "effect-openai-batch"
 *
 * const steady = (id: string) => BatchWait.awaitBatch(id, { schedule: BatchSchedule.every("30 seconds") })
 *
 * // a schedule that reads the snapshot: every 10 s, but once a minute while finalizing
 * const pace = Schedule.spaced("10 seconds").pipe(
 *   Schedule.intersect(Schedule.identity<Batch.Batch>()),
 *   Schedule.modifyDelay(([, batch], delay) => batch.status === "finalizing" ? Duration.minutes(1) : delay)
 * )
 * const adaptive = (id: string) => BatchWait.awaitBatch(id, { schedule: pace })
 * ```
 *
 * @since 0.1.0
 * @category Schedules
 */
export const every = (interval: Duration.DurationInput): PollSchedule =>
  Schedule.spaced(DurationOption.orThrow("BatchSchedule.every", "interval", interval, "> 0"))
