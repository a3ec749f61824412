/**
 * Waiting for a batch: `watchBatch` (a `Stream` of snapshots as they change), `awaitBatch` (until it ends),
 * `awaitCompleted` (until it completes, else a typed error) and `cancelBatchAndWait` (through the cancel window),
 * and their constants.
 *
 * They are functions over the `BatchApi` service's primitives only, so they behave the same on every `BatchApi`
 * layer. Every wait has a deadline, and every deadline failure carries the last snapshot it saw. A wait paces its
 * own polls: a poll that fails transiently (`BatchError.transience`: transport, timeouts, 408, 409, 429, 5xx) is
 * not retried by the retry policy as well, it only slows the polls down, at the server's `Retry-After` pace when it
 * sent one; an error that ends the wait (a 404, a 401) ends it at once.
 *
 * With a `BatchEvents` feed in context (webhooks), an event about the batch ends the wait for the next poll at once.
 *
 * The Effect 4 edition: the polls are Effect 4's `Stream.fromEffectSchedule`, or `internal/wake`'s loop with a feed.
 *
 * @since 4.0.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Batch from "./Batch.js"
import * as BatchApi from "./BatchApi.js"
import * as BatchError from "./BatchError.js"
import * as BatchEvents from "./BatchEvents.js"
import * as BatchSchedule from "./BatchSchedule.js"
import * as DurationOption from "./internal/durationOption.js"
import * as Operation from "./internal/http/operation.js"
import * as Params from "./internal/params.js"
import * as Wake from "./internal/wake.js"

/**
 * The waits' constants: a wait's deadline is the batch's own `expires_at` plus `expiryMargin`, or
 * `deadlineWithoutExpiry` when `expires_at` is unknown; `cancelBatchAndWait`'s is `cancelDeadline` (a batch sits in
 * `cancelling` for up to 10 minutes; 25 have been seen); a server hint (`openai-poll-after-ms`, the `Retry-After`
 * of a failed poll) slows the polls down to at most `maxHint`, so that one odd hint cannot outlast the batch.
 *
 * @since 4.0.0
 * @category Constants
 */
export const waitDefaults = {
  expiryMargin: Duration.hours(1),
  deadlineWithoutExpiry: Duration.hours(25),
  cancelDeadline: Duration.minutes(30),
  maxHint: Duration.minutes(5)
} as const

/**
 * Options of the waits.
 *
 * @since 4.0.0
 * @category Models
 */
export interface WaitOptions {
  /** The pace of the polls; default `BatchSchedule.poll()`. The server's `openai-poll-after-ms` is a floor. */
  readonly schedule?: BatchSchedule.PollSchedule | undefined
  /**
   * The deadline of the whole wait. Default: the batch's `expires_at` plus an hour, or 25 hours when unknown.
   */
  readonly timeout?: Duration.Input | undefined
}

const progressKey = (batch: Batch.Batch) =>
  `${batch.status}|${batch.request_counts?.completed}|${batch.request_counts?.failed}|${batch.request_counts?.total}`

const waitTimeout = (
  operation: string,
  batchId: string,
  waitedMs: number,
  last: Batch.Batch | undefined,
  reason: NonNullable<BatchError.WaitTimeoutError["reason"]>,
  cause?: BatchError.RequestError
) =>
  new BatchError.WaitTimeoutError({
    operation,
    batchId,
    waitedMs,
    reason,
    ...(last === undefined ? {} : { lastBatch: last }),
    ...(cause === undefined ? {} : { cause })
  })

const defaultDeadlineMillis = (batch: Batch.Batch, nowMillis: number) =>
  batch.expires_at === undefined
    ? Duration.toMillis(waitDefaults.deadlineWithoutExpiry)
    : Math.max(
      batch.expires_at * 1000 + Duration.toMillis(waitDefaults.expiryMargin) - nowMillis,
      Duration.toMillis(waitDefaults.expiryMargin)
    )

/** Errors that only mean "not now" to a wait, whatever their retry hint (a long one slows the polls down). */
const isTransient = (error: BatchError.RequestError): boolean => BatchError.transience(error) !== "permanent"

/** The server's pace is a floor, capped so that one odd hint cannot outlast the batch. */
const atLeastHint = (delay: Duration.Duration, hint: Option.Option<Duration.Duration>): Duration.Duration =>
  Option.match(hint, {
    onNone: () => delay,
    onSome: (hint) => Duration.max(delay, Duration.min(hint, waitDefaults.maxHint))
  })

/** The server's retry hint of a failed poll, as the pace of the next one. */
const hintOf = (error: BatchError.RequestError): Option.Option<Duration.Duration> =>
  BatchError.isStatusError(error) && error.retryAfterMs !== undefined
    ? Option.some(Duration.millis(error.retryAfterMs))
    : Option.none()

const willPollAgain = (batchId: string, error: BatchError.RequestError) =>
  Effect.logWarning(`effect-openai-batch: polling ${batchId} failed, will poll again: ${error.message}`)

/**
 * The wait's pace over poll results: `schedule` reads the snapshot, and the server's `openai-poll-after-ms` is a
 * floor (Effect 4's `Schedule` has no `mapInput`: the step is adapted).
 */
const pacing = (schedule: BatchSchedule.PollSchedule): Schedule.Schedule<unknown, BatchApi.PollResult> =>
  Schedule.fromStep(
    Effect.map(
      Schedule.toStep(schedule),
      (step) => (now: number, result: BatchApi.PollResult) =>
        Effect.map(step(now, result.batch), ([output, delay]): [unknown, Duration.Duration] => [
          output,
          atLeastHint(delay, result.pollAfter)
        ])
    )
  )

/**
 * The snapshots of a batch, emitted when its status or `request_counts` change, ending after the terminal one.
 * Drive a progress bar from it. Transient errors between polls are logged and skipped; a 404 or 401 fails the
 * stream; the deadline fails it with `WaitTimeoutError` carrying the last snapshot.
 *
 * Note that a batch can show all its requests done while still `finalizing`.
 *
 * @example
 * ```ts
 * import { Console, Stream } from "effect"
 * import { BatchWait } from "effect-openai-batch"
 *
 * const progress = (id: string) =>
 *   BatchWait.watchBatch(id).pipe(
 *     Stream.runForEach((batch) => {
 *       const counts = batch.request_counts
 *       return Console.log(`${batch.status} ${counts ? `${counts.completed + counts.failed}/${counts.total}` : ""}`)
 *     })
 *   )
 * ```
 *
 * @since 4.0.0
 * @category Waiting
 */
export const watchBatch = (
  batchId: string,
  options: WaitOptions = {}
): Stream.Stream<Batch.Batch, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi.BatchApi> =>
  watch("watchBatch", batchId, options)

const watch = (
  operation: string,
  batchId: string,
  options: WaitOptions
): Stream.Stream<Batch.Batch, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi.BatchApi> =>
  Stream.unwrap(Effect.gen(function*() {
    const invalid = Params.idIssue(operation, "batch", batchId)
    if (invalid !== undefined) return Stream.fail(invalid)
    // A negative or NaN timeout (zero on Effect 3, negative on Effect 4) is refused before any request.
    if (
      options.timeout !== undefined && DurationOption.breaks(options.timeout, ">= 0")
    ) {
      return Stream.fail(Params.invalid(operation, DurationOption.issue(">= 0"), "timeout"))
    }
    const api = yield* Effect.service(BatchApi.BatchApi)
    // The wait paces its polls itself: the retry policy must not retry them as well.
    const pollOnce = BatchSchedule.withRetry(api.pollBatch(batchId), BatchSchedule.noRetry)
    const startedAt = yield* Clock.currentTimeMillis
    const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - startedAt)
    const firstDeadline = options.timeout ?? waitDefaults.deadlineWithoutExpiry
    // A transient failure of the first poll does not end the wait either: keep trying on the polling pace, until the
    // wait's deadline (then it is a WaitTimeoutError, like any other wait that saw nothing in time).
    const first = yield* pollOnce.pipe(
      Effect.retry({
        schedule: BatchSchedule.poll().pipe(
          Schedule.setInputType<BatchError.RequestError>(),
          // The server's retry hint is a floor here too.
          Schedule.modifyDelay(({ duration, input }) => Effect.succeed(atLeastHint(duration, hintOf(input)))),
          // Only an error the wait goes on after: one that ends it (a 404) is the wait's error, not a warning.
          Schedule.tap(({ input }) => isTransient(input) ? willPollAgain(batchId, input) : Effect.void),
          BatchSchedule.withDeadline(firstDeadline)
        ),
        while: isTransient
      }),
      Effect.catchIf(
        isTransient,
        (error) =>
          Effect.flatMap(elapsed, (waited) =>
            Effect.fail(
              waitTimeout(operation, batchId, waited, undefined, "NoPoll", error)
            ))
      )
    )
    const last = yield* Ref.make(first.batch)
    const pending = yield* Ref.make(Option.some(first))
    const deadline = options.timeout === undefined
      ? defaultDeadlineMillis(first.batch, startedAt)
      : Duration.toMillis(Duration.fromInputUnsafe(options.timeout))

    const poll = pollOnce.pipe(
      Effect.catchIf(
        isTransient,
        (error) =>
          willPollAgain(batchId, error).pipe(
            Effect.andThen(
              Effect.map(Ref.get(last), (batch): BatchApi.PollResult => ({ batch, pollAfter: hintOf(error) }))
            )
          )
      )
    )
    // The first snapshot is already here: emit it, then poll on the schedule.
    const next = Effect.flatMap(
      Ref.getAndSet(pending, Option.none()),
      Option.match({ onSome: Effect.succeed, onNone: () => poll })
    )
    const schedule = pacing(options.schedule ?? BatchSchedule.poll())
    const deadlineReached = Effect.flatMap(elapsed, (waited) => Effect.sleep(Math.max(0, deadline - waited)))
    // The polls end after the terminal snapshot, when the schedule ends, or at the deadline: unless the batch has
    // ended, that is a WaitTimeoutError.
    const ended = Stream.unwrap(Effect.gen(function*() {
      const batch = yield* Ref.get(last)
      if (Batch.isTerminal(batch)) return Stream.empty
      const waited = yield* elapsed
      const reason = waited >= deadline ? "Deadline" : "ScheduleEnded"
      return Stream.fail(waitTimeout(operation, batchId, Math.min(waited, deadline), batch, reason))
    }))
    // With a BatchEvents feed (webhooks), an event about the batch ends the wait for the next poll at once.
    const events = yield* Effect.serviceOption(BatchEvents.BatchEvents)
    const polls = Option.isNone(events)
      ? Stream.fromEffectSchedule(next, schedule)
      : Wake.repeatOrWake(next, schedule, events.value.wakeups(batchId))
    return polls.pipe(
      Stream.map((result) => result.batch),
      Stream.tap((batch) => Ref.set(last, batch)),
      Stream.changesWith((a, b) => progressKey(a) === progressKey(b)),
      Stream.takeUntil(Batch.isTerminal),
      // A failure crosses `interruptWhen` as a value and fails the stream on this side (on Effect 3 it ran the stream
      // in a fiber of its own, whose failure the runtime also logged).
      Stream.result,
      Stream.interruptWhen(deadlineReached),
      Stream.mapEffect(Result.match({ onFailure: Effect.fail, onSuccess: Effect.succeed })),
      Stream.concat(ended)
    )
  })).pipe(
    Operation.namedStream(operation),
    Operation.streamSpan(`BatchWait.${operation}`, { "openai.batch_id": batchId })
  )

/**
 * @since 4.0.0
 * @category Models
 */
export interface AwaitOptions extends WaitOptions {
  /** Called with every changed snapshot (status or counts), e.g. to print progress. */
  readonly onProgress?: ((batch: Batch.Batch) => Effect.Effect<void>) | undefined
}

/**
 * Polls until the batch is terminal (completed, failed, expired or cancelled) and returns it. See `watchBatch`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchSchedule, BatchWait } from "effect-openai-batch"
 *
 * const wait = (id: string) =>
 *   BatchWait.awaitBatch(id, {
 *     schedule: BatchSchedule.every("30 seconds"),
 *     timeout: "2 hours",
 *     onProgress: (batch) => Effect.log(`${batch.status} ${batch.request_counts?.completed ?? 0}`)
 *   }).pipe(
 *     // the deadline carries the last snapshot seen
 *     Effect.catchTag("WaitTimeoutError", (error) => Effect.succeed(error.lastBatch))
 *   )
 * ```
 *
 * @since 4.0.0
 * @category Waiting
 */
export const awaitBatch = (
  batchId: string,
  options: AwaitOptions = {}
): Effect.Effect<Batch.Batch, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi.BatchApi> =>
  run("awaitBatch", batchId, options)

const run = (
  operation: string,
  batchId: string,
  options: AwaitOptions
): Effect.Effect<Batch.Batch, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi.BatchApi> =>
  Stream.runLast(
    Stream.tap(
      watch(operation, batchId, options),
      (batch) => options.onProgress === undefined ? Effect.void : options.onProgress(batch)
    )
  ).pipe(
    // watchBatch always emits its first snapshot, so the stream is never empty.
    Effect.flatMap(Option.match({
      onSome: Effect.succeed,
      onNone: () => Effect.fail(waitTimeout(operation, batchId, 0, undefined, "ScheduleEnded"))
    }))
  )

/**
 * Fails with the typed error of an unsuccessful end: `BatchFailedError` (with `errors.data`),
 * `BatchExpiredError` or `BatchCancelledError`, each carrying the batch (expired and cancelled batches can still
 * hold partial results). A completed batch, or one still running, is returned.
 *
 * @since 4.0.0
 * @category Waiting
 */
export const requireCompleted = (
  batch: Batch.Batch
): Effect.Effect<
  Batch.Batch,
  BatchError.BatchFailedError | BatchError.BatchExpiredError | BatchError.BatchCancelledError
> => completedOr(batch, undefined)

const completedOr = (
  batch: Batch.Batch,
  operation: string | undefined
): Effect.Effect<Batch.Batch, BatchError.OutcomeError> => {
  const named = operation === undefined ? {} : { operation }
  switch (batch.status) {
    case "failed":
      return Effect.fail(new BatchError.BatchFailedError({ ...named, batch, errors: batch.errors?.data ?? [] }))
    case "expired":
      return Effect.fail(new BatchError.BatchExpiredError({ ...named, batch }))
    case "cancelled":
      return Effect.fail(new BatchError.BatchCancelledError({ ...named, batch }))
    default:
      return Effect.succeed(batch)
  }
}

/**
 * `awaitBatch`, then `requireCompleted`: succeeds only with a `completed` batch.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchWait } from "effect-openai-batch"
 *
 * const outputFile = (id: string) =>
 *   BatchWait.awaitCompleted(id).pipe(
 *     Effect.map((batch) => batch.output_file_id),
 *     // expired and cancelled batches can hold paid partial results
 *     Effect.catchTags({
 *       BatchExpiredError: (error) => Effect.succeed(error.batch.output_file_id),
 *       BatchCancelledError: (error) => Effect.succeed(error.batch.output_file_id)
 *     })
 *   )
 * ```
 *
 * @since 4.0.0
 * @category Waiting
 */
export const awaitCompleted = (
  batchId: string,
  options: AwaitOptions = {}
): Effect.Effect<
  Batch.Batch,
  | BatchError.RequestError
  | BatchError.WaitTimeoutError
  | BatchError.BatchFailedError
  | BatchError.BatchExpiredError
  | BatchError.BatchCancelledError,
  BatchApi.BatchApi
> => Effect.flatMap(run("awaitCompleted", batchId, options), (batch) => completedOr(batch, "awaitCompleted"))

/**
 * Cancels a batch and waits out the cancel window until it is `cancelled`. Polls on `BatchSchedule.cancelWindow()`
 * with a 30-minute deadline by default.
 *
 * - A batch already terminal is returned as it is, without a cancel request.
 * - A batch already `cancelling` (a repeated call) is not cancelled again; the call just waits.
 * - If the batch reaches another terminal status first (it completed before the cancel took effect), that batch
 *   is returned.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchWait } from "effect-openai-batch"
 *
 * const stop = (id: string) =>
 *   Effect.gen(function*() {
 *     const batch = yield* BatchWait.cancelBatchAndWait(id) // usually "cancelled"; check: it may have completed first
 *     yield* Effect.log(`${batch.status}; partial output: ${batch.output_file_id ?? "none"}`)
 *   })
 * ```
 *
 * @since 4.0.0
 * @category Waiting
 */
export const cancelBatchAndWait = (
  batchId: string,
  options: AwaitOptions = {}
): Effect.Effect<Batch.Batch, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi.BatchApi> =>
  Effect.gen(function*() {
    const invalid = Params.idIssue("cancelBatchAndWait", "batch", batchId)
    if (invalid !== undefined) return yield* Effect.fail(invalid)
    const api = yield* Effect.service(BatchApi.BatchApi)
    const current = yield* api.retrieveBatch(batchId)
    if (Batch.isTerminal(current)) return current
    if (current.status !== "cancelling") {
      yield* api.cancelBatch(batchId).pipe(
        // It may have ended between the retrieve and the cancel: the API then refuses the cancel.
        Effect.catchIf(
          (error) => error._tag === "BadRequestError" || error._tag === "ConflictError",
          (error) =>
            Effect.flatMap(
              api.retrieveBatch(batchId),
              (batch) => Batch.isTerminal(batch) || batch.status === "cancelling" ? Effect.void : Effect.fail(error)
            )
        )
      )
    }
    return yield* run("cancelBatchAndWait", batchId, {
      ...options,
      schedule: options.schedule ?? BatchSchedule.cancelWindow(),
      timeout: options.timeout ?? waitDefaults.cancelDeadline
    })
  }).pipe(Operation.named("cancelBatchAndWait"))
