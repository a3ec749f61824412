/**
 * The Batch API service: create, retrieve, list and cancel, each a traced Effect that retries transient failures
 * and fails only with typed errors; and, built on those four, `streamBatches`, `watchBatch`, `awaitBatch`,
 * `awaitCompleted` and `cancelBatchAndWait`.
 *
 * The derived operations only use the service's primitives, so any `BatchApi` layer (the HTTP one, one built from
 * test handlers) gets them.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Batch from "./Batch.js"
import * as BatchError from "./BatchError.js"
import * as BatchSchedule from "./BatchSchedule.js"
import * as OpenAiConfig from "./OpenAiConfig.js"
import * as Decoder from "./internal/decoder.js"
import * as Http from "./internal/http.js"
import * as PathSegment from "./internal/pathSegment.js"
import * as Retry from "./internal/retry.js"

// ---------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------

/**
 * Per-call options of every operation.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CallOptions {
  /** Replaces the layer's retry schedule for this call (`BatchSchedule.noRetry` to send once). */
  readonly retry?: BatchSchedule.RetrySchedule | undefined
}

/**
 * Options of `createBatch`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CreateOptions extends CallOptions {
  /**
   * Sent as `Idempotency-Key` and kept across retries. Default: a random key per call. Pass your own (one per
   * logical batch, e.g. `nightly-2026-11-28`) to make a create idempotent across process restarts too: with a
   * caller's key, `createBatch` first looks among the batches created in the last 24 hours (the newest 1,000 at
   * most) for one carrying it, and returns it instead of creating another.
   */
  readonly idempotencyKey?: string | undefined
  /**
   * Whether to store the key in the batch's metadata under `idempotencyMetadataKey` (one of the 16 metadata
   * slots), so that a create whose outcome is unknown can be found instead of re-sent. Default `true`. With
   * `false`, or when metadata is already full, a create whose outcome is unknown is not retried.
   */
  readonly idempotencyMarker?: boolean | undefined
}

/**
 * A batch snapshot with the server's pacing hint (`openai-poll-after-ms`), as used by waits.
 *
 * @since 0.1.0
 * @category Models
 */
export interface PollResult {
  readonly batch: Batch.Batch
  readonly pollAfter: Option.Option<Duration.Duration>
}

/**
 * The four operations (and `pollBatch`, a retrieve that also returns the server's pacing hint).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  readonly createBatch: (
    params: Batch.CreateBatchParams,
    options?: CreateOptions
  ) => Effect.Effect<Batch.Batch, BatchError.RequestError>
  readonly retrieveBatch: (batchId: string, options?: CallOptions) => Effect.Effect<Batch.Batch, BatchError.RequestError>
  readonly listBatches: (
    params?: Batch.ListBatchesParams,
    options?: CallOptions
  ) => Effect.Effect<Batch.BatchPage, BatchError.RequestError>
  readonly cancelBatch: (batchId: string, options?: CallOptions) => Effect.Effect<Batch.Batch, BatchError.RequestError>
  readonly pollBatch: (batchId: string, options?: CallOptions) => Effect.Effect<PollResult, BatchError.RequestError>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class BatchApi extends Context.Tag("effect-openai-batch/BatchApi")<BatchApi, Service>() {}

/**
 * The metadata key that carries a create's idempotency key.
 *
 * @since 0.1.0
 * @category Constants
 */
export const idempotencyMetadataKey = "eob_idempotency_key"

// ---------------------------------------------------------------------------------------------------------------
// The HTTP implementation
// ---------------------------------------------------------------------------------------------------------------

/**
 * Validates input against a schema; a failure is an `InvalidParamsError` and nothing is sent.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const validate = <A, I>(operation: string, schema: Schema.Schema<A, I>, input: unknown) =>
  Effect.mapError(
    Schema.decodeUnknown(schema, { onExcessProperty: "error" })(input),
    (error) =>
      new BatchError.InvalidParamsError({
        operation,
        issue: ParseResult.TreeFormatter.formatErrorSync(error),
        message: `${operation}: invalid parameters: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
      })
  )

/**
 * `prefix` + the URI-encoded id, or an `InvalidParamsError` for an id that could change the path (the rule of
 * `Batch.BatchId`, checked without a Schema decode: this is on every call's path).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const pathFor = (
  operation: string,
  kind: "batch" | "file",
  prefix: string,
  id: string
): Effect.Effect<string, BatchError.InvalidParamsError> => {
  const issue = typeof id === "string" ? PathSegment.issue(kind, id) : `a ${kind} id must be a string`
  return issue === undefined
    ? Effect.succeed(`${prefix}${encodeURIComponent(id)}`)
    : Effect.fail(
      new BatchError.InvalidParamsError({ operation, issue, message: `${operation}: invalid parameters: ${issue}` })
    )
}

const batchPath = (operation: string, batchId: string) => pathFor(operation, "batch", "/batches/", batchId)

const decodeBatch = Decoder.make(Batch.Batch)
const decodePage = Decoder.make(Batch.BatchPage)

/** How far back (in seconds, against clock skew) a lookup for an ambiguous create looks, and how many pages. */
const lookupSkewSeconds = 300
/** How far back a caller-supplied idempotency key is looked for: the 24-hour completion window. */
const callerKeyWindowSeconds = 24 * 3600
const lookupMaxPages = 10

/**
 * Options of `make` and `layer`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface MakeOptions {
  /** The retry schedule of every call; default `BatchSchedule.retry` with the limits of `OpenAiConfig`. */
  readonly retry?: BatchSchedule.RetrySchedule | undefined
}

/**
 * Builds the service over the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: MakeOptions = {}
): Effect.Effect<Service, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const { defaultRetry, pipeline, retrying } = yield* Http.context(options.retry)

    const listOnce = (params: Batch.ListBatchesParams) =>
      Effect.map(
        pipeline.request({ method: "GET", path: "/batches", urlParams: { ...params } }, decodePage),
        (decoded) => decoded.value
      )

    /**
     * Looks among the newest batches, created since `sinceSeconds`, for one carrying this idempotency key. Stops at
     * older batches, at the end of the list, at a repeated cursor, or after `lookupMaxPages` pages.
     */
    const findCreated = (key: string, sinceSeconds: number) =>
      Effect.gen(function*() {
        let after: string | undefined
        for (let page = 0; page < lookupMaxPages; page++) {
          const result = yield* listOnce(after === undefined ? { limit: 100 } : { limit: 100, after })
          const found = result.data.find((batch) =>
            batch.metadata?.[idempotencyMetadataKey] === key && batch.created_at >= sinceSeconds
          )
          if (found !== undefined) return Option.some(found)
          const last = result.data[result.data.length - 1]
          if (!result.has_more || last === undefined || last.id === after || last.created_at < sinceSeconds) break
          after = last.id
        }
        return Option.none<Batch.Batch>()
      })

    const createBatch = Effect.fn("BatchApi.createBatch")(
      function*(params: Batch.CreateBatchParams, createOptions?: CreateOptions) {
        const valid = yield* validate("createBatch", Batch.CreateBatchParams, params)
        const callerKey = createOptions?.idempotencyKey
        if (callerKey !== undefined && !/^[\x21-\x7e]{1,512}$/.test(callerKey)) {
          // It goes into a header (visible ASCII only) and a metadata value (at most 512 characters).
          const issue = "idempotencyKey must be 1 to 512 visible ASCII characters (no spaces)"
          return yield* Effect.fail(
            new BatchError.InvalidParamsError({ operation: "createBatch", issue, message: `createBatch: ${issue}` })
          )
        }
        const key = callerKey ?? `eob-${crypto.randomUUID()}`
        // A marker already in the caller's metadata (copied from an older batch, say) is replaced, never reused.
        const metadata = Object.fromEntries(
          Object.entries(valid.metadata ?? {}).filter(([name]) => name !== idempotencyMetadataKey)
        )
        const marked = createOptions?.idempotencyMarker !== false && Object.keys(metadata).length < 16
        const body = marked ? { ...valid, metadata: { ...metadata, [idempotencyMetadataKey]: key } } : valid
        // A generated key only matches batches made by this call (less clock skew); a caller's key names one batch
        // made within the completion window, so a re-run after a crash finds it too.
        const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const since = nowSeconds - (callerKey === undefined ? lookupSkewSeconds : callerKeyWindowSeconds)
        const mayExist = yield* Ref.make(marked && callerKey !== undefined)
        const send = pipeline.request(
          { method: "POST", path: "/batches", headers: { "idempotency-key": key }, body },
          decodeBatch
        ).pipe(
          Effect.map((decoded) => decoded.value),
          Effect.tapError((error) => BatchSchedule.isAmbiguous(error) ? Ref.set(mayExist, true) : Effect.void)
        )
        // Once an attempt may have reached the server, every later attempt first looks for its batch.
        const attempt = Effect.flatMap(Ref.get(mayExist), (check) =>
          check
            ? Effect.flatMap(
              findCreated(key, since),
              Option.match({
                onNone: () => send,
                onSome: (batch) =>
                  batch.input_file_id === valid.input_file_id && batch.endpoint === valid.endpoint
                    ? Effect.as(Effect.logInfo(`effect-openai-batch: create already succeeded as ${batch.id}`), batch)
                    : Effect.fail(
                      new BatchError.InvalidParamsError({
                        operation: "createBatch",
                        issue: `the idempotency key ${key} already names batch ${batch.id}, made from ${batch.input_file_id} for ${batch.endpoint}`,
                        message: `createBatch: the idempotency key ${key} was already used for batch ${batch.id} with other parameters`
                      })
                    )
              })
            )
            : send)
        const schedule = createOptions?.retry ?? defaultRetry
        return yield* Retry.retry(
          attempt,
          marked ? schedule : schedule.pipe(Schedule.whileInput((error) => !BatchSchedule.isAmbiguous(error)))
        )
      }
    )

    const retrieveWithHint = (operation: string, batchId: string, callOptions: CallOptions | undefined) =>
      Effect.gen(function*() {
        const path = yield* batchPath(operation, batchId)
        yield* Effect.annotateCurrentSpan("openai.batch_id", batchId)
        const decoded = yield* retrying(pipeline.request({ method: "GET", path }, decodeBatch), callOptions)
        const hint = Number(decoded.headers["openai-poll-after-ms"])
        return {
          batch: decoded.value,
          pollAfter: Number.isFinite(hint) && hint > 0 ? Option.some(Duration.millis(hint)) : Option.none()
        }
      })

    const retrieveBatch = Effect.fn("BatchApi.retrieveBatch")(function*(batchId: string, callOptions?: CallOptions) {
      return (yield* retrieveWithHint("retrieveBatch", batchId, callOptions)).batch
    })

    const pollBatch = Effect.fn("BatchApi.pollBatch")(function*(batchId: string, callOptions?: CallOptions) {
      return yield* retrieveWithHint("pollBatch", batchId, callOptions)
    })

    const listBatches = Effect.fn("BatchApi.listBatches")(
      function*(params?: Batch.ListBatchesParams, callOptions?: CallOptions) {
        const valid = yield* validate("listBatches", Batch.ListBatchesParams, params ?? {})
        return yield* retrying(listOnce(valid), callOptions)
      }
    )

    const cancelBatch = Effect.fn("BatchApi.cancelBatch")(function*(batchId: string, callOptions?: CallOptions) {
      const path = yield* batchPath("cancelBatch", batchId)
      yield* Effect.annotateCurrentSpan("openai.batch_id", batchId)
      const decoded = yield* retrying(pipeline.request({ method: "POST", path: `${path}/cancel` }, decodeBatch), callOptions)
      return decoded.value
    })

    return { createBatch, retrieveBatch, listBatches, cancelBatch, pollBatch } satisfies Service
  })

/**
 * The service over the `HttpClient` in context, with `OpenAiConfig` from context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: MakeOptions = {}
): Layer.Layer<BatchApi, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> =>
  Layer.effect(BatchApi, make(options))

/**
 * The service configured from `OPENAI_API_KEY` and friends (see `OpenAiConfig.layerFromEnv`); it still needs an
 * `HttpClient` (e.g. `NodeHttpClient.layerUndici` or `FetchHttpClient.layer`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFromEnv: Layer.Layer<BatchApi, ConfigError.ConfigError, HttpClient.HttpClient> =
  layer().pipe(Layer.provide(OpenAiConfig.layerFromEnv))

// ---------------------------------------------------------------------------------------------------------------
// Accessors
// ---------------------------------------------------------------------------------------------------------------

/**
 * `POST /v1/batches`. Never creates a second batch on retry (see `CreateOptions`).
 *
 * @since 0.1.0
 * @category Operations
 */
export const createBatch = (
  params: Batch.CreateBatchParams,
  options?: CreateOptions
): Effect.Effect<Batch.Batch, BatchError.RequestError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.createBatch(params, options))

/**
 * `GET /v1/batches/{batch_id}`.
 *
 * @since 0.1.0
 * @category Operations
 */
export const retrieveBatch = (
  batchId: string,
  options?: CallOptions
): Effect.Effect<Batch.Batch, BatchError.RequestError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.retrieveBatch(batchId, options))

/**
 * `GET /v1/batches`: one page, newest first.
 *
 * @since 0.1.0
 * @category Operations
 */
export const listBatches = (
  params?: Batch.ListBatchesParams,
  options?: CallOptions
): Effect.Effect<Batch.BatchPage, BatchError.RequestError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.listBatches(params, options))

/**
 * `POST /v1/batches/{batch_id}/cancel`. The batch then sits in `cancelling` for up to 10 minutes; see
 * `cancelBatchAndWait`.
 *
 * @since 0.1.0
 * @category Operations
 */
export const cancelBatch = (
  batchId: string,
  options?: CallOptions
): Effect.Effect<Batch.Batch, BatchError.RequestError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.cancelBatch(batchId, options))

// ---------------------------------------------------------------------------------------------------------------
// Streaming every batch
// ---------------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category Models
 */
export interface StreamOptions extends CallOptions {
  /** Batches per page, 1..100. Default 100 (fewest round trips). */
  readonly pageSize?: number | undefined
  /** Start after this batch id. */
  readonly after?: string | undefined
}

/**
 * Every batch, newest first, fetched page by page as the consumer pulls (`Stream.take(5)` fetches one page).
 * A page that says `has_more` but is empty, or a cursor that repeats, fails with `PaginationError` instead of
 * ending silently or looping.
 *
 * @since 0.1.0
 * @category Streams
 */
export const streamBatches = (
  options: StreamOptions = {}
): Stream.Stream<Batch.Batch, BatchError.RequestError | BatchError.PaginationError, BatchApi> => {
  const limit = options.pageSize ?? 100
  interface Cursor {
    readonly after: string | undefined
    readonly pages: number
  }
  // One set of used cursors per run of the stream (a run may be repeated; each starts afresh).
  const page = (api: Service, used: Set<string>, cursor: Cursor) =>
    Effect.flatMap(
      api.listBatches(cursor.after === undefined ? { limit } : { limit, after: cursor.after }, options),
      (result): Effect.Effect<readonly [Chunk.Chunk<Batch.Batch>, Option.Option<Cursor>], BatchError.PaginationError> => {
        const pages = cursor.pages + 1
        const items = Chunk.unsafeFromArray(result.data)
        if (!result.has_more) return Effect.succeed([items, Option.none()])
        const last = result.data[result.data.length - 1]
        if (last === undefined) {
          return Effect.fail(
            new BatchError.PaginationError({
              reason: "EmptyPageWithMore",
              pages,
              message: `listBatches page ${pages} is empty but says has_more: true; stopping rather than truncating`,
              ...(cursor.after === undefined ? {} : { cursor: cursor.after })
            })
          )
        }
        if (used.has(last.id) || last.id === cursor.after) {
          return Effect.fail(
            new BatchError.PaginationError({
              reason: "RepeatedCursor",
              pages,
              cursor: last.id,
              message: `listBatches page ${pages} ends at ${last.id} again; stopping rather than looping`
            })
          )
        }
        used.add(last.id)
        return Effect.succeed([items, Option.some({ after: last.id, pages })])
      }
    )
  return Stream.unwrap(
    Effect.map(BatchApi, (api) =>
      Stream.suspend(() => {
        const used = new Set<string>()
        return Stream.paginateChunkEffect<Cursor, Batch.Batch, BatchError.RequestError | BatchError.PaginationError, never>(
          { after: options.after, pages: 0 },
          (cursor) => page(api, used, cursor)
        )
      }))
  )
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of the waits.
 *
 * @since 0.1.0
 * @category Models
 */
export interface WaitOptions extends CallOptions {
  /** The pace of the polls; default `BatchSchedule.poll()`. The server's `openai-poll-after-ms` is a floor. */
  readonly schedule?: BatchSchedule.PollSchedule | undefined
  /**
   * The deadline of the whole wait. Default: the batch's `expires_at` plus an hour, or 25 hours when unknown.
   */
  readonly timeout?: Duration.DurationInput | undefined
}

const progressKey = (batch: Batch.Batch) =>
  `${batch.status}|${batch.request_counts?.completed}|${batch.request_counts?.failed}|${batch.request_counts?.total}`

const waitTimeout = (batchId: string, waitedMs: number, last: Batch.Batch | undefined, why: string) =>
  new BatchError.WaitTimeoutError({
    batchId,
    waitedMs,
    message: `gave up waiting for batch ${batchId} after ${Duration.format(Duration.millis(waitedMs))} (${why}); last status: ${
      last?.status ?? "unknown"
    }`,
    ...(last === undefined ? {} : { lastBatch: last })
  })

const defaultDeadlineMillis = (batch: Batch.Batch, nowMillis: number) =>
  batch.expires_at === undefined
    ? Duration.toMillis(BatchSchedule.pollDefaults.deadlineWithoutExpiry)
    : Math.max(
      batch.expires_at * 1000 + Duration.toMillis(BatchSchedule.pollDefaults.expiryMargin) - nowMillis,
      Duration.toMillis(BatchSchedule.pollDefaults.expiryMargin)
    )

/**
 * Errors that only mean "not now" to a wait: transport failures and timeouts, 408, 409, 429 and 5xx, whatever
 * their retry hint (a long `Retry-After` slows the polls down; it does not end a 25-hour wait).
 */
const isTransientForWaits = (error: BatchError.RequestError): boolean =>
  error._tag === "TransportError"
    ? error.reason === "Transport" || error.reason === "Timeout"
    : BatchError.isStatusError(error) &&
      (error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500)

/** The server's retry hint of a failed poll, as the pace of the next one. */
const hintOf = (error: BatchError.RequestError): Option.Option<Duration.Duration> =>
  BatchError.isStatusError(error) && error.retryAfterMs !== undefined
    ? Option.some(Duration.millis(error.retryAfterMs))
    : Option.none()

/**
 * The snapshots of a batch, emitted when its status or `request_counts` change, ending after the terminal one.
 * Drive a progress bar from it. Transient errors between polls are logged and skipped; a 404 or 401 fails the
 * stream; the deadline fails it with `WaitTimeoutError` carrying the last snapshot.
 *
 * Note that a batch can show all its requests done while still `finalizing`.
 *
 * @since 0.1.0
 * @category Waiting
 */
export const watchBatch = (
  batchId: string,
  options: WaitOptions = {}
): Stream.Stream<Batch.Batch, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi> =>
  Stream.unwrap(Effect.gen(function*() {
    const api = yield* BatchApi
    const startedAt = yield* Clock.currentTimeMillis
    const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - startedAt)
    const firstDeadline = Duration.toMillis(options.timeout ?? BatchSchedule.pollDefaults.deadlineWithoutExpiry)
    // A transient failure of the first poll does not end the wait either: keep trying on the polling pace, until the
    // wait's deadline (then it is a WaitTimeoutError, like any other wait that saw nothing in time).
    const first = yield* api.pollBatch(batchId, options).pipe(
      Effect.tapError((error) =>
        Effect.logWarning(`effect-openai-batch: polling ${batchId} failed, will poll again: ${error.message}`)
      ),
      Effect.retry({
        // No retry starts past the deadline (Schedule.upTo would allow one last delay beyond it).
        schedule: BatchSchedule.poll().pipe(
          Schedule.delays,
          Schedule.intersect(Schedule.elapsed),
          Schedule.whileOutput(([delay, waited]) => Duration.toMillis(waited) + Duration.toMillis(delay) <= firstDeadline)
        ),
        while: isTransientForWaits
      }),
      Effect.catchIf(isTransientForWaits, (error) =>
        Effect.flatMap(elapsed, (waited) =>
          Effect.fail(waitTimeout(batchId, waited, undefined, `no poll succeeded; the last said: ${error.message}`))))
    )
    const last = yield* Ref.make(first.batch)
    const pending = yield* Ref.make(Option.some(first))
    const deadline = options.timeout === undefined
      ? defaultDeadlineMillis(first.batch, startedAt)
      : Duration.toMillis(options.timeout)

    const poll = api.pollBatch(batchId, options).pipe(
      Effect.catchIf(
        isTransientForWaits,
        (error) =>
          Effect.logWarning(`effect-openai-batch: polling ${batchId} failed, will poll again: ${error.message}`).pipe(
            Effect.zipRight(Effect.map(Ref.get(last), (batch): PollResult => ({ batch, pollAfter: hintOf(error) })))
          )
      )
    )
    // The first snapshot is already here: emit it, then poll on the schedule.
    const next = Effect.flatMap(
      Ref.getAndSet(pending, Option.none()),
      Option.match({ onSome: Effect.succeed, onNone: () => poll })
    )
    const schedule = (options.schedule ?? BatchSchedule.poll()).pipe(
      Schedule.mapInput((result: PollResult) => result.batch),
      Schedule.intersect(Schedule.identity<PollResult>()),
      Schedule.modifyDelay(([, result], delay) =>
        Option.match(result.pollAfter, {
          onNone: () => delay,
          // The server's pace is a floor, capped so that one odd hint cannot outlast the batch.
          onSome: (hint) => Duration.max(delay, Duration.min(hint, BatchSchedule.pollDefaults.maxHint))
        })
      )
    )
    const expired = Effect.gen(function*() {
      yield* Effect.sleep(Math.max(0, deadline - (yield* elapsed)))
      return yield* Effect.fail(waitTimeout(batchId, yield* elapsed, yield* Ref.get(last), "deadline reached"))
    })
    // If a custom schedule ends before the batch does, that is a timeout too.
    const scheduleEnded = Stream.unwrap(Effect.gen(function*() {
      const batch = yield* Ref.get(last)
      return Batch.isTerminal(batch)
        ? Stream.empty
        : Stream.fail(waitTimeout(batchId, yield* elapsed, batch, "the poll schedule ended"))
    }))
    return Stream.repeatEffectWithSchedule(next, schedule).pipe(
      Stream.map((result) => result.batch),
      Stream.tap((batch) => Ref.set(last, batch)),
      Stream.changesWith((a, b) => progressKey(a) === progressKey(b)),
      Stream.takeUntil(Batch.isTerminal),
      Stream.concat(scheduleEnded),
      Stream.interruptWhen(expired)
    )
  })).pipe(Stream.withSpan("BatchApi.watchBatch", { attributes: { "openai.batch_id": batchId } }))

/**
 * @since 0.1.0
 * @category Models
 */
export interface AwaitOptions extends WaitOptions {
  /** Called with every changed snapshot (status or counts), e.g. to print progress. */
  readonly onProgress?: ((batch: Batch.Batch) => Effect.Effect<void>) | undefined
}

/**
 * Polls until the batch is terminal (completed, failed, expired or cancelled) and returns it. See `watchBatch`.
 *
 * @since 0.1.0
 * @category Waiting
 */
export const awaitBatch = (
  batchId: string,
  options: AwaitOptions = {}
): Effect.Effect<Batch.Batch, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi> =>
  watchBatch(batchId, options).pipe(
    Stream.tap((batch) => options.onProgress === undefined ? Effect.void : options.onProgress(batch)),
    Stream.runLast,
    // watchBatch always emits its first snapshot, so the stream is never empty.
    Effect.flatMap(Option.match({
      onSome: Effect.succeed,
      onNone: () => Effect.fail(waitTimeout(batchId, 0, undefined, "no snapshot"))
    })),
    Effect.withSpan("BatchApi.awaitBatch", { attributes: { "openai.batch_id": batchId } })
  )

/**
 * Fails with the typed error of an unsuccessful end: `BatchFailedError` (with `errors.data`),
 * `BatchExpiredError` or `BatchCancelledError`, each carrying the batch (expired and cancelled batches can still
 * hold partial results). A completed batch, or one still running, is returned.
 *
 * @since 0.1.0
 * @category Waiting
 */
export const requireCompleted = (
  batch: Batch.Batch
): Effect.Effect<
  Batch.Batch,
  BatchError.BatchFailedError | BatchError.BatchExpiredError | BatchError.BatchCancelledError
> => {
  switch (batch.status) {
    case "failed": {
      const errors = batch.errors?.data ?? []
      const first = errors[0]
      return Effect.fail(
        new BatchError.BatchFailedError({
          batch,
          errors,
          message: `batch ${batch.id} failed${
            first === undefined ? "" : `: ${first.code ?? "error"}: ${first.message ?? ""}${
              first.line === undefined ? "" : ` (line ${first.line})`
            }`
          }${errors.length > 1 ? ` and ${errors.length - 1} more` : ""}`
        })
      )
    }
    case "expired":
      return Effect.fail(
        new BatchError.BatchExpiredError({
          batch,
          message: `batch ${batch.id} expired with ${batch.request_counts?.completed ?? 0} of ${
            batch.request_counts?.total ?? "?"
          } requests done${batch.output_file_id === undefined ? "" : `; partial results in ${batch.output_file_id}`}`
        })
      )
    case "cancelled":
      return Effect.fail(
        new BatchError.BatchCancelledError({
          batch,
          message: `batch ${batch.id} was cancelled${
            batch.output_file_id === undefined ? "" : `; partial results in ${batch.output_file_id}`
          }`
        })
      )
    default:
      return Effect.succeed(batch)
  }
}

/**
 * `awaitBatch`, then `requireCompleted`: succeeds only with a `completed` batch.
 *
 * @since 0.1.0
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
  BatchApi
> => Effect.flatMap(awaitBatch(batchId, options), requireCompleted)

/**
 * Cancels a batch and waits out the cancel window until it is `cancelled`. Polls on `BatchSchedule.cancelWindow()`
 * with a 30-minute deadline by default.
 *
 * - A batch already terminal is returned as it is, without a cancel request.
 * - A batch already `cancelling` (a repeated call) is not cancelled again; the call just waits.
 * - If the batch reaches another terminal status first (it completed before the cancel took effect), that batch
 *   is returned.
 *
 * @since 0.1.0
 * @category Waiting
 */
export const cancelBatchAndWait = (
  batchId: string,
  options: AwaitOptions = {}
): Effect.Effect<Batch.Batch, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi> =>
  Effect.gen(function*() {
    const api = yield* BatchApi
    const current = yield* api.retrieveBatch(batchId, options)
    if (Batch.isTerminal(current)) return current
    if (current.status !== "cancelling") {
      yield* api.cancelBatch(batchId, options).pipe(
        // It may have ended between the retrieve and the cancel: the API then refuses the cancel.
        Effect.catchIf(
          (error) => error._tag === "BadRequestError" || error._tag === "ConflictError",
          (error) =>
            Effect.flatMap(api.retrieveBatch(batchId, options), (batch) =>
              Batch.isTerminal(batch) || batch.status === "cancelling" ? Effect.void : Effect.fail(error))
        )
      )
    }
    return yield* awaitBatch(batchId, {
      ...options,
      schedule: options.schedule ?? BatchSchedule.cancelWindow(),
      timeout: options.timeout ?? BatchSchedule.cancelDefaults.deadline
    })
  }).pipe(Effect.withSpan("BatchApi.cancelBatchAndWait", { attributes: { "openai.batch_id": batchId } }))
