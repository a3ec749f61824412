/**
 * An in-memory, stateful simulation of the OpenAI Batch and Files APIs, for tests and demos. It plugs in as the
 * `HttpClient` layer, so a test exercises the library's real request encoding, error mapping and decoding: swap
 * `layerBatchApi()` in for `BatchApi.layerFromEnv` and drive time with `TestClock`.
 *
 * - It enforces the contract as the real API does: bearer auth, create validation with OpenAI-style 400s naming
 *   `param`, 404s, list order newest first with `after`/`limit` rules, the cancel rules, and an `x-request-id`
 *   on every response.
 * - A batch's lifecycle is a pure function of its script, its creation and cancel times and `Clock` now: no
 *   background fiber runs, so under `TestClock` hours of batch time pass in milliseconds.
 * - Faults (429, 5xx, dropped connections, timeouts, broken bodies, a create that commits and then drops) are
 *   queued for the next matching requests; every request is logged.
 * - Uploaded JSONL files are validated line by line; a `responder` answers each request line and finished
 *   batches get output and error files in the official line format (partial ones on cancel and expiry).
 *
 * `handle` is the one entry point: the `HttpClient` here and the real HTTP server in
 * `effect-openai-batch/testing/server` both call it, so they behave the same.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Batch from "../Batch.js"
import * as BatchApi from "../BatchApi.js"
import * as OpenAiFiles from "../OpenAiFiles.js"
import * as OpenAiConfig from "../OpenAiConfig.js"
import * as Lines from "./internal/lines.js"
import * as Multipart from "./internal/multipart.js"

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

/**
 * A 429. Without options it sends `retry-after: 1`.
 *
 * @since 0.1.0
 * @category Faults
 */
export const rateLimited = (
  options: { readonly retryAfterSeconds?: number; readonly retryAfterMs?: number } = { retryAfterSeconds: 1 }
): Fault => ({ _tag: "RateLimited", ...options })

/**
 * A 5xx (default 500).
 *
 * @since 0.1.0
 * @category Faults
 */
export const serverError = (status = 500): Fault => ({ _tag: "ServerError", status })

/**
 * The connection drops before the request is handled.
 *
 * @since 0.1.0
 * @category Faults
 */
export const dropConnection: Fault = { _tag: "Dropped" }

/**
 * The request is never answered.
 *
 * @since 0.1.0
 * @category Faults
 */
export const timeout: Fault = { _tag: "Timeout" }

/**
 * A 200 whose body is not JSON.
 *
 * @since 0.1.0
 * @category Faults
 */
export const malformedBody: Fault = { _tag: "MalformedBody" }

/**
 * The request is handled, but its JSON answer is cut in half.
 *
 * @since 0.1.0
 * @category Faults
 */
export const truncatedBody: Fault = { _tag: "TruncatedBody" }

/**
 * The request is handled (a create stores its batch), then the connection drops: the client cannot know.
 *
 * @since 0.1.0
 * @category Faults
 */
export const commitThenDrop: Fault = { _tag: "CommitThenDrop" }

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

/**
 * The default responder: plausible `chat.completion`, embedding (a small deterministic unit vector), `response`,
 * completion and moderation bodies; a request without `model` gets the API's 400.
 *
 * @since 0.1.0
 * @category Responders
 */
export const defaultResponder: Responder = Lines.defaultResponder

// ---------------------------------------------------------------------------------------------------------------
// Options and the service
// ---------------------------------------------------------------------------------------------------------------

/**
 * The key `layerBatchApi` configures and the simulator accepts by default.
 *
 * @since 0.1.0
 * @category Constants
 */
export const testApiKey = "sk-simulator-test-key"

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
 * How to seed batches directly (no requests, no lifecycle: seeded batches are fixed snapshots).
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
  /** Changes the script of an existing batch; its timeline is recomputed from its creation time. */
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
}

/**
 * @since 0.1.0
 * @category Context
 */
export class BatchApiSimulator
  extends Context.Tag("effect-openai-batch/testing/BatchApiSimulator")<BatchApiSimulator, Simulator>()
{}

// ---------------------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------------------

interface ResolvedScript {
  readonly validatingMs: number
  readonly inProgressMs: number | undefined
  readonly finalizingMs: number
  readonly cancellingMs: number
  readonly outcome: "completed" | "failed" | "expired"
  readonly errors: ReadonlyArray<ErrorItem> | undefined
  readonly unknownStatus: { readonly status: string; readonly ms: number } | undefined
}

interface LiveBatch {
  readonly _tag: "Live"
  readonly id: string
  readonly seq: number
  readonly endpoint: string
  readonly inputFileId: string
  readonly metadata: Readonly<Record<string, string>> | null
  readonly outputExpiresAfter: number | undefined
  readonly createdAtMs: number
  readonly script: Script
  readonly cancelRequestedAtMs: number | undefined
  readonly lines: ReadonlyArray<RequestLine>
  readonly results: ReadonlyArray<ResponderResult>
  /** okPrefix[k] = successful results among the first k. */
  readonly okPrefix: ReadonlyArray<number>
  readonly validationErrors: ReadonlyArray<ErrorItem>
  readonly model: string | undefined
  readonly outputFileId: string | null
  readonly errorFileId: string | null
}

interface SeededBatch {
  readonly _tag: "Seeded"
  readonly id: string
  readonly seq: number
  readonly wire: Readonly<Record<string, unknown>>
}

type StoredBatch = LiveBatch | SeededBatch

interface StoredFile extends SimFile {
  readonly seq: number
}

interface PendingFault {
  readonly fault: Fault
  readonly remaining: number
  readonly match: RequestMatcher | undefined
}

interface State {
  readonly batches: HashMap.HashMap<string, StoredBatch>
  /** Batch ids by creation, oldest first: `order[batch.seq] === batch.id`. */
  readonly order: ReadonlyArray<string>
  readonly files: HashMap.HashMap<string, StoredFile>
  /** Live batches whose end (and result files) has not been reached yet. */
  readonly pending: ReadonlyArray<string>
  /** Numbers batch and file ids. */
  readonly counter: number
  /** Numbers `x-request-id`s. */
  readonly requests: number
  readonly faults: ReadonlyArray<PendingFault>
  /** A Chunk: appends stay cheap over a long benchmark. */
  readonly log: Chunk.Chunk<LoggedRequest>
  readonly defaultScript: Script
  readonly nextScripts: ReadonlyArray<Script>
  readonly idempotency: HashMap.HashMap<string, string>
}

const dayMs = 24 * 60 * 60 * 1000
const encoder = new TextEncoder()
const decoder = new TextDecoder()
const seconds = (ms: number) => Math.floor(ms / 1000)
const toMs = (input: Duration.DurationInput) => Duration.toMillis(Duration.decode(input))

const resolve = (script: Script): ResolvedScript => ({
  validatingMs: toMs(script.validating ?? defaultScript.validating),
  inProgressMs: script.inProgress === undefined ? undefined : toMs(script.inProgress),
  finalizingMs: toMs(script.finalizing ?? defaultScript.finalizing),
  cancellingMs: toMs(script.cancelling ?? defaultScript.cancelling),
  outcome: script.outcome ?? defaultScript.outcome,
  errors: script.errors,
  unknownStatus: script.unknownStatus === undefined
    ? undefined
    : { status: script.unknownStatus.status, ms: toMs(script.unknownStatus.duration) }
})

// ---------------------------------------------------------------------------------------------------------------
// The lifecycle: a pure function of the script, the creation and cancel times, and now
// ---------------------------------------------------------------------------------------------------------------

interface Phase {
  readonly status: string
  readonly terminal: boolean
  /** Requests processed (their results are final). */
  readonly processed: number
  readonly total: number
  readonly inProgressAt: number | undefined
  readonly finalizingAt: number | undefined
  readonly completedAt: number | undefined
  readonly failedAt: number | undefined
  readonly expiredAt: number | undefined
  readonly cancellingAt: number | undefined
  readonly cancelledAt: number | undefined
  /** When the batch ended (the creation time of its result files). */
  readonly endedAt: number | undefined
}

const phaseAt = (batch: LiveBatch, now: number): Phase => {
  const script = resolve(batch.script)
  const n = batch.lines.length
  const created = batch.createdAtMs
  const expires = created + dayMs
  const validatingEnd = created + script.validatingMs
  const failing = script.outcome === "failed" || batch.validationErrors.length > 0
  const inProgressStart = validatingEnd + (script.unknownStatus?.ms ?? 0)
  const inProgressMs = script.outcome === "expired"
    ? script.inProgressMs ?? 2 * Math.max(0, expires - inProgressStart)
    : script.inProgressMs ?? toMs(defaultScript.inProgress)
  const inProgressEnd = inProgressStart + inProgressMs
  const finalizingEnd = inProgressEnd + script.finalizingMs
  const natural = failing
    ? { status: "failed", at: validatingEnd }
    : script.outcome === "expired" || inProgressEnd > expires
    ? { status: "expired", at: expires }
    : { status: "completed", at: finalizingEnd }
  const processedAt = (t: number) =>
    t < inProgressStart
      ? 0
      : inProgressMs <= 0
      ? n
      : Math.min(n, Math.floor((n * (t - inProgressStart)) / inProgressMs))
  const cancelAt = batch.cancelRequestedAtMs
  // The time up to which the batch ran normally.
  const runUntil = Math.min(now, cancelAt ?? now, natural.at)
  const reached = (t: number) => (runUntil >= t ? t : undefined)
  const base = {
    inProgressAt: failing ? undefined : reached(inProgressStart),
    finalizingAt: failing || natural.status === "expired" ? undefined : reached(inProgressEnd),
    completedAt: undefined,
    failedAt: undefined,
    expiredAt: undefined,
    cancellingAt: undefined,
    cancelledAt: undefined,
    endedAt: undefined
  }
  if (cancelAt !== undefined && now >= cancelAt) {
    const cancelledAt = cancelAt + script.cancellingMs
    const processed = failing ? 0 : cancelAt >= inProgressEnd ? n : processedAt(cancelAt)
    const done = now >= cancelledAt
    return {
      ...base,
      status: done ? "cancelled" : "cancelling",
      terminal: done,
      processed,
      total: cancelAt >= validatingEnd && !failing ? n : 0,
      cancellingAt: cancelAt,
      cancelledAt: done ? cancelledAt : undefined,
      endedAt: done ? cancelledAt : undefined
    }
  }
  if (now >= natural.at) {
    switch (natural.status) {
      case "failed":
        return { ...base, status: "failed", terminal: true, processed: 0, total: 0, failedAt: natural.at, endedAt: natural.at }
      case "expired":
        return {
          ...base,
          status: "expired",
          terminal: true,
          processed: processedAt(natural.at),
          total: natural.at >= validatingEnd ? n : 0,
          expiredAt: natural.at,
          endedAt: natural.at
        }
      default:
        return { ...base, status: "completed", terminal: true, processed: n, total: n, completedAt: natural.at, endedAt: natural.at }
    }
  }
  const status = now < validatingEnd
    ? "validating"
    : now < inProgressStart
    ? script.unknownStatus?.status ?? "in_progress"
    : now < inProgressEnd
    ? "in_progress"
    : "finalizing"
  return { ...base, status, terminal: false, processed: processedAt(now), total: now >= validatingEnd ? n : 0 }
}

const wireBatch = (batch: StoredBatch, now: number): Record<string, unknown> => {
  if (batch._tag === "Seeded") return batch.wire
  const phase = phaseAt(batch, now)
  const ok = batch.okPrefix[phase.processed] ?? 0
  const script = resolve(batch.script)
  const errors = phase.status === "failed"
    ? batch.validationErrors.length > 0
      ? batch.validationErrors
      : script.errors ?? [{ code: "invalid_request", message: "The batch failed validation (scripted).", param: null, line: null }]
    : undefined
  const at = (ms: number | undefined) => (ms === undefined ? null : seconds(ms))
  return {
    id: batch.id,
    object: "batch",
    endpoint: batch.endpoint,
    model: batch.model ?? null,
    errors: errors === undefined ? null : { object: "list", data: errors },
    input_file_id: batch.inputFileId,
    completion_window: "24h",
    status: phase.status,
    output_file_id: phase.terminal ? batch.outputFileId : null,
    error_file_id: phase.terminal ? batch.errorFileId : null,
    created_at: seconds(batch.createdAtMs),
    in_progress_at: at(phase.inProgressAt),
    expires_at: seconds(batch.createdAtMs + dayMs),
    finalizing_at: at(phase.finalizingAt),
    completed_at: at(phase.completedAt),
    failed_at: at(phase.failedAt),
    expired_at: at(phase.expiredAt),
    cancelling_at: at(phase.cancellingAt),
    cancelled_at: at(phase.cancelledAt),
    request_counts: { total: phase.total, completed: ok, failed: phase.processed - ok },
    metadata: batch.metadata
  }
}

const isOk = (result: ResponderResult) => "status_code" in result && result.status_code >= 200 && result.status_code < 300

/** Writes the result files of batches that ended, so that file ids are stable once a batch is terminal. */
const settle = (state: State, now: number): State => {
  if (state.pending.length === 0) return state
  let batches = state.batches
  let files = state.files
  let counter = state.counter
  const pending: Array<string> = []
  for (const id of state.pending) {
    const batch = Option.getOrUndefined(HashMap.get(batches, id))
    if (batch === undefined || batch._tag !== "Live") continue
    const phase = phaseAt(batch, now)
    if (!phase.terminal) {
      pending.push(id)
      continue
    }
    if (phase.status === "failed") continue
    const output: Array<string> = []
    const errors: Array<string> = []
    for (let index = 0; index < phase.processed; index++) {
      const line = batch.lines[index]
      const result = batch.results[index]
      if (line === undefined || result === undefined) continue
      const ids = Lines.outputIds(batch.id, index)
      const text = JSON.stringify(
        "error" in result
          ? { id: ids.id, custom_id: line.custom_id, response: null, error: result.error }
          : {
            id: ids.id,
            custom_id: line.custom_id,
            response: { status_code: result.status_code, request_id: ids.requestId, body: result.body },
            error: null
          }
      )
      if (isOk(result)) output.push(text)
      else errors.push(text)
    }
    const createdAt = seconds(phase.endedAt ?? now)
    const expiresAt = batch.outputExpiresAfter === undefined ? null : createdAt + batch.outputExpiresAfter
    const write = (kind: string, content: ReadonlyArray<string>): string | null => {
      if (content.length === 0) return null
      counter++
      const file: StoredFile = {
        id: fileId(counter),
        filename: `${batch.id}_${kind}.jsonl`,
        purpose: "batch_output",
        created_at: createdAt,
        expires_at: expiresAt,
        content: encoder.encode(`${content.join("\n")}\n`),
        seq: counter
      }
      files = HashMap.set(files, file.id, file)
      return file.id
    }
    const outputFileId = write("output", output)
    const errorFileId = write("error", errors)
    batches = HashMap.set(batches, id, { ...batch, outputFileId, errorFileId })
  }
  return { ...state, batches, files, counter, pending }
}

// ---------------------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------------------

const requestIdOf = (n: number) => `req_sim_${n.toString(16).padStart(12, "0")}`
const batchId = (n: number) => `batch_sim_${n.toString(36).padStart(8, "0")}`
const fileId = (n: number) => `file-sim${n.toString(36).padStart(8, "0")}`

type Answer = { readonly status: number; readonly body: Uint8Array; readonly contentType: string }

const json = (status: number, value: unknown): Answer => ({
  status,
  body: encoder.encode(JSON.stringify(value)),
  contentType: "application/json"
})

const apiError = (
  status: number,
  message: string,
  options: { readonly type?: string; readonly param?: string | null; readonly code?: string | null } = {}
): Answer =>
  json(status, {
    error: {
      message,
      type: options.type ?? "invalid_request_error",
      param: options.param ?? null,
      code: options.code ?? null
    }
  })

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const parseJsonBody = (body: Uint8Array): { readonly ok: true; readonly value: unknown } | { readonly ok: false } => {
  try {
    return { ok: true, value: JSON.parse(decoder.decode(body)) }
  } catch {
    return { ok: false }
  }
}

const matches = (matcher: RequestMatcher | undefined, request: SimRequest) => {
  if (matcher === undefined) return true
  if (typeof matcher === "function") return matcher(request)
  if (matcher.method !== undefined && matcher.method.toUpperCase() !== request.method.toUpperCase()) return false
  if (matcher.path === undefined) return true
  return typeof matcher.path === "string" ? matcher.path === request.path : matcher.path.test(request.path)
}

const takeFault = (state: State, request: SimRequest): readonly [Fault | undefined, State] => {
  const index = state.faults.findIndex((pending) => matches(pending.match, request))
  const pending = state.faults[index]
  if (pending === undefined) return [undefined, state]
  const faults = pending.remaining > 1
    ? state.faults.map((f, i) => (i === index ? { ...f, remaining: f.remaining - 1 } : f))
    : state.faults.filter((_, i) => i !== index)
  return [pending.fault, { ...state, faults }]
}

const logBody = (request: SimRequest): unknown => {
  if (request.body.length === 0) return undefined
  const boundary = Multipart.boundaryOf(request.headers["content-type"])
  if (boundary !== undefined) {
    const parts = Multipart.parse(request.body, boundary)
    if (typeof parts === "string") return undefined
    return Object.fromEntries(parts.map((part) =>
      part.filename === undefined
        ? [part.name, Multipart.text(part)]
        : [part.name, { filename: part.filename, bytes: part.data.length }]
    ))
  }
  const parsed = parseJsonBody(request.body)
  return parsed.ok ? parsed.value : decoder.decode(request.body)
}

// ---------------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------------

interface Env {
  readonly options: Options
  readonly responder: Responder
  readonly now: number
  readonly request: SimRequest
}

type Step = readonly [Answer, State]

const endpoints: ReadonlySet<string> = new Set(Batch.knownEndpoints)
const filePurposes: ReadonlySet<string> = new Set(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"])
const createFields: ReadonlySet<string> = new Set([
  "input_file_id",
  "endpoint",
  "completion_window",
  "metadata",
  "output_expires_after"
])

const validateCreate = (body: unknown): Answer | undefined => {
  if (!isRecord(body)) return apiError(400, "The request body must be a JSON object.")
  for (const key of Object.keys(body)) {
    if (!createFields.has(key)) return apiError(400, `Unrecognized request argument supplied: ${key}`, { param: key })
  }
  const missing = (param: string) =>
    apiError(400, `Missing required parameter: '${param}'.`, { param, code: "missing_required_parameter" })
  const { completion_window, endpoint, input_file_id, metadata, output_expires_after } = body
  if (input_file_id === undefined) return missing("input_file_id")
  if (typeof input_file_id !== "string" || input_file_id.length === 0) {
    return apiError(400, "Invalid type for 'input_file_id': expected a non-empty string.", {
      param: "input_file_id",
      code: "invalid_type"
    })
  }
  if (endpoint === undefined) return missing("endpoint")
  if (typeof endpoint !== "string" || !endpoints.has(endpoint)) {
    return apiError(
      400,
      `Invalid value for 'endpoint': expected one of ${[...endpoints].map((e) => `'${e}'`).join(", ")}.`,
      { param: "endpoint", code: "invalid_value" }
    )
  }
  if (completion_window === undefined) return missing("completion_window")
  if (completion_window !== "24h") {
    return apiError(400, "Invalid value for 'completion_window': only '24h' is supported.", {
      param: "completion_window",
      code: "invalid_value"
    })
  }
  if (metadata !== undefined && metadata !== null) {
    if (!isRecord(metadata)) {
      return apiError(400, "Invalid type for 'metadata': expected an object.", { param: "metadata", code: "invalid_type" })
    }
    const keys = Object.keys(metadata)
    if (keys.length > 16) {
      return apiError(400, `Invalid 'metadata': too many properties. Expected at most 16, got ${keys.length}.`, {
        param: "metadata",
        code: "object_above_max_properties"
      })
    }
    for (const key of keys) {
      const value = metadata[key]
      if (key.length > 64) {
        return apiError(400, "Invalid 'metadata': a key is longer than 64 characters.", {
          param: "metadata",
          code: "string_above_max_length"
        })
      }
      if (typeof value !== "string") {
        return apiError(400, `Invalid type for 'metadata.${key}': expected a string.`, {
          param: `metadata.${key}`,
          code: "invalid_type"
        })
      }
      if (value.length > 512) {
        return apiError(400, `Invalid 'metadata.${key}': string too long. Expected at most 512 characters.`, {
          param: `metadata.${key}`,
          code: "string_above_max_length"
        })
      }
    }
  }
  if (output_expires_after !== undefined && output_expires_after !== null) {
    if (!isRecord(output_expires_after)) {
      return apiError(400, "Invalid type for 'output_expires_after': expected an object.", {
        param: "output_expires_after",
        code: "invalid_type"
      })
    }
    if (output_expires_after["anchor"] !== "created_at") {
      return apiError(400, "Invalid value for 'output_expires_after.anchor': only 'created_at' is supported.", {
        param: "output_expires_after.anchor",
        code: "invalid_value"
      })
    }
    const s = output_expires_after["seconds"]
    if (typeof s !== "number" || !Number.isInteger(s) || s < 3600 || s > 2_592_000) {
      return apiError(400, "Invalid 'output_expires_after.seconds': expected an integer between 3600 and 2592000.", {
        param: "output_expires_after.seconds",
        code: "invalid_value"
      })
    }
  }
  return undefined
}

const createBatch = (state: State, env: Env): Step => {
  const parsed = parseJsonBody(env.request.body)
  if (!parsed.ok) {
    return [
      apiError(400, "We could not parse the JSON body of your request. (HINT: send valid JSON.)"),
      state
    ]
  }
  const invalid = validateCreate(parsed.value)
  if (invalid !== undefined || !isRecord(parsed.value)) return [invalid ?? apiError(400, "Invalid body."), state]
  const body = parsed.value
  const endpoint = String(body["endpoint"])
  const inputFileId = String(body["input_file_id"])
  const idempotencyKey = env.request.headers["idempotency-key"]
  if (env.options.honourIdempotencyKey === true && idempotencyKey !== undefined) {
    const existing = Option.flatMap(HashMap.get(state.idempotency, idempotencyKey), (id) => HashMap.get(state.batches, id))
    if (Option.isSome(existing)) return [json(200, wireBatch(existing.value, env.now)), state]
  }
  const file = Option.getOrUndefined(HashMap.get(state.files, inputFileId))
  if ((file === undefined || file.purpose !== "batch") && env.options.requireInputFile !== false) {
    return [
      apiError(400, `Cannot find file ${inputFileId}, or it was not uploaded with purpose 'batch'.`, {
        param: "input_file_id",
        code: "invalid_file"
      }),
      state
    ]
  }
  const [next, ...rest] = state.nextScripts
  const script: Script = { ...state.defaultScript, ...next }
  const read = file === undefined || file.purpose !== "batch"
    ? { lines: Lines.syntheticLines(endpoint, script.requestCount ?? defaultScript.requestCount), errors: [] }
    : Lines.readInput(file.content, endpoint)
  const counter = state.counter + 1
  const id = batchId(counter)
  const createdAt = seconds(env.now)
  const results = read.lines.map((line, index): ResponderResult => {
    try {
      return env.responder(line, { batchId: id, index, createdAt })
    } catch (error) {
      return {
        error: { code: "simulator_responder_failed", message: error instanceof Error ? error.message : String(error) }
      }
    }
  })
  const okPrefix = [0]
  results.forEach((result, i) => okPrefix.push((okPrefix[i] ?? 0) + (isOk(result) ? 1 : 0)))
  const firstBody = read.lines[0]?.body
  const model = isRecord(firstBody) && typeof firstBody["model"] === "string" ? firstBody["model"] : undefined
  const metadata = isRecord(body["metadata"]) ? (body["metadata"] as Record<string, string>) : null
  const expiresAfter = body["output_expires_after"]
  const batch: LiveBatch = {
    _tag: "Live",
    id,
    seq: state.order.length,
    endpoint,
    inputFileId,
    metadata,
    outputExpiresAfter: isRecord(expiresAfter) && typeof expiresAfter["seconds"] === "number"
      ? expiresAfter["seconds"]
      : undefined,
    createdAtMs: env.now,
    script,
    cancelRequestedAtMs: undefined,
    lines: read.lines,
    results,
    okPrefix,
    validationErrors: read.errors,
    model,
    outputFileId: null,
    errorFileId: null
  }
  return [
    json(200, wireBatch(batch, env.now)),
    {
      ...state,
      counter,
      batches: HashMap.set(state.batches, id, batch),
      order: [...state.order, id],
      pending: [...state.pending, id],
      nextScripts: rest,
      idempotency: idempotencyKey === undefined || env.options.honourIdempotencyKey !== true
        ? state.idempotency
        : HashMap.set(state.idempotency, idempotencyKey, id)
    }
  ]
}

const noBatch = (id: string) => apiError(404, `No batch found with id '${id}'.`, { param: "batch_id" })

const listBatches = (state: State, env: Env): Answer => {
  const { after, limit: limitText } = env.request.query
  let limit = 20
  if (limitText !== undefined) {
    const value = /^-?\d+$/.test(limitText) ? Number(limitText) : Number.NaN
    if (!Number.isSafeInteger(value) || value < 1 || value > 100) {
      return apiError(400, `Invalid 'limit': expected an integer between 1 and 100, got '${limitText}'.`, {
        param: "limit",
        code: "invalid_value"
      })
    }
    limit = value
  }
  let start = state.order.length - 1
  if (after !== undefined) {
    const cursor = Option.getOrUndefined(HashMap.get(state.batches, after))
    if (cursor === undefined) {
      return apiError(400, `Invalid 'after': no batch with id '${after}'.`, { param: "after", code: "invalid_value" })
    }
    start = cursor.seq - 1
  }
  const data: Array<Record<string, unknown>> = []
  let index = start
  for (; index >= 0 && data.length < limit; index--) {
    const id = state.order[index]
    const batch = id === undefined ? undefined : Option.getOrUndefined(HashMap.get(state.batches, id))
    if (batch !== undefined) data.push(wireBatch(batch, env.now))
  }
  const first = data[0]
  const last = data[data.length - 1]
  return json(200, {
    object: "list",
    data,
    first_id: first === undefined ? null : first["id"],
    last_id: last === undefined ? null : last["id"],
    has_more: index >= 0
  })
}

const cancelBatch = (state: State, env: Env, id: string): Step => {
  const batch = Option.getOrUndefined(HashMap.get(state.batches, id))
  if (batch === undefined) return [noBatch(id), state]
  const wire = wireBatch(batch, env.now)
  const status = String(wire["status"])
  if (Batch.terminalStatuses.has(status)) {
    return [
      apiError(400, `Cannot cancel a batch with status '${status}'.`, { param: null, code: "invalid_state" }),
      state
    ]
  }
  if (status === "cancelling") return [json(200, wire), state]
  const updated: StoredBatch = batch._tag === "Live"
    ? { ...batch, cancelRequestedAtMs: env.now }
    : { ...batch, wire: { ...batch.wire, status: "cancelling", cancelling_at: seconds(env.now) } }
  return [json(200, wireBatch(updated, env.now)), { ...state, batches: HashMap.set(state.batches, id, updated) }]
}

const fileObject = (file: SimFile) => ({
  id: file.id,
  object: "file",
  bytes: file.content.length,
  created_at: file.created_at,
  expires_at: file.expires_at,
  filename: file.filename,
  purpose: file.purpose,
  status: "processed",
  status_details: null
})

const noFile = (id: string) => apiError(404, `No such File object: ${id}`, { param: "id" })

const defaultFileExpirySeconds = 30 * 24 * 60 * 60

const storeFile = (
  state: State,
  now: number,
  file: { readonly content: Uint8Array; readonly filename: string; readonly purpose: string; readonly expiresAfter?: number }
): readonly [StoredFile, State] => {
  const counter = state.counter + 1
  const createdAt = seconds(now)
  const expiresAfter = file.expiresAfter ?? (file.purpose === "batch" ? defaultFileExpirySeconds : undefined)
  const stored: StoredFile = {
    id: fileId(counter),
    filename: file.filename,
    purpose: file.purpose,
    created_at: createdAt,
    expires_at: expiresAfter === undefined ? null : createdAt + expiresAfter,
    content: file.content,
    seq: counter
  }
  return [stored, { ...state, counter, files: HashMap.set(state.files, stored.id, stored) }]
}

const createFile = (state: State, env: Env): Step => {
  const boundary = Multipart.boundaryOf(env.request.headers["content-type"])
  if (boundary === undefined) {
    return [apiError(400, "Expected a multipart/form-data body with the fields 'file' and 'purpose'."), state]
  }
  const parts = Multipart.parse(env.request.body, boundary)
  if (typeof parts === "string") return [apiError(400, `Could not parse the multipart body: ${parts}.`), state]
  const field = (name: string) => parts.find((part) => part.name === name)
  const purposePart = field("purpose")
  const filePart = field("file")
  const missing = (param: string) =>
    apiError(400, `Missing required parameter: '${param}'.`, { param, code: "missing_required_parameter" })
  if (purposePart === undefined) return [missing("purpose"), state]
  const purpose = Multipart.text(purposePart)
  if (!filePurposes.has(purpose)) {
    return [
      apiError(400, `Invalid value for 'purpose': '${purpose}'.`, { param: "purpose", code: "invalid_value" }),
      state
    ]
  }
  if (filePart === undefined || filePart.filename === undefined) return [missing("file"), state]
  const maxBytes = env.options.maxFileBytes ?? 200 * 1024 * 1024
  if (filePart.data.length > maxBytes) {
    return [
      apiError(400, `File is too large: ${filePart.data.length} bytes; the maximum is ${maxBytes}.`, {
        param: "file",
        code: "file_too_large"
      }),
      state
    ]
  }
  if (purpose === "batch" && !filePart.filename.toLowerCase().endsWith(".jsonl")) {
    return [
      apiError(400, "Invalid file format for Batch API. Must be .jsonl", { param: "file", code: "invalid_file_format" }),
      state
    ]
  }
  const anchorPart = field("expires_after[anchor]")
  const secondsPart = field("expires_after[seconds]")
  let expiresAfter: number | undefined
  if (anchorPart !== undefined || secondsPart !== undefined) {
    if (anchorPart === undefined || Multipart.text(anchorPart) !== "created_at") {
      return [
        apiError(400, "Invalid value for 'expires_after.anchor': only 'created_at' is supported.", {
          param: "expires_after.anchor",
          code: "invalid_value"
        }),
        state
      ]
    }
    const text = secondsPart === undefined ? "" : Multipart.text(secondsPart)
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
    if (!Number.isSafeInteger(value) || value < 3600 || value > 2_592_000) {
      return [
        apiError(400, "Invalid 'expires_after.seconds': expected an integer between 3600 and 2592000.", {
          param: "expires_after.seconds",
          code: "invalid_value"
        }),
        state
      ]
    }
    expiresAfter = value
  }
  const [stored, next] = storeFile(state, env.now, {
    content: filePart.data,
    filename: filePart.filename,
    purpose,
    ...(expiresAfter === undefined ? {} : { expiresAfter })
  })
  return [json(200, fileObject(stored)), next]
}

const listFiles = (state: State, env: Env): Answer => {
  const purpose = env.request.query["purpose"]
  const all = [...HashMap.values(state.files)]
    .filter((file) => purpose === undefined || file.purpose === purpose)
    .sort((a, b) => b.seq - a.seq)
  const data = all.map(fileObject)
  return json(200, {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: false
  })
}

const route = (state: State, env: Env): Step => {
  const { method, path } = env.request
  const segments = path.replace(/\/+$/, "").split("/").slice(1).map(decodeURIComponent)
  const [v1, resource, id, action, ...extra] = segments
  const invalidUrl = (): Step => [apiError(404, `Invalid URL (${method} ${path})`), state]
  if (v1 !== "v1" || extra.length > 0) return invalidUrl()
  if (resource === "batches") {
    if (id === undefined) {
      if (method === "POST") return createBatch(state, env)
      if (method === "GET") return [listBatches(state, env), state]
      return invalidUrl()
    }
    const batch = Option.getOrUndefined(HashMap.get(state.batches, id))
    if (action === undefined && method === "GET") {
      return [batch === undefined ? noBatch(id) : json(200, wireBatch(batch, env.now)), state]
    }
    if (action === "cancel" && method === "POST") return cancelBatch(state, env, id)
    return invalidUrl()
  }
  if (resource === "files") {
    if (id === undefined) {
      if (method === "POST") return createFile(state, env)
      if (method === "GET") return [listFiles(state, env), state]
      return invalidUrl()
    }
    const file = Option.getOrUndefined(HashMap.get(state.files, id))
    if (action === undefined && method === "GET") return [file === undefined ? noFile(id) : json(200, fileObject(file)), state]
    if (action === undefined && method === "DELETE") {
      return file === undefined
        ? [noFile(id), state]
        : [json(200, { id, object: "file", deleted: true }), { ...state, files: HashMap.remove(state.files, id) }]
    }
    if (action === "content" && method === "GET") {
      return [
        file === undefined ? noFile(id) : { status: 200, body: file.content, contentType: "application/octet-stream" },
        state
      ]
    }
    return invalidUrl()
  }
  return invalidUrl()
}

const authorize = (options: Options, request: SimRequest): Answer | undefined => {
  const header = request.headers["authorization"]
  const token = header === undefined ? undefined : /^Bearer\s+(.+)$/i.exec(header.trim())?.[1]?.trim()
  if (token === undefined || token.length === 0) {
    return apiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      { param: null, code: null }
    )
  }
  if (options.acceptAnyKey === true || token === (options.apiKey ?? testApiKey)) return undefined
  return apiError(401, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", {
    code: "invalid_api_key"
  })
}

const toResponse = (answer: Answer, requestId: string, extra: Record<string, string> = {}): SimResponse => ({
  _tag: "Response",
  status: answer.status,
  headers: { "content-type": answer.contentType, "x-request-id": requestId, ...extra },
  body: answer.body
})

/** One request, start to end, as a pure step over the state. */
const step = (
  options: Options,
  responder: Responder,
  request: SimRequest,
  now: number
) =>
(initial: State): readonly [SimResponse, State] => {
  const [fault, afterFault] = takeFault(initial, request)
  const state0 = settle(afterFault, now)
  const requests = state0.requests + 1
  const requestId = requestIdOf(requests)
  const state1: State = { ...state0, requests }
  const log = (entry: { readonly status?: number }, state: State): State => {
    if (options.logRequests === false) return state
    const { authorization: _authorization, ...headers } = request.headers
    const logged: LoggedRequest = {
      method: request.method,
      path: request.path,
      query: request.query,
      headers,
      body: logBody(request),
      at: now,
      ...(fault === undefined ? {} : { fault: fault._tag }),
      ...entry
    }
    return { ...state, log: Chunk.append(state.log, logged) }
  }
  const handled = (): readonly [Answer, State] => {
    const unauthorized = authorize(options, request)
    if (unauthorized !== undefined) return [unauthorized, state1]
    return route(state1, { options, responder, now, request })
  }
  switch (fault?._tag) {
    case "Dropped":
      return [{ _tag: "Dropped" }, log({}, state1)]
    case "Timeout":
      return [{ _tag: "NoAnswer" }, log({}, state1)]
    case "RateLimited": {
      const headers: Record<string, string> = {}
      if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds)
      if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs)
      const answer = apiError(429, "Rate limit reached for requests. Please try again later. (simulated)", {
        type: "requests",
        code: "rate_limit_exceeded"
      })
      return [toResponse(answer, requestId, headers), log({ status: 429 }, state1)]
    }
    case "ServerError": {
      const answer = apiError(
        fault.status,
        "The server had an error while processing your request. Sorry about that! (simulated)",
        { type: "server_error" }
      )
      return [toResponse(answer, requestId), log({ status: fault.status }, state1)]
    }
    case "MalformedBody": {
      const answer: Answer = {
        status: 200,
        body: encoder.encode("<html><body><h1>200 OK</h1><p>upstream says hello</p></body></html>"),
        contentType: "text/html"
      }
      return [toResponse(answer, requestId), log({ status: 200 }, state1)]
    }
    case "TruncatedBody": {
      const [answer, state] = handled()
      const cut = { ...answer, body: answer.body.slice(0, Math.floor(answer.body.length / 2)) }
      return [toResponse(cut, requestId), log({ status: answer.status }, state)]
    }
    case "CommitThenDrop": {
      const [, state] = handled()
      return [{ _tag: "Dropped" }, log({}, state)]
    }
    default: {
      const [answer, state] = handled()
      return [toResponse(answer, requestId), log({ status: answer.status }, state)]
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Constructors
// ---------------------------------------------------------------------------------------------------------------

const seedBatches = (state: State, options: SeedOptions, now: number): readonly [ReadonlyArray<string>, State] => {
  const status = options.status ?? "completed"
  const endpoint = options.endpoint ?? "/v1/chat/completions"
  const spacing = options.spacingSeconds ?? 60
  const nowSeconds = seconds(now)
  const ids: Array<string> = []
  let batches = state.batches
  const order = [...state.order]
  let counter = state.counter
  for (let i = 0; i < options.count; i++) {
    counter++
    const id = batchId(counter)
    const created = nowSeconds - (options.count - 1 - i) * spacing
    const ran = status !== "validating" && status !== "failed"
    const ended = Batch.terminalStatuses.has(status)
    const total = ran ? 10 : 0
    const completed = status === "completed" ? 10 : ran && ended ? 5 : 0
    const wire: Record<string, unknown> = {
      id,
      object: "batch",
      endpoint,
      model: null,
      errors: status === "failed"
        ? { object: "list", data: [{ code: "invalid_json_line", message: "Seeded failure.", param: null, line: 1 }] }
        : null,
      input_file_id: `file-seed${counter.toString(36)}`,
      completion_window: "24h",
      status,
      output_file_id: null,
      error_file_id: null,
      created_at: created,
      in_progress_at: ran ? created + 30 : null,
      expires_at: created + 86_400,
      finalizing_at: status === "finalizing" || status === "completed" ? created + 330 : null,
      completed_at: status === "completed" ? created + 360 : null,
      failed_at: status === "failed" ? created + 30 : null,
      expired_at: status === "expired" ? created + 86_400 : null,
      cancelling_at: status === "cancelling" || status === "cancelled" ? created + 60 : null,
      cancelled_at: status === "cancelled" ? created + 180 : null,
      request_counts: { total, completed, failed: 0 },
      metadata: options.metadata === undefined ? null : { ...options.metadata }
    }
    const seeded: SeededBatch = { _tag: "Seeded", id, seq: order.length, wire }
    batches = HashMap.set(batches, id, seeded)
    order.push(id)
    ids.push(id)
  }
  return [ids, { ...state, batches, order, counter }]
}

const decodeBatch = Schema.decodeUnknownSync(Batch.Batch)

/**
 * Builds a simulator with empty state.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<Simulator> =>
  Effect.gen(function*() {
    const responder = options.responder ?? defaultResponder
    const ref = yield* Ref.make<State>({
      batches: HashMap.empty(),
      order: [],
      files: HashMap.empty(),
      pending: [],
      counter: 0,
      requests: 0,
      faults: [],
      log: Chunk.empty(),
      // Only what the user set: an unset `inProgress` means something for `outcome: "expired"`.
      defaultScript: { ...options.script },
      nextScripts: [],
      idempotency: HashMap.empty()
    })
    const settled = <A>(f: (state: State) => readonly [A, State]) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.modify(ref, (state) => f(settle(state, now))))
    const simulator: Simulator = {
      handle: (request) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.modify(ref, step(options, responder, request, now))),
      requests: Effect.map(Ref.get(ref), (state) => Chunk.toReadonlyArray(state.log)),
      clearRequests: Ref.update(ref, (state) => ({ ...state, log: Chunk.empty() })),
      injectFault: (fault, faultOptions = {}) =>
        Ref.update(ref, (state) => ({
          ...state,
          faults: [...state.faults, { fault, remaining: Math.max(1, faultOptions.times ?? 1), match: faultOptions.match }]
        })),
      clearFaults: Ref.update(ref, (state) => ({ ...state, faults: [] })),
      setDefaultScript: (script) =>
        Ref.update(ref, (state) => ({ ...state, defaultScript: { ...state.defaultScript, ...script } })),
      scriptNext: (script) => Ref.update(ref, (state) => ({ ...state, nextScripts: [...state.nextScripts, script] })),
      scriptBatch: (id, script) =>
        Effect.flatten(settled((state): readonly [Effect.Effect<void, NoSuchBatchError>, State] => {
          const batch = Option.getOrUndefined(HashMap.get(state.batches, id))
          if (batch === undefined || batch._tag !== "Live") {
            return [Effect.fail(new NoSuchBatchError({ batchId: id, message: `the simulator holds no live batch ${id}` })), state]
          }
          const updated: LiveBatch = { ...batch, script: { ...batch.script, ...script } }
          return [Effect.void, { ...state, batches: HashMap.set(state.batches, id, updated) }]
        })),
      seed: (seedOptions) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.modify(ref, (state) => seedBatches(state, seedOptions, now))),
      batch: (id) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          settled((state) => [
            Option.map(HashMap.get(state.batches, id), (batch) => decodeBatch(wireBatch(batch, now))),
            state
          ])),
      file: (id) => settled((state) => [HashMap.get(state.files, id).pipe(Option.map(({ seq: _seq, ...file }) => file)), state]),
      putFile: (file) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Ref.modify(ref, (state) => {
            const [stored, next] = storeFile(state, now, {
              content: typeof file.content === "string" ? encoder.encode(file.content) : file.content,
              filename: file.filename ?? "input.jsonl",
              purpose: file.purpose ?? "batch"
            })
            const { seq: _seq, ...simFile } = stored
            return [simFile, next]
          }))
    }
    return simulator
  })

// ---------------------------------------------------------------------------------------------------------------
// The HttpClient adapter and the layers
// ---------------------------------------------------------------------------------------------------------------

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => {
    const all = Chunk.toReadonlyArray(chunks)
    const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0))
    let offset = 0
    for (const chunk of all) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  })

/** The request's body as bytes, and the content type its body implies. */
const bodyOf = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<{ readonly bytes: Uint8Array; readonly contentType: string | undefined }, unknown> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed({ bytes: new Uint8Array(0), contentType: undefined })
    case "Uint8Array":
      return Effect.succeed({ bytes: body.body, contentType: body.contentType })
    case "Stream":
      return Effect.map(collect(body.stream), (bytes) => ({ bytes, contentType: body.contentType }))
    case "Raw": {
      const raw = body.body
      if (typeof raw === "string") return Effect.succeed({ bytes: encoder.encode(raw), contentType: body.contentType })
      if (raw instanceof Uint8Array) return Effect.succeed({ bytes: raw, contentType: body.contentType })
      return Effect.tryPromise(async () => ({
        bytes: new Uint8Array(await new Response(raw as BodyInit).arrayBuffer()),
        contentType: body.contentType
      }))
    }
    case "FormData":
      // Serialized by the platform's own encoder, so the boundary and escaping are the ones fetch would send.
      return Effect.tryPromise(async () => {
        const response = new Response(body.formData)
        return {
          bytes: new Uint8Array(await response.arrayBuffer()),
          contentType: response.headers.get("content-type") ?? undefined
        }
      })
  }
}

/**
 * An `HttpClient` that answers from the simulator. A dropped connection fails with a `RequestError` of reason
 * `"Transport"`; a timeout never answers (the caller's timeout fires, on `TestClock` too).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const httpClient = (simulator: Simulator): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = yield* Effect.mapError(
        bodyOf(request),
        (cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause, description: "could not read the request body" })
      )
      const headers: Record<string, string> = { ...request.headers }
      if (body.contentType !== undefined && headers["content-type"] === undefined) headers["content-type"] = body.contentType
      const query: Record<string, string> = {}
      url.searchParams.forEach((value, key) => {
        query[key] = value
      })
      const response = yield* simulator.handle({ method: request.method, path: url.pathname, query, headers, body: body.bytes })
      switch (response._tag) {
        case "Dropped":
          return yield* Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", description: "socket hang up (simulated)" })
          )
        case "NoAnswer":
          return yield* Effect.never
        case "Response":
          return HttpClientResponse.fromWeb(
            request,
            // The simulator's bodies are always backed by plain ArrayBuffers.
            new Response(response.body.length === 0 ? null : (response.body as Uint8Array<ArrayBuffer>), {
              status: response.status,
              headers: response.headers
            })
          )
      }
    })
  )

/**
 * The simulator and an `HttpClient` routed to it: provide it under `BatchApi.layer()` (or anything else that
 * uses `HttpClient`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<BatchApiSimulator | HttpClient.HttpClient> =>
  Layer.effectContext(Effect.map(make(options), (simulator) =>
    Context.make(BatchApiSimulator, simulator).pipe(Context.add(HttpClient.HttpClient, httpClient(simulator)))))

/**
 * Options of `layerBatchApi`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface BatchApiOptions extends Options {
  /** Settings of the client (the key is always `testApiKey`; use `layer` for another). */
  readonly config?: Omit<OpenAiConfig.Options, "apiKey">
}

/**
 * The full stack a test swaps in: `BatchApi.layer()` and `OpenAiFiles.layer()` (so `BatchJob.runBatch` runs too)
 * over the simulator's `HttpClient`, with an `OpenAiConfig` holding `testApiKey`. The simulator is in context too,
 * to script it and read its log.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerBatchApi = (
  options: BatchApiOptions = {}
): Layer.Layer<BatchApi.BatchApi | OpenAiFiles.OpenAiFiles | BatchApiSimulator, ConfigError.ConfigError> => {
  const { config, ...simulatorOptions } = options
  return Layer.merge(BatchApi.layer, OpenAiFiles.layer).pipe(
    Layer.provide(OpenAiConfig.layer({ ...config, apiKey: Redacted.make(simulatorOptions.apiKey ?? testApiKey) })),
    Layer.provideMerge(layer(simulatorOptions))
  )
}

/**
 * A `Clock` running `speed` times faster than the real one from now on (its time starts at the real time), for
 * serving the simulator with hours of batch time passing in minutes. Provide it with `Effect.withClock`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const acceleratedClock = (speed: number, origin: number = Date.now()): Clock.Clock => {
  const now = () => origin + (Date.now() - origin) * speed
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => BigInt(Math.floor(now() * 1_000_000)),
    currentTimeNanos: Effect.sync(() => BigInt(Math.floor(now() * 1_000_000))),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), Duration.toMillis(duration) / speed)
        return Effect.sync(() => clearTimeout(timer))
      })
  }
}
