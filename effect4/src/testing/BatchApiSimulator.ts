/**
 * An in-memory, stateful simulation of the OpenAI Batch and Files APIs, for tests and demos. It plugs in as the
 * `HttpClient` layer, so a test exercises the library's real request encoding, error mapping and decoding: swap
 * `layerBatchApi()` in for `BatchApi.layerFromEnv` and drive time with `TestClock`.
 *
 * - It enforces the contract as the real API does: bearer auth, create validation with OpenAI-style 400s naming
 *   `param`, 404s, list order newest first with `after`/`limit` rules, the cancel rules, and the API's headers
 *   (`x-request-id`, `openai-version`, `openai-processing-ms`) on every response.
 * - A batch's lifecycle is a pure function of its script, its creation and cancel times and `Clock` now: no
 *   background fiber runs, so under `TestClock` hours of batch time pass in milliseconds.
 * - Per-model enqueued limits (`enqueuedTokenLimit`, `enqueuedRequestLimit`; unlimited by default): as the API
 *   does, a batch is accepted by create and fails after `validating` with `token_limit_exceeded` (or
 *   `request_limit_exceeded`) when its model's enqueued tokens (or requests), over the batches that passed
 *   validation and have not ended, plus its own would exceed the limit. Tokens are counted by `estimateTokens`:
 *   `ceil(prompt characters / 4)` + token ids given as numbers + `max_tokens ?? max_completion_tokens ??
 *   max_output_tokens ?? 0`, a little less than a conservative client estimate.
 * - Faults (429, 5xx, dropped connections, timeouts, broken bodies, a create that commits and then drops) are
 *   queued for the next matching requests; every request is logged (the key never).
 * - Azure OpenAI's shape too (`OpenAiConfig.layerAzure`): `/openai/...` for `/v1/...` (a create at
 *   `/openai/deployments/{deployment}/batches`), `api-version` required (without it, Azure's 404), the key in
 *   `api-key` (or bearer) held to the same rules. Logs and fault matchers see the path as sent.
 * - Uploaded JSONL files are validated line by line; a `responder` answers each request line and finished
 *   batches get output and error files in the official line format (partial ones on cancel and expiry), and
 *   `usage` sums what the answers report.
 *
 * `handle` is the one entry point: the `HttpClient` here and the real HTTP server in
 * `effect-openai-batch/testing/server` both call it, so they behave the same. It needs web standards only (no
 * `Buffer`, no `node:` modules).
 *
 * The Effect 4 edition: the Effect 3 edition's simulator whole. Its Effect-free pieces (the lifecycle arithmetic,
 * the router, the responders, the token count, the result files, the input's lines) are the Effect 3 edition's
 * files, verbatim; the answers of the `HttpClient` are `HttpClientResponse.fromWeb`'s.
 *
 * @since 4.0.0
 */
import type * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Batch from "../Batch.js"
import * as BatchApi from "../BatchApi.js"
import * as JobBudget from "../JobBudget.js"
import * as OpenAiConfig from "../OpenAiConfig.js"
import * as OpenAiFiles from "../OpenAiFiles.js"
import * as OpenAiUploads from "../OpenAiUploads.js"
import * as ClockInternal from "./internal/clock.js"
import * as Faults from "./internal/faults.js"
import * as HttpClientInternal from "./internal/httpClient.js"
import * as Model from "./internal/model.js"
import * as Responders from "./internal/responder.js"
import * as Simulator_ from "./internal/simulator.js"
import * as Tokens from "./internal/tokens.js"

/**
 * One HTTP request as the simulator sees it, whatever transport carried it.
 *
 * @since 4.0.0
 * @category Models
 */
export interface SimRequest {
  readonly method: string
  /** The URL path, e.g. `/v1/batches/batch_1`. */
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/**
 * What the simulator does with a request: answer it, drop the connection, or never answer.
 *
 * @since 4.0.0
 * @category Models
 */
export type SimResponse =
  | {
    readonly _tag: "Response"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: Uint8Array
    /** The connection is reset after this many bytes of `body`, its headers having announced all of them. */
    readonly cutAt?: number | undefined
  }
  | { readonly _tag: "Dropped" }
  | { readonly _tag: "NoAnswer" }

/**
 * A request in the log. `body` is the parsed JSON body (a summary of the fields for a multipart upload);
 * `authorization` and `api-key` are never kept.
 *
 * @since 4.0.0
 * @category Models
 */
export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  /** Clock time when it arrived, in milliseconds. */
  readonly at: number
  /** The injected fault it got, if any. */
  readonly fault?: Fault["_tag"]
  /** The status it was answered with (absent when the connection was dropped or never answered). */
  readonly status?: number
}

/**
 * A fault for the next matching requests.
 *
 * - `RateLimited`: 429 with OpenAI's envelope and `retry-after` (seconds) and/or `retry-after-ms`.
 * - `ServerError`: a 5xx with OpenAI's envelope.
 * - `Dropped`: the connection drops before the request is handled (nothing changes).
 * - `Timeout`: the request is never answered (the client's timeout fires).
 * - `MalformedBody`: a 200 whose body is not JSON (an HTML page from a proxy).
 * - `TruncatedBody`: the request is handled (a create does create) but the JSON body is cut in half.
 * - `CommitThenDrop`: the request is handled (a create stores its batch), then the connection drops.
 * - `CommitThenTimeout`: the request is handled (a create stores its batch), then never answered: a create in
 *   flight whose batch exists.
 * - `ResetDuringBody`: the connection is reset while the request body is still arriving (nothing is handled). Over
 *   HTTP the server destroys the socket once it has read half of the body, the client still sending; in memory it
 *   is a dropped connection. It is matched on the request's method, path and headers (the body is not read yet),
 *   before faults of other kinds.
 * - `CutDuringBody`: the request is handled and answered, the headers announcing the whole body, then the connection
 *   is reset after half of it: a file download broken off mid-file (a client that reads the body as it arrives has
 *   already seen the first half).
 *
 * @since 4.0.0
 * @category Faults
 */
export type Fault =
  | { readonly _tag: "RateLimited"; readonly retryAfterSeconds?: number; readonly retryAfterMs?: number }
  | { readonly _tag: "ServerError"; readonly status: number }
  | { readonly _tag: "Dropped" }
  | { readonly _tag: "Timeout" }
  | { readonly _tag: "MalformedBody" }
  | { readonly _tag: "TruncatedBody" }
  | { readonly _tag: "CommitThenDrop" }
  | { readonly _tag: "CommitThenTimeout" }
  | { readonly _tag: "ResetDuringBody" }
  | { readonly _tag: "CutDuringBody" }

/**
 * Which requests a fault applies to: a predicate, or a method and a path (a string matches exactly, a RegExp
 * is tested). Default: every request.
 *
 * @since 4.0.0
 * @category Faults
 */
export type RequestMatcher =
  | ((request: SimRequest) => boolean)
  | { readonly method?: string; readonly path?: string | RegExp }

/**
 * @since 4.0.0
 * @category Faults
 */
export interface FaultOptions {
  /** How many matching requests get it. Default 1. */
  readonly times?: number
  readonly match?: RequestMatcher
}

/**
 * One item of a batch's `errors.data`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface ErrorItem {
  readonly code: string
  readonly message: string
  readonly param: string | null
  readonly line: number | null
}

/**
 * How a batch lives. Every field is optional; unset ones come from the simulator's default script, then from
 * `defaultScript`.
 *
 * A batch expires when it is still `in_progress` at `expires_at` (24 hours after creation). With
 * `outcome: "expired"` it always does; unless `inProgress` is set, half of its requests are done by then.
 *
 * @since 4.0.0
 * @category Scripts
 */
export interface Script {
  readonly validating?: Duration.Input
  readonly inProgress?: Duration.Input
  readonly finalizing?: Duration.Input
  readonly cancelling?: Duration.Input
  readonly outcome?: "completed" | "failed" | "expired"
  /** `errors.data` of a batch with `outcome: "failed"`. */
  readonly errors?: ReadonlyArray<ErrorItem>
  /** A status this library does not know (say `"paused"`), shown between `validating` and `in_progress`. */
  readonly unknownStatus?: { readonly status: string; readonly duration: Duration.Input }
  /** The number of requests of a batch whose input file the simulator never saw. */
  readonly requestCount?: number
}

/**
 * One request line of a batch input file (CONTRACT.md appendix C).
 *
 * @since 4.0.0
 * @category Responders
 */
export interface RequestLine {
  readonly custom_id: string
  readonly method: "POST"
  readonly url: string
  readonly body: unknown
}

/**
 * What a responder knows besides the line.
 *
 * @since 4.0.0
 * @category Responders
 */
export interface ResponderContext {
  readonly batchId: string
  /** 0-based position among the batch's requests. */
  readonly index: number
  /** The batch's `created_at`, Unix seconds. */
  readonly createdAt: number
}

/**
 * The answer to one request line: an HTTP response (2xx goes to the output file, anything else to the error
 * file) or an error that never reached an HTTP response (error file, `response: null`).
 *
 * @since 4.0.0
 * @category Responders
 */
export type ResponderResult =
  | { readonly status_code: number; readonly body: unknown }
  | { readonly error: { readonly code: string; readonly message: string } }

/**
 * Decides each request line of a batch. It must be pure: it runs once per line when the batch is created.
 *
 * @since 4.0.0
 * @category Responders
 */
export type Responder = (line: RequestLine, context: ResponderContext) => ResponderResult

/**
 * An enqueued limit: one number for every model, or a number per model. In a per-model map, the key `"*"` is the
 * limit of the models it does not name; without it, those models are unlimited.
 *
 * @since 4.0.0
 * @category Models
 */
export type EnqueuedLimit = number | { readonly [model: string]: number }

/**
 * @since 4.0.0
 * @category Models
 */
export interface Options {
  /** The only key accepted (default `testApiKey`). */
  readonly apiKey?: string
  /** Accept any non-empty key, bearer or `api-key` (the CLI server does). Default false. */
  readonly acceptAnyKey?: boolean
  /** Reject creates whose `input_file_id` was not uploaded with purpose `batch`. Default true. */
  readonly requireInputFile?: boolean
  /** Return the same batch for a repeated `Idempotency-Key` (the real API does not promise it). Default false. */
  readonly honourIdempotencyKey?: boolean
  /** Overrides of `defaultScript` for every batch. */
  readonly script?: Script
  readonly responder?: Responder
  /** The largest upload accepted, in bytes. Default 200 MB. */
  readonly maxFileBytes?: number
  /** Keep a log of requests (default true; benchmarks may turn it off). */
  readonly logRequests?: boolean
  /**
   * The organisation's enqueued-token limit per model (default: unlimited). A batch that passes validation while
   * the model's enqueued tokens plus its own would exceed it fails with `token_limit_exceeded`, as the API does.
   * Tokens are counted with `estimateTokens`.
   */
  readonly enqueuedTokenLimit?: EnqueuedLimit
  /** The same for the number of requests (`request_limit_exceeded`). Default: unlimited. */
  readonly enqueuedRequestLimit?: EnqueuedLimit
  /**
   * What an ended batch without an error file shows as `error_file_id`: `null` (the default), or `""`, as the API
   * has been seen to send.
   */
  readonly absentErrorFileId?: null | ""
}

/**
 * A file held by the simulator.
 *
 * @since 4.0.0
 * @category Models
 */
export interface SimFile {
  readonly id: string
  readonly filename: string
  readonly purpose: string
  /** Unix seconds. */
  readonly created_at: number
  readonly expires_at: number | null
  readonly content: Uint8Array
}

/**
 * How to seed batches directly (no requests). A seeded batch shows `status` at Clock now and lives on from
 * there like any other: an `in_progress` one completes on the default script, a `cancelling` one becomes
 * `cancelled`. One in a terminal status ended by now; an `expired` one was created a day before its place.
 *
 * @since 4.0.0
 * @category Models
 */
export interface SeedOptions {
  readonly count: number
  /** Default `completed`. */
  readonly status?: Batch.KnownBatchStatus
  /** Default `/v1/chat/completions`. */
  readonly endpoint?: Batch.KnownEndpoint
  /** Seconds between consecutive `created_at`s; the newest is created at Clock now. Default 60. */
  readonly spacingSeconds?: number
  readonly metadata?: Readonly<Record<string, string>>
}

/**
 * The simulator: its HTTP entry point and the handles tests use to script it and look inside.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Simulator {
  /** Answers one request (both the `HttpClient` and the HTTP server call this). */
  readonly handle: (request: SimRequest) => Effect.Effect<SimResponse>
  /** Every request so far, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  readonly clearRequests: Effect.Effect<void>
  /** The next `times` (default 1) requests that match get `fault`. Faults queue in the order injected. */
  readonly injectFault: (fault: Fault, options?: FaultOptions) => Effect.Effect<void>
  readonly clearFaults: Effect.Effect<void>
  /** Changes the script of every batch created from now on (merged over the current default). */
  readonly setDefaultScript: (script: Script) => Effect.Effect<void>
  /** The next created batch gets this script (queued: call twice for the next two). */
  readonly scriptNext: (script: Script) => Effect.Effect<void>
  /**
   * Changes the script of an existing batch; its timeline is recomputed from its creation time (an enqueued-limit
   * decision already taken stays).
   */
  readonly scriptBatch: (batchId: string, script: Script) => Effect.Effect<void, Model.NoSuchBatchError>
  /** Adds `count` batches directly, oldest first; returns their ids. */
  readonly seed: (options: SeedOptions) => Effect.Effect<ReadonlyArray<string>>
  /** A batch as `GET /v1/batches/{id}` would return it now. */
  readonly batch: (batchId: string) => Effect.Effect<Option.Option<Batch.Batch>>
  /** A file with its content. */
  readonly file: (fileId: string) => Effect.Effect<Option.Option<SimFile>>
  /** Stores a file directly, as an upload would (purpose default `batch`). */
  readonly putFile: (options: {
    readonly content: string | Uint8Array
    readonly filename?: string
    readonly purpose?: string
  }) => Effect.Effect<SimFile>
  /** What `model` has enqueued at Clock now (what the enqueued limits are checked against). */
  readonly enqueued: (model: string) => Effect.Effect<Enqueued>
  /** An upload of the Uploads API, as it stands at Clock now. */
  readonly upload: (uploadId: string) => Effect.Effect<Option.Option<SimUpload>>
}

/**
 * An upload of the Uploads API as the simulator holds it (`Simulator.upload`). `parts` and `bytesReceived` count
 * the parts still held: a completed or cancelled upload holds none (a completed one's bytes are its file,
 * `fileId`).
 *
 * @since 4.0.0
 * @category Models
 */
export interface SimUpload {
  readonly id: string
  readonly filename: string
  readonly purpose: string
  /** The size the upload was created for. */
  readonly bytes: number
  readonly mime_type: string
  /** `pending`, `completed`, `cancelled`, or `expired` (a pending upload an hour after its creation). */
  readonly status: string
  readonly parts: number
  readonly bytesReceived: number
  /** The file its completion made. */
  readonly fileId: string | undefined
}

/**
 * The default script: validating 30 s, in progress 5 min, finalizing 30 s, cancelling 2 min, completed, 100
 * requests for a batch without an uploaded input file.
 *
 * @since 4.0.0
 * @category Scripts
 */
export const defaultScript: typeof Model.defaultScript = Model.defaultScript satisfies Script

export {
  /**
   * A batch the simulator does not hold.
   *
   * @since 4.0.0
   * @category Errors
   */
  NoSuchBatchError,
  /**
   * The key `layerBatchApi` configures and the simulator accepts by default.
   *
   * @since 4.0.0
   * @category Constants
   */
  testApiKey
} from "./internal/model.js"

/**
 * What a model has enqueued (`Simulator.enqueued`): the tokens and requests of its batches that passed validation and have not ended.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Enqueued {
  readonly tokens: number
  readonly requests: number
  readonly batches: number
}

// ---------------------------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------------------------

/**
 * A 429. Without options it sends `retry-after: 1`.
 *
 * @since 4.0.0
 * @category Faults
 */
export const rateLimited: (
  options?: { readonly retryAfterSeconds?: number; readonly retryAfterMs?: number }
) => Fault = Faults.rateLimited

/**
 * A 5xx (default 500).
 *
 * @since 4.0.0
 * @category Faults
 */
export const serverError: (status?: number) => Fault = Faults.serverError

/**
 * The connection drops before the request is handled.
 *
 * @since 4.0.0
 * @category Faults
 */
export const dropConnection: Fault = Faults.dropConnection

/**
 * The connection is reset while the request body is still arriving: over HTTP, mid-upload.
 *
 * @since 4.0.0
 * @category Faults
 */
export const resetDuringBody: Fault = Faults.resetDuringBody

/**
 * The request is handled and answered, the headers announcing the whole body, then the connection is reset after
 * half of it: a results file download broken off mid-file. Match it on a file's content
 * (`{ method: "GET", path: /\/content$/ }`).
 *
 * @since 4.0.0
 * @category Faults
 */
export const cutDuringBody: Model.Fault = Faults.cutDuringBody

/**
 * The request is never answered.
 *
 * @since 4.0.0
 * @category Faults
 */
export const timeout: Fault = Faults.timeout

/**
 * A 200 whose body is not JSON.
 *
 * @since 4.0.0
 * @category Faults
 */
export const malformedBody: Fault = Faults.malformedBody

/**
 * The request is handled, but its JSON answer is cut in half.
 *
 * @since 4.0.0
 * @category Faults
 */
export const truncatedBody: Fault = Faults.truncatedBody

/**
 * The request is handled (a create stores its batch), then the connection drops: the client cannot know.
 *
 * @since 4.0.0
 * @category Faults
 */
export const commitThenDrop: Fault = Faults.commitThenDrop

/**
 * The request is handled (a create stores its batch), then never answered: the client's request stays in flight
 * (until its timeout) while its batch exists.
 *
 * @since 4.0.0
 * @category Faults
 */
export const commitThenTimeout: Fault = Faults.commitThenTimeout

// ---------------------------------------------------------------------------------------------------------------
// Responders and token counts
// ---------------------------------------------------------------------------------------------------------------

/**
 * The default responder: plausible `chat.completion`, embedding (a small deterministic unit vector), `response`,
 * completion and moderation bodies, with `usage`; a request without `model` gets the API's 400.
 *
 * @since 4.0.0
 * @category Responders
 */
export const defaultResponder: Responder = Responders.defaultResponder

/**
 * The simulator's token count of one request line, what `enqueuedTokenLimit` counts (a batch counts the sum over
 * its lines): `ceil(characters of the prompt text / 4)` + token ids given as numbers + `max_tokens ??
 * max_completion_tokens ?? max_output_tokens ?? 0`. The prompt text is chat `messages[].content` (strings, or the
 * `text` of text parts), embeddings and moderations `input` (strings, or token-id arrays), responses `input` (a
 * string, or its items' `content`/`text`) and completions `prompt`. It is deliberately a little LESS than a
 * conservative client estimate, so such a client stays under a limit the simulator enforces.
 *
 * @since 4.0.0
 * @category Responders
 */
export const estimateTokens: (line: RequestLine) => number = Tokens.estimateTokens

// ---------------------------------------------------------------------------------------------------------------
// Constructors and layers
// ---------------------------------------------------------------------------------------------------------------

/**
 * @since 4.0.0
 * @category Context
 */
export class BatchApiSimulator
  extends Context.Service<BatchApiSimulator, Simulator>()("effect-openai-batch/testing/BatchApiSimulator")
{}

/**
 * Builds a simulator with empty state.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make: (options?: Options) => Effect.Effect<Simulator> = Simulator_.make

/**
 * An `HttpClient` that answers from the simulator. A dropped connection fails with an `HttpClientError` whose
 * reason is a `TransportError`; a timeout never answers (the caller's timeout fires, on `TestClock` too).
 *
 * @since 4.0.0
 * @category Constructors
 */
export const httpClient: (simulator: Simulator) => HttpClient.HttpClient = HttpClientInternal.make

/**
 * A `Clock` running `speed` times faster than the real one from now on (its time starts at the real time), for
 * serving the simulator with hours of batch time passing in minutes. Provide it as the `Clock.Clock` reference
 * (`Effect.provideService(effect, Clock.Clock, clock)`).
 *
 * @since 4.0.0
 * @category Constructors
 */
export const acceleratedClock: (speed: number, origin?: number) => Clock.Clock = ClockInternal.accelerated

/**
 * The simulator and an `HttpClient` routed to it: provide it under `BatchApi.layer` (or anything else that uses
 * `HttpClient`).
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<BatchApiSimulator | HttpClient.HttpClient> =>
  Layer.effectContext(
    Effect.map(Simulator_.make(options), (simulator) =>
      Context.make(BatchApiSimulator, simulator).pipe(
        Context.add(HttpClient.HttpClient, HttpClientInternal.make(simulator))
      ))
  )

/**
 * Options of `layerBatchApi`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface BatchApiOptions extends Options {
  /** Settings of the client (the key is always `testApiKey`; use `layer` for another). */
  readonly config?: Omit<OpenAiConfig.Options, "apiKey">
}

/**
 * The full stack a test swaps in: `BatchApi`, `OpenAiFiles`, `OpenAiUploads` and a jobs ledger (`JobBudget.Ledger`)
 * over the simulator's `HttpClient`, with an `OpenAiConfig` holding `testApiKey`: the services the Effect 3
 * edition's `BatchClient.layer` gives, and `OpenAiUploads`. The simulator is in context too, to script it and read
 * its log.
 *
 * @example
 * ```ts
 * import { Effect, Fiber } from "effect"
 * import { TestClock } from "effect/testing"
 * import { BatchApi, BatchWait } from "effect-openai-batch"
 * import * as BatchApiSimulator from "effect-openai-batch/testing/BatchApiSimulator"
 *
 * const program = Effect.gen(function*() {
 *   const simulator = yield* BatchApiSimulator.BatchApiSimulator
 *   yield* simulator.setDefaultScript({ inProgress: "6 hours", requestCount: 500 })
 *   const batch = yield* BatchApi.createBatch({
 *     input_file_id: "file-any",
 *     endpoint: "/v1/chat/completions",
 *     completion_window: "24h"
 *   })
 *   const fiber = yield* Effect.forkChild(BatchWait.awaitCompleted(batch.id))
 *   yield* TestClock.adjust("7 hours") // 7 hours of batch time, no real waiting
 *   return yield* Fiber.join(fiber)
 * })
 *
 * // any input file id
 * const TestApi = BatchApiSimulator.layerBatchApi({ requireInputFile: false })
 * ```
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerBatchApi = (
  options: BatchApiOptions = {}
): Layer.Layer<
  BatchApi.BatchApi | OpenAiFiles.OpenAiFiles | OpenAiUploads.OpenAiUploads | JobBudget.Ledger | BatchApiSimulator,
  Config.ConfigError
> => {
  const { config, ...simulatorOptions } = options
  return Layer.mergeAll(BatchApi.layer, OpenAiFiles.layer, OpenAiUploads.layer, JobBudget.layer).pipe(
    Layer.provide(
      OpenAiConfig.layer({ ...config, apiKey: Redacted.make(simulatorOptions.apiKey ?? Model.testApiKey) })
    ),
    Layer.provideMerge(layer(simulatorOptions))
  )
}
