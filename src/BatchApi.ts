/**
 * The Batch API service: create, retrieve, list and cancel, each a traced Effect that retries transient failures
 * on the retry policy in effect and times each attempt on the timeout in effect (`BatchSchedule`), and fails only
 * with typed errors; its layers; an accessor for each operation; and `streamBatches`, every batch as a lazy
 * `Stream`. Operations take only their own options.
 *
 * Waiting for a batch is in `BatchWait`, built on these operations only, so any `BatchApi` layer (the HTTP one,
 * the simulator's, one built from test handlers) gets the waits and the stream for free and identical.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as Batch from "./Batch.js"
import type * as BatchError from "./BatchError.js"
import * as Create from "./internal/create.js"
import * as Decoder from "./internal/decoder.js"
import * as Operation from "./internal/http/operation.js"
import * as Http from "./internal/http/pipeline.js"
import * as Retry from "./internal/http/retry.js"
import * as Paginate from "./internal/paginate.js"
import * as Params from "./internal/params.js"
import * as OpenAiConfig from "./OpenAiConfig.js"

// ---------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of `createBatch`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CreateOptions {
  /**
   * Sent as `Idempotency-Key` and kept across retries. Default: a random key per call. Pass your own (one per
   * logical batch, e.g. `nightly-2026-11-28`) to make a create idempotent across process restarts too: with a
   * caller's key, `createBatch` first looks among the batches created in the last 24 hours (the newest 1,000 at
   * most) for one carrying it, and returns it instead of creating another. Reused with other parameters, the key
   * fails the create with `IdempotencyConflictError`.
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
 * The four operations, and `pollBatch`: a retrieve that also returns the server's pacing hint.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  readonly createBatch: (
    params: Batch.CreateBatchParams,
    options?: CreateOptions
  ) => Effect.Effect<Batch.Batch, BatchError.CreateError>
  readonly retrieveBatch: (batchId: string) => Effect.Effect<Batch.Batch, BatchError.RequestError>
  readonly listBatches: (params?: Batch.ListBatchesParams) => Effect.Effect<Batch.BatchPage, BatchError.RequestError>
  readonly cancelBatch: (batchId: string) => Effect.Effect<Batch.Batch, BatchError.RequestError>
  readonly pollBatch: (batchId: string) => Effect.Effect<PollResult, BatchError.RequestError>
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
export const idempotencyMetadataKey: string = Create.metadataKey

// ---------------------------------------------------------------------------------------------------------------
// The HTTP implementation
// ---------------------------------------------------------------------------------------------------------------

const decodeBatch = Decoder.make(Batch.Batch)
const decodePage = Decoder.make(Batch.BatchPage)

const pollAfterOf = (headers: Readonly<Record<string, string>>): Option.Option<Duration.Duration> => {
  const hint = Number(headers["openai-poll-after-ms"])
  return Number.isFinite(hint) && hint > 0 ? Option.some(Duration.millis(hint)) : Option.none()
}

/**
 * Builds the service over the `HttpClient` and the `OpenAiConfig` in context.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<Service, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Effect.gen(
  function*() {
    const { pipeline } = yield* Http.context

    const listOnce = (operation: string, params: Batch.ListBatchesParams, span?: Tracer.Span) =>
      Effect.map(
        pipeline.request({ operation, method: "GET", path: "/batches", query: { ...params }, span }, decodePage),
        (decoded) => decoded.value
      )

    const createBatch = (params: Batch.CreateBatchParams, options?: CreateOptions) =>
      Operation.span("BatchApi.createBatch", undefined, (span) =>
        Effect.tap(
          Create.create(pipeline, (list) => listOnce("createBatch", list), {
            params,
            idempotencyKey: options?.idempotencyKey,
            marker: options?.idempotencyMarker !== false,
            span
          }),
          (batch) => Effect.sync(() => span.attribute("openai.batch_id", batch.id))
        ))

    // The hot operations build their effect directly, in one span each (see `Operation.span`).
    const onBatch = <A>(
      name: string,
      method: "GET" | "POST",
      batchId: string,
      suffix: string,
      f: (decoded: Http.Decoded<Batch.Batch>) => A
    ): Effect.Effect<A, BatchError.RequestError> => {
      const invalid = Params.idIssue(name, "batch", batchId)
      if (invalid !== undefined) return Operation.span(`BatchApi.${name}`, undefined, () => Effect.fail(invalid))
      const path = `/batches/${encodeURIComponent(batchId)}${suffix}`
      return Operation.span(
        `BatchApi.${name}`,
        { "openai.batch_id": batchId },
        (span) => Effect.map(Retry.retry(pipeline.request({ operation: name, method, path, span }, decodeBatch)), f)
      )
    }

    const value = (decoded: Http.Decoded<Batch.Batch>) => decoded.value

    const retrieveBatch = (batchId: string) => onBatch("retrieveBatch", "GET", batchId, "", value)

    const pollBatch = (batchId: string) =>
      onBatch("pollBatch", "GET", batchId, "", (decoded): PollResult => ({
        batch: decoded.value,
        pollAfter: pollAfterOf(decoded.headers)
      }))

    const cancelBatch = (batchId: string) => onBatch("cancelBatch", "POST", batchId, "/cancel", value)

    const listBatches = (params?: Batch.ListBatchesParams) =>
      Operation.span("BatchApi.listBatches", undefined, (span) =>
        Effect.flatMap(
          Params.validate("listBatches", Batch.ListBatchesParams, params ?? {}),
          (valid) => Retry.retry(listOnce("listBatches", valid, span))
        ))

    return { createBatch, retrieveBatch, listBatches, cancelBatch, pollBatch } satisfies Service
  }
)

/**
 * The service over the `HttpClient` and the `OpenAiConfig` in context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<BatchApi, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Layer.effect(
  BatchApi,
  make
)

/**
 * The service configured from `Config`s (see `OpenAiConfig.layerConfig`); it still needs an `HttpClient`.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<OpenAiConfig.Options>
): Layer.Layer<BatchApi, ConfigError.ConfigError, HttpClient.HttpClient> =>
  layer.pipe(Layer.provide(OpenAiConfig.layerConfig(options)))

/**
 * The service configured from `OPENAI_API_KEY` and friends (see `OpenAiConfig.layerFromEnv`); it still needs an
 * `HttpClient` (e.g. `UndiciTransport.layer`, `FetchTransport.layer`, `NodeHttpClient.layerUndici` or
 * `FetchHttpClient.layer`).
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer } from "effect"
 * import { BatchApi } from "effect-openai-batch"
 *
 * const MainLive = BatchApi.layerFromEnv.pipe(Layer.provide(FetchHttpClient.layer))
 *
 * const program = Effect.gen(function*() {
 *   const page = yield* BatchApi.listBatches({ limit: 5 })
 *   yield* Effect.log(page.data.map((batch) => `${batch.id} ${batch.status}`))
 * })
 *
 * const runnable = program.pipe(Effect.provide(MainLive)) // Effect.runPromise(runnable) with OPENAI_API_KEY set
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFromEnv: Layer.Layer<BatchApi, ConfigError.ConfigError, HttpClient.HttpClient> = layer.pipe(
  Layer.provide(OpenAiConfig.layerFromEnv)
)

// ---------------------------------------------------------------------------------------------------------------
// Accessors
// ---------------------------------------------------------------------------------------------------------------

/**
 * `POST /v1/batches`. Never creates a second batch on retry (see `CreateOptions`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchApi } from "effect-openai-batch"
 *
 * const program = Effect.gen(function*() {
 *   const batch = yield* BatchApi.createBatch(
 *     {
 *       input_file_id: "file-abc123",
 *       endpoint: "/v1/chat/completions",
 *       completion_window: "24h",
 *       metadata: { job: "nightly-eval" }
 *     },
 *     // one key per logical batch: a re-run after a crash returns the batch made before it
 *     { idempotencyKey: "nightly-eval-2026-11-28" }
 *   )
 *   yield* Effect.log(`created ${batch.id} (${batch.status})`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category Operations
 */
export const createBatch = (
  params: Batch.CreateBatchParams,
  options?: CreateOptions
): Effect.Effect<Batch.Batch, BatchError.CreateError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.createBatch(params, options))

/**
 * `GET /v1/batches/{batch_id}`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchApi } from "effect-openai-batch"
 * import { BatchApiSimulator } from "effect-openai-batch/testing"
 *
 * const program = Effect.gen(function*() {
 *   const simulator = yield* BatchApiSimulator.BatchApiSimulator
 *   const [id = ""] = yield* simulator.seed({ count: 1, status: "in_progress" })
 *   const batch = yield* BatchApi.retrieveBatch(id)
 *   const missing = yield* BatchApi.retrieveBatch("batch_unknown").pipe(
 *     Effect.as("found"),
 *     Effect.catchTag("NotFoundError", (error) => Effect.succeed(`404 ${error.requestId ?? ""}`.trim()))
 *   )
 *   return { status: batch.status, missing }
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(BatchApiSimulator.layerBatchApi()))).then((result) => {
 *   assert.strictEqual(result.status, "in_progress")
 *   assert.match(result.missing, /^404/)
 * })
 * ```
 *
 * @since 0.1.0
 * @category Operations
 */
export const retrieveBatch = (batchId: string): Effect.Effect<Batch.Batch, BatchError.RequestError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.retrieveBatch(batchId))

/**
 * `GET /v1/batches/{batch_id}`, with the server's pacing hint (`openai-poll-after-ms`) beside the batch: what a
 * wait polls with.
 *
 * @since 0.2.0
 * @category Operations
 */
export const pollBatch = (batchId: string): Effect.Effect<PollResult, BatchError.RequestError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.pollBatch(batchId))

/**
 * `GET /v1/batches`: one page, newest first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchApi } from "effect-openai-batch"
 *
 * // one page, newest first; `streamBatches` walks all of them
 * const program = Effect.gen(function*() {
 *   const page = yield* BatchApi.listBatches({ limit: 20 })
 *   const next = page.has_more && page.last_id !== undefined
 *     ? yield* BatchApi.listBatches({ limit: 20, after: page.last_id })
 *     : undefined
 *   return [...page.data, ...(next?.data ?? [])]
 * })
 * ```
 *
 * @since 0.1.0
 * @category Operations
 */
export const listBatches = (
  params?: Batch.ListBatchesParams
): Effect.Effect<Batch.BatchPage, BatchError.RequestError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.listBatches(params))

/**
 * `POST /v1/batches/{batch_id}/cancel`. The batch then sits in `cancelling` for up to 10 minutes; see
 * `BatchWait.cancelBatchAndWait`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchApi, BatchWait } from "effect-openai-batch"
 *
 * // returns at once with a batch in `cancelling`; `BatchWait.cancelBatchAndWait` waits for `cancelled`
 * const cancel = (id: string) =>
 *   BatchApi.cancelBatch(id).pipe(Effect.tap((batch) => Effect.log(`${batch.id} is ${batch.status}`)))
 *
 * const cancelAndWait = (id: string) => BatchWait.cancelBatchAndWait(id)
 * ```
 *
 * @since 0.1.0
 * @category Operations
 */
export const cancelBatch = (batchId: string): Effect.Effect<Batch.Batch, BatchError.RequestError, BatchApi> =>
  Effect.flatMap(BatchApi, (api) => api.cancelBatch(batchId))

// ---------------------------------------------------------------------------------------------------------------
// Streaming every batch
// ---------------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category Models
 */
export interface StreamOptions {
  /** Batches per page, 1..100. Default 100 (fewest round trips). */
  readonly pageSize?: number | undefined
  /** Start after this batch id. */
  readonly after?: string | undefined
}

/**
 * Every batch, newest first, fetched page by page as the consumer pulls (`Stream.take(5)` fetches one page).
 * A page that says `has_more` but is empty, or a cursor that repeats, fails with `PaginationError` instead of
 * ending silently or looping; a batch that two successive pages both return (the list moved between them) is passed
 * once.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { BatchApi } from "effect-openai-batch"
 * import { BatchApiSimulator } from "effect-openai-batch/testing"
 *
 * const program = Effect.gen(function*() {
 *   const simulator = yield* BatchApiSimulator.BatchApiSimulator
 *   yield* simulator.seed({ count: 250 })
 *   const newest = yield* BatchApi.streamBatches().pipe(Stream.take(3), Stream.runCollect) // fetches one page
 *   const all = yield* BatchApi.streamBatches({ pageSize: 100 }).pipe(Stream.runCount) // three pages
 *   return { newest: newest.length, all }
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(BatchApiSimulator.layerBatchApi()))).then((result) => {
 *   assert.deepStrictEqual(result, { newest: 3, all: 250 })
 * })
 * ```
 *
 * @since 0.1.0
 * @category Streams
 */
export const streamBatches = (
  options: StreamOptions = {}
): Stream.Stream<Batch.Batch, BatchError.RequestError | BatchError.PaginationError, BatchApi> => {
  const limit = options.pageSize ?? 100
  return Stream.unwrap(
    Effect.map(BatchApi, (api) =>
      Paginate.stream(
        "streamBatches",
        options.after,
        (after) => api.listBatches(after === undefined ? { limit } : { limit, after })
      ))
  ).pipe(Operation.namedStream("streamBatches"))
}
