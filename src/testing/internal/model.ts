/**
 * The simulator's vocabulary: requests and responses as it sees them, faults, scripts, responders, options and the
 * `Simulator` handle. Pure types and constants, imported by every other piece, so that no piece needs the public
 * module (which assembles them) and no import cycle forms. Users get these names from `BatchApiSimulator`.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Batch from "../../Batch.js"
import type { SimUpload } from "../BatchApiSimulator.js"

// ---------------------------------------------------------------------------------------------------------------
// Requests and responses
// ---------------------------------------------------------------------------------------------------------------

/**
 * One HTTP request as the simulator sees it, whatever transport carried it.
 *
 * @since 0.1.0
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
 * @since 0.1.0
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
 * `authorization` is never kept.
 *
 * @since 0.1.0
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

// ---------------------------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------------------------

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
 * @since 0.1.0
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
 * @since 0.1.0
 * @category Faults
 */
export type RequestMatcher =
  | ((request: SimRequest) => boolean)
  | { readonly method?: string; readonly path?: string | RegExp }

/**
 * @since 0.1.0
 * @category Faults
 */
export interface FaultOptions {
  /** How many matching requests get it. Default 1. */
  readonly times?: number
  readonly match?: RequestMatcher
}

// ---------------------------------------------------------------------------------------------------------------
// Scripts and responders
// ---------------------------------------------------------------------------------------------------------------

/**
 * One item of a batch's `errors.data`.
 *
 * @since 0.1.0
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
 * @since 0.1.0
 * @category Scripts
 */
export interface Script {
  readonly validating?: Duration.DurationInput
  readonly inProgress?: Duration.DurationInput
  readonly finalizing?: Duration.DurationInput
  readonly cancelling?: Duration.DurationInput
  readonly outcome?: "completed" | "failed" | "expired"
  /** `errors.data` of a batch with `outcome: "failed"`. */
  readonly errors?: ReadonlyArray<ErrorItem>
  /** A status this library does not know (say `"paused"`), shown between `validating` and `in_progress`. */
  readonly unknownStatus?: { readonly status: string; readonly duration: Duration.DurationInput }
  /** The number of requests of a batch whose input file the simulator never saw. */
  readonly requestCount?: number
}

/**
 * The default script: validating 30 s, in progress 5 min, finalizing 30 s, cancelling 2 min, completed, 100
 * requests for a batch without an uploaded input file.
 *
 * @since 0.1.0
 * @category Scripts
 */
export const defaultScript = {
  validating: Duration.seconds(30),
  inProgress: Duration.minutes(5),
  finalizing: Duration.seconds(30),
  cancelling: Duration.minutes(2),
  outcome: "completed",
  requestCount: 100
} as const satisfies Script

/**
 * One request line of a batch input file (CONTRACT.md appendix C).
 *
 * @since 0.1.0
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
 * @since 0.1.0
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
 * @since 0.1.0
 * @category Responders
 */
export type ResponderResult =
  | { readonly status_code: number; readonly body: unknown }
  | { readonly error: { readonly code: string; readonly message: string } }

/**
 * Decides each request line of a batch. It must be pure: it runs once per line when the batch is created.
 *
 * @since 0.1.0
 * @category Responders
 */
export type Responder = (line: RequestLine, context: ResponderContext) => ResponderResult

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

/**
 * The key `layerBatchApi` configures and the simulator accepts by default.
 *
 * @since 0.1.0
 * @category Constants
 */
export const testApiKey = "sk-simulator-test-key"

/**
 * The organisation the simulator answers as (`openai-organization`, and the enqueued-limit messages).
 *
 * @since 0.2.0
 * @category Constants
 */
export const organization = "org-simulator"

/**
 * An enqueued limit: one number for every model, or a number per model. In a per-model map, the key `"*"` is the
 * limit of the models it does not name; without it, those models are unlimited.
 *
 * @since 0.2.0
 * @category Models
 */
export type EnqueuedLimit = number | { readonly [model: string]: number }

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The only key accepted (default `testApiKey`). */
  readonly apiKey?: string
  /** Accept any non-empty bearer key (the CLI server does). Default false. */
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
 * @since 0.1.0
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
 * @since 0.1.0
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
 * What a model has enqueued: the tokens and requests of its batches that passed validation and have not ended.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Enqueued {
  readonly tokens: number
  readonly requests: number
  readonly batches: number
}

/**
 * A batch the simulator does not hold.
 *
 * @since 0.1.0
 * @category Errors
 */
export class NoSuchBatchError extends Schema.TaggedError<NoSuchBatchError>(
  "effect-openai-batch/testing/BatchApiSimulator/NoSuchBatchError"
)("NoSuchBatchError", { batchId: Schema.String, message: Schema.String }) {}

/**
 * The simulator: its HTTP entry point and the handles tests use to script it and look inside.
 *
 * @since 0.1.0
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
  readonly scriptBatch: (batchId: string, script: Script) => Effect.Effect<void, NoSuchBatchError>
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
