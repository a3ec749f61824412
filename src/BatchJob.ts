/**
 * A whole batch job as one Effect: upload the requests, create the batch, wait for it (reporting progress), then
 * download its results and join them to the requests by `custom_id`.
 *
 * Each step fails with its own typed errors: `BatchInputError`s and request errors from the upload, request
 * errors from the create, `WaitTimeoutError`/`BatchFailedError` from the wait, `MalformedLineError` from the
 * results. The requests are kept in memory for the join; for inputs too large for that, compose the steps
 * yourself (`BatchInput.upload`, `BatchApi.createBatch`, `BatchApi.awaitBatch`, `BatchResults.stream`).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type * as Batch from "./Batch.js"
import * as BatchApi from "./BatchApi.js"
import type * as BatchError from "./BatchError.js"
import * as BatchInput from "./BatchInput.js"
import * as BatchLine from "./BatchLine.js"
import * as BatchResults from "./BatchResults.js"
import * as BatchWait from "./BatchWait.js"
import * as Cancel from "./internal/cancel.js"
import * as OpenAiConfig from "./OpenAiConfig.js"
import * as OpenAiFiles from "./OpenAiFiles.js"

/**
 * Options of `runBatch`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RunOptions extends BatchWait.AwaitOptions {
  /** The endpoint every request targets. */
  readonly endpoint: Batch.KnownEndpoint
  readonly metadata?: Batch.Metadata | undefined
  readonly output_expires_after?: Batch.CreateBatchParams["output_expires_after"]
  /** Passed to `createBatch` (it makes the create idempotent across restarts too). */
  readonly idempotencyKey?: string | undefined
  /** Limits, file name and expiry of the input file; see `BatchInput.upload`. */
  readonly input?: Omit<BatchInput.UploadOptions, "endpoint"> | undefined
  /** How results are read; see `BatchResults.stream`. */
  readonly results?: BatchResults.StreamOptions | undefined
  /** Called once the batch exists, e.g. to record its id. */
  readonly onCreated?: ((batch: Batch.Batch) => Effect.Effect<void>) | undefined
  /**
   * Cancel the batch when the wait is interrupted or reaches its deadline. Default `true`.
   *
   * Why `true`: a caller that stops waiting will not collect the results, and a batch nobody waits for keeps
   * running, and billing, for up to its 24-hour window; a cancel still keeps whatever finished as partial
   * results. An unwanted cancel only loses work the caller had already given up on. To detach instead (keep the
   * batch running and pick it up later by id, e.g. from `onCreated`), pass `false`.
   *
   * It covers the wait, from `onCreated` on. An interrupt while the create request itself is in flight cannot know
   * the batch's id; pass an `idempotencyKey` to find that batch again (a re-run with the same key returns it).
   *
   * The cancel is bounded, so that Ctrl-C is never held up by it: one attempt, at most `cancelTimeout` (10 s) in
   * all; if it fails the batch keeps running, and the log says so with its id.
   */
  readonly cancelOnInterrupt?: boolean | undefined
  /**
   * Delete the uploaded input file when the create fails, so a failed run leaves nothing stored. Default `true`.
   */
  readonly deleteInputOnCreateFailure?: boolean | undefined
}

/**
 * The outcome of `runBatch`: the final batch (completed, or expired/cancelled with partial results), the uploaded
 * input file, and the results joined to the requests.
 *
 * @since 0.1.0
 * @category Models
 */
export interface BatchRun extends BatchResults.Joined<BatchLine.BatchRequestInput> {
  readonly batch: Batch.Batch
  readonly inputFile: OpenAiFiles.OpenAIFile
  /** Malformed result lines that were skipped (only with `results.malformed: "skip"`). */
  readonly skipped: ReadonlyArray<BatchError.MalformedLineError>
}

/**
 * What `runBatch` can fail with.
 *
 * @since 0.1.0
 * @category Errors
 */
export type RunError =
  | BatchError.InputError
  | BatchError.CreateError
  | BatchError.WaitTimeoutError
  | BatchError.BatchFailedError
  | BatchError.MalformedLineError
  | BatchError.ResultsNotReadyError

/**
 * Runs a batch from requests to joined results. An expired or cancelled batch is not an error: its partial
 * results are returned and `batch.status` tells; a `failed` batch fails with `BatchFailedError`.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { BatchJob, BatchLine } from "effect-openai-batch"
 *
 * const texts = ["a first document", "a second one"]
 * const requests = texts.map((input, i) => BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input }))
 *
 * const program = Effect.gen(function*() {
 *   const run = yield* BatchJob.runBatch(requests, {
 *     endpoint: "/v1/embeddings",
 *     onProgress: (batch) => Console.log(`${batch.status} ${batch.request_counts?.completed ?? 0}/${texts.length}`),
 *     timeout: "26 hours"
 *   })
 *   for (const { input, result } of run.matched) { // in input order, joined by custom_id
 *     if (result._tag === "Succeeded") yield* Console.log(input.custom_id, result.response.status_code)
 *   }
 *   return run.missing.length // requests with no result (a cancelled or expired batch)
 * })
 * ```
 *
 * @since 0.1.0
 * @category Running
 */
export const runBatch = <E = never, R = never>(
  requests: BatchInput.Requests<E, R>,
  options: RunOptions
): Effect.Effect<BatchRun, RunError | E, R | BatchApi.BatchApi | OpenAiFiles.OpenAiFiles> =>
  Effect.gen(function*() {
    const api = yield* BatchApi.BatchApi
    const files = yield* OpenAiFiles.OpenAiFiles
    const cancelOnInterrupt = options.cancelOnInterrupt ?? true

    // The inputs are needed again for the join: read an iterable once, record a stream as it is uploaded. A stream
    // that must be checked before the upload (`precheck`) is read once into memory, since it is read twice.
    const inputs: Array<BatchLine.BatchRequestInput> = []
    let source: BatchInput.Requests<E, R> = inputs
    if (!isStream(requests)) {
      for (const request of requests) inputs.push(request)
    } else if (options.input?.precheck === true) {
      for (const request of yield* Stream.runCollect(requests)) inputs.push(request)
    } else {
      source = Stream.tap(requests, (request) => Effect.sync(() => inputs.push(request)))
    }

    const uploaded = yield* BatchInput.upload(source, { ...options.input, endpoint: options.endpoint }).pipe(
      Effect.withSpan("BatchJob.upload")
    )
    const inputFile = uploaded.file

    const created = yield* api.createBatch(
      {
        input_file_id: inputFile.id,
        endpoint: options.endpoint,
        completion_window: "24h",
        ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
        ...(options.output_expires_after === undefined ? {} : { output_expires_after: options.output_expires_after })
      },
      {
        ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
        ...(options.retry === undefined ? {} : { retry: options.retry }),
        ...(options.timeout === undefined ? {} : { timeout: options.timeout })
      }
    ).pipe(
      Effect.tapError(() =>
        options.deleteInputOnCreateFailure === false
          ? Effect.void
          : Effect.ignoreLogged(files.deleteFile(inputFile.id))
      )
    )
    const cancel = Cancel.cancelAbandoned(api, created.id, "its run was abandoned")
    // From here until the batch is terminal, abandoning the run may cancel the batch (see `cancelOnInterrupt`).
    const waited = Effect.zipRight(
      options.onCreated === undefined ? Effect.void : options.onCreated(created),
      BatchWait.awaitBatch(created.id, options)
    ).pipe(
      cancelOnInterrupt
        ? (wait) =>
          wait.pipe(
            Effect.onInterrupt(() => cancel),
            Effect.tapErrorTag("WaitTimeoutError", () => cancel)
          )
        : (wait) => wait,
      Effect.withSpan("BatchJob.await")
    )
    const batch = yield* waited
    // Expired and cancelled batches carry partial results: only a failed one is an error here.
    yield* BatchWait.requireCompleted(batch).pipe(
      Effect.catchTags({ BatchExpiredError: () => Effect.void, BatchCancelledError: () => Effect.void })
    )

    const skipped: Array<BatchError.MalformedLineError> = []
    const resultOptions: BatchResults.StreamOptions = {
      ...options.results,
      onMalformed: (error) =>
        Effect.zipRight(
          Effect.sync(() => skipped.push(error)),
          options.results?.onMalformed === undefined ? Effect.void : options.results.onMalformed(error)
        )
    }
    // A request that never ran (its batch expired or was cancelled first) has no result: it is missing.
    const results = Stream.filter(BatchResults.stream(batch, resultOptions), (result) => !BatchLine.neverRan(result))
    const joined = yield* BatchResults.join(results, inputs).pipe(
      Effect.provideService(OpenAiFiles.OpenAiFiles, files),
      Effect.withSpan("BatchJob.results")
    )
    return { ...joined, batch, inputFile, skipped }
  }).pipe(Effect.withSpan("BatchJob.runBatch", { attributes: { "openai.endpoint": options.endpoint } }))

const isStream = <E, R>(
  requests: BatchInput.Requests<E, R>
): requests is Stream.Stream<BatchLine.BatchRequestInput, E, R> => Predicate.hasProperty(requests, Stream.StreamTypeId)

/**
 * How long cancelling an abandoned batch may take (see `RunOptions.cancelOnInterrupt`): one attempt, 10 seconds.
 *
 * @since 0.2.0
 * @category Constants
 */
export const cancelTimeout: Duration.Duration = Cancel.cancelTimeout

/**
 * Both services `runBatch` needs, `BatchApi` and `OpenAiFiles`, over the `HttpClient` and `OpenAiConfig` in
 * context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<
  BatchApi.BatchApi | OpenAiFiles.OpenAiFiles,
  never,
  OpenAiConfig.OpenAiConfig | HttpClient.HttpClient
> = Layer.merge(BatchApi.layer, OpenAiFiles.layer)

/**
 * `layer` configured from `Config`s (see `OpenAiConfig.layerConfig`); it still needs an `HttpClient`.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<OpenAiConfig.Options>
): Layer.Layer<BatchApi.BatchApi | OpenAiFiles.OpenAiFiles, ConfigError.ConfigError, HttpClient.HttpClient> =>
  layer.pipe(Layer.provide(OpenAiConfig.layerConfig(options)))

/**
 * `layer` configured from `OPENAI_API_KEY` and friends (see `OpenAiConfig.layerFromEnv`); it still needs an
 * `HttpClient`, e.g. `UndiciHttpClient.layer`.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { BatchJob } from "effect-openai-batch"
 *
 * // BatchApi and OpenAiFiles, configured from OPENAI_API_KEY and friends
 * const JobLive = BatchJob.layerFromEnv.pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFromEnv: Layer.Layer<
  BatchApi.BatchApi | OpenAiFiles.OpenAiFiles,
  ConfigError.ConfigError,
  HttpClient.HttpClient
> = layer.pipe(Layer.provide(OpenAiConfig.layerFromEnv))
