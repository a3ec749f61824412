/**
 * The schedules users compose: retrying a request (Retry-After aware, bounded by a total deadline), polling a
 * batch until it ends, and polling through the cancel window. They are plain `Schedule`s: combine them with
 * `Schedule.intersect`, `Schedule.upTo`, `Schedule.union`, ... or replace them outright.
 *
 * The retry policy is one value, `defaultRetry`, replaced where you need another: for a whole program or layer
 * (`layerRetry`), for a region of code (`withRetry`), or for one call (`{ retry }`).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type { Batch } from "./Batch.js"
import * as BatchError from "./BatchError.js"

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

const retryableStatuses: ReadonlySet<number> = new Set([408, 409, 429])

/**
 * The default retry decision: transport failures and timeouts, and the statuses 408, 409, 429 and >= 500, with
 * `x-should-retry: true|false` taking precedence. A retry hint above `maxRetryAfter` is not retried. Client-side
 * validation and decode errors are never retried.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const isRetryable = (
  error: BatchError.RequestError,
  maxRetryAfter: Duration.DurationInput = retryDefaults.maxRetryAfter
): boolean => {
  switch (error._tag) {
    case "TransportError":
      return error.reason === "Transport" || error.reason === "Timeout"
    case "InvalidParamsError":
    case "DecodeError":
      return false
    default: {
      if (error.retryAfterMs !== undefined && error.retryAfterMs > Duration.toMillis(maxRetryAfter)) return false
      if (error.shouldRetry !== undefined) return error.shouldRetry
      return retryableStatuses.has(error.status) || error.status >= 500
    }
  }
}

/**
 * True when a failed create may nonetheless have created the batch: the request may have reached the server
 * (a transport failure or timeout, a 408, or a 5xx). Such a create is only re-sent after checking that no batch
 * was made.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const isAmbiguous = (error: BatchError.RequestError): boolean =>
  error._tag === "TransportError"
    ? error.reason === "Transport" || error.reason === "Timeout"
    : BatchError.isStatusError(error) && (error.status === 408 || error.status >= 500)

/**
 * The default retry schedule: `maxRetries` retries with exponential backoff (`baseDelay` doubling, capped at
 * `maxDelay`, jittered down by up to 25%), or exactly the server's `retry-after-ms`/`retry-after` when it sent one
 * (up to `maxRetryAfter`), while the error `isRetryable` and the retry would start before `deadline`.
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
 * const one = (id: string) => BatchApi.retrieveBatch(id, { retry: patient })
 * const all = (id: string) => BatchApi.retrieveBatch(id).pipe(BatchSchedule.withRetry(logged))
 * ```
 *
 * @since 0.1.0
 * @category Schedules
 */
export const retry = (options: RetryOptions = {}): RetrySchedule => {
  const maxRetries = options.maxRetries ?? retryDefaults.maxRetries
  const maxRetryAfter = options.maxRetryAfter ?? retryDefaults.maxRetryAfter
  const deadline = Duration.toMillis(options.deadline ?? retryDefaults.deadline)
  const jitter = options.jitter ?? retryDefaults.jitter
  const capped = Schedule.exponential(options.baseDelay ?? retryDefaults.baseDelay, 2).pipe(
    Schedule.union(Schedule.spaced(options.maxDelay ?? retryDefaults.maxDelay))
  )
  const backoff = jitter === false ? capped : Schedule.jitteredWith(capped, jitter)
  return backoff.pipe(
    Schedule.intersect(Schedule.recurs(maxRetries)),
    Schedule.intersect(Schedule.identity<BatchError.RequestError>()),
    Schedule.whileInput((error: BatchError.RequestError) => isRetryable(error, maxRetryAfter)),
    Schedule.modifyDelay(([, error], delay) =>
      error._tag !== "TransportError" && error._tag !== "InvalidParamsError" && error._tag !== "DecodeError" &&
        error.retryAfterMs !== undefined
        ? Duration.millis(error.retryAfterMs)
        : delay
    ),
    Schedule.delays,
    Schedule.intersect(Schedule.elapsed),
    Schedule.whileOutput(([delay, elapsed]) => Duration.toMillis(elapsed) + Duration.toMillis(delay) <= deadline)
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
 * The retry policy in effect for the current fiber. Set it with `withRetry` or `layerRetry`; a call's own
 * `{ retry }` option takes precedence.
 *
 * @since 0.2.0
 * @category Fiber refs
 */
export const currentRetry: FiberRef.FiberRef<RetrySchedule> = globalValue(
  Symbol.for("effect-openai-batch/BatchSchedule/currentRetry"),
  () => FiberRef.unsafeMake(defaultRetry)
)

/**
 * Runs `self` with `schedule` as the retry policy of every request it makes (unless a call passes its own).
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

/**
 * Per-call options of every operation.
 *
 * @since 0.2.0
 * @category Models
 */
export interface CallOptions {
  /** Replaces the retry policy for this call (`BatchSchedule.noRetry` to send once). */
  readonly retry?: RetrySchedule | undefined
  /** Replaces the per-attempt timeout (`OpenAiConfig`'s `timeout`) for this call. */
  readonly timeout?: Duration.DurationInput | undefined
}

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
  jitter: { min: 0.9, max: 1.1 },
  /** A wait's deadline, past the batch's own `expires_at`, or in all when `expires_at` is unknown. */
  expiryMargin: Duration.hours(1),
  deadlineWithoutExpiry: Duration.hours(25),
  /** The longest pace a server hint (`openai-poll-after-ms`, `Retry-After` of a failed poll) can impose. */
  maxHint: Duration.minutes(5)
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
 * it also paces retries of anything.
 *
 * @since 0.1.0
 * @category Schedules
 */
export const poll = (options: PollOptions = {}): Schedule.Schedule<unknown, unknown> => {
  const capped = Schedule.exponential(options.initial ?? pollDefaults.initial, options.factor ?? pollDefaults.factor)
    .pipe(Schedule.union(Schedule.spaced(options.max ?? pollDefaults.max)))
  const jitter = options.jitter ?? pollDefaults.jitter
  return jitter === false ? capped : Schedule.jitteredWith(capped, jitter)
}

/**
 * Cancel-window constants: a cancelled batch sits in `cancelling` for up to 10 minutes (25 have been seen), so poll
 * every 5 s growing to 30 s, and give up after 30 minutes by default.
 *
 * @since 0.1.0
 * @category Constants
 */
export const cancelDefaults = {
  initial: Duration.seconds(5),
  factor: 1.5,
  max: Duration.seconds(30),
  deadline: Duration.minutes(30)
} as const

/**
 * The default pace of `cancelBatchAndWait`.
 *
 * @since 0.1.0
 * @category Schedules
 */
export const cancelWindow = (options: PollOptions = {}): Schedule.Schedule<unknown, unknown> =>
  poll({
    initial: options.initial ?? cancelDefaults.initial,
    factor: options.factor ?? cancelDefaults.factor,
    max: options.max ?? cancelDefaults.max,
    jitter: options.jitter
  })

/**
 * Polls at a fixed interval: `BatchSchedule.every("30 seconds")`, with `awaitBatch`'s `timeout` for the deadline.
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
export const every = (interval: Duration.DurationInput): PollSchedule => Schedule.spaced(interval)
