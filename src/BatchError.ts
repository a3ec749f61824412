/**
 * The one error model of the library: every error a public function can fail with is a `Schema.TaggedError` class
 * of this module. Tell them apart with `Effect.catchTag`; recognise any of them with `isBatchError`; decode a
 * serialized one with the `BatchError` schema (they are schemas, so they encode to JSON and back). None holds the
 * API key or a request's headers.
 *
 * - Request errors: a status from the API (one class per family a caller handles differently), `TransportError`,
 *   `DecodeError`, `InvalidParamsError` (nothing was sent), `IdempotencyConflictError`.
 * - Wait and paging errors: `WaitTimeoutError`, `BatchFailedError`, `BatchExpiredError`, `BatchCancelledError`,
 *   `PaginationError`.
 * - Input errors (`BatchInput`): `InvalidRequestError`, `DuplicateCustomIdError`, `EndpointMismatchError`,
 *   `TooManyLinesError`, `InputTooLargeError`, `EmptyInputError`.
 * - Results errors (`BatchResults`): `MalformedLineError`, `ResultsNotReadyError`.
 * - Webhook errors (`Webhooks`): `WebhookHeadersError`, `WebhookTimestampError`, `WebhookSignatureError`,
 *   `WebhookPayloadError`.
 * - Structured answers (`StructuredOutput`): `StructuredOutputError`, a value per result line rather than a failure.
 * - Durable errors: `RunnerLockedError`, a second runner on a SQLite file (`SqliteEngine`); `JobInterruptedError`, a
 *   job that was interrupted (`DurableJob`).
 *
 * The simulator's `NoSuchBatchError` is not here: it belongs to the testing entry point and only a test sees it.
 *
 * Every `message` is derived from its error's fields (a getter, worded once in this module): raisers pass fields
 * only, the same error reads the same whoever raised it, and the serialized form holds the fields alone (a decoded
 * error words its message again). Errors raised by a public operation name it (`operation`) where it has one.
 *
 * The module is long (37 classes) but one thing: the whole error model in one place. The classes are listed once,
 * in the `BatchError` schema, and the `BatchError` type is taken from it.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { Batch, BatchErrorItem } from "./Batch.js"

/**
 * The brand every error of the library carries, for `isBatchError`.
 *
 * @since 0.2.0
 * @category Type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-openai-batch/BatchError")

/**
 * @since 0.2.0
 * @category Type ids
 */
export type TypeId = typeof TypeId

const id = (name: string) => `effect-openai-batch/BatchError/${name}`

// Every message is derived from its error's fields, worded once here: raisers pass fields only.

const prefix = (operation: string | undefined) => operation === undefined ? "" : `${operation}: `

/** The public operation, or the request when an error was made without one. */
const origin = (error: { readonly operation?: string | undefined; readonly method: string; readonly url: string }) =>
  error.operation ?? `${error.method} ${error.url}`

const causeMessage = (cause: unknown): string | undefined =>
  typeof cause === "string"
    ? cause
    : Predicate.hasProperty(cause, "message") && typeof cause.message === "string"
    ? cause.message
    : undefined

/** `operation: text`, when the public operation is known. */
const inOperation = (operation: string | undefined, text: string) =>
  operation === undefined ? text : `${operation}: ${text}`

const requestAt = (line: number, customId: string | undefined) =>
  `request ${line}${customId === undefined ? "" : ` (${customId})`}`

const lineError = (item: BatchErrorItem) =>
  `${item.code ?? "error"}${item.message === undefined ? "" : `: ${item.message}`}${
    item.line === undefined ? "" : ` (line ${item.line} of its input file)`
  }`

const partialResults = (batch: Batch) =>
  batch.output_file_id === undefined ? "" : `; partial results in ${batch.output_file_id}`

const statusMessage = (error: StatusError) =>
  `${origin(error)}: ${error.status} ${
    error.apiMessage ?? (error.bodyExcerpt === undefined || error.bodyExcerpt === "" ?
      "status code (no body)" :
      error.bodyExcerpt)
  }${error.requestId === undefined ? "" : ` (request id ${error.requestId})`}`

const partFailure = (error: PartFailedError): string => {
  switch (error.reason) {
    case "failed": {
      const first = error.errors[0]
      const inputLine = error.inputLines?.find((line) => line !== null)
      return `batch ${error.batch?.id ?? "(unknown)"} failed${first === undefined ? "" : `: ${lineError(first)}`}${
        inputLine === undefined || inputLine === null ? "" : ` (input line ${inputLine})`
      }`
    }
    case "limits":
      return `its batches kept failing with ${error.errors[0]?.code ?? "an enqueued limit"} after every re-send allowed`
    case "rejected": {
      const detail = causeMessage(error.cause)
      return `the API refused its batch${detail === undefined ? "" : `: ${detail}`}`
    }
    case "sink":
      return `the sink of batch ${
        error.batch?.id ?? "(unknown)"
      }'s results ended before their last one (a \`Sink.take\`?): the rest would be lost; a job sink must take every result`
    case "delivery": {
      const detail = causeMessage(error.cause)
      return `the results file ${error.fileId ?? "(unknown)"}${
        error.batch === undefined ? "" : ` of batch ${error.batch.id}`
      } could not be read after every retry${detail === undefined ? "" : ` (${detail})`}`
    }
  }
}

/** Fields every error from an HTTP status carries. */
const statusFields = {
  /** The public operation that was called (`retrieveBatch`, `awaitBatch`, `uploadFile`, ...). */
  operation: Schema.optional(Schema.String),
  status: Schema.Number,
  method: Schema.String,
  /** The request URL (the key travels in a header, never in the URL). */
  url: Schema.String,
  /** OpenAI's `error.type`, e.g. `invalid_request_error`. */
  type: Schema.optional(Schema.String),
  /** OpenAI's `error.code`, e.g. `rate_limit_exceeded`, `token_limit_exceeded`. */
  code: Schema.optional(Schema.String),
  /** OpenAI's `error.param`. */
  param: Schema.optional(Schema.String),
  /** OpenAI's `error.message`: what the API said was wrong. */
  apiMessage: Schema.optional(Schema.String),
  /** The `x-request-id` response header: quote it to OpenAI support. */
  requestId: Schema.optional(Schema.String),
  /** The server's retry hint in milliseconds (`retry-after-ms`, else `retry-after` seconds or HTTP date). */
  retryAfterMs: Schema.optional(Schema.Number),
  /** The `x-should-retry` header, when the server sent one. */
  shouldRetry: Schema.optional(Schema.Boolean),
  /** The start of a body that was not OpenAI's error envelope (an HTML page from a proxy, say). */
  bodyExcerpt: Schema.optional(Schema.String)
}

/**
 * 400: the API rejected the request (bad parameters, an input file it cannot use, ...).
 *
 * @since 0.1.0
 * @category Errors
 */
export class BadRequestError extends Schema.TaggedError<BadRequestError>(id("BadRequestError"))(
  "BadRequestError",
  statusFields
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return statusMessage(this)
  }
}

/**
 * 401: the API key is missing, wrong or revoked.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AuthenticationError extends Schema.TaggedError<AuthenticationError>(id("AuthenticationError"))(
  "AuthenticationError",
  statusFields
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return statusMessage(this)
  }
}

/**
 * 403: the key may not do this (project, organization or region rules).
 *
 * @since 0.1.0
 * @category Errors
 */
export class PermissionDeniedError extends Schema.TaggedError<PermissionDeniedError>(id("PermissionDeniedError"))(
  "PermissionDeniedError",
  statusFields
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return statusMessage(this)
  }
}

/**
 * 404: no such batch (or file) for this key.
 *
 * @since 0.1.0
 * @category Errors
 */
export class NotFoundError extends Schema.TaggedError<NotFoundError>(id("NotFoundError"))(
  "NotFoundError",
  statusFields
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    // The API's answer to a route it does not have: most often a base URL without its `/v1`.
    return this.apiMessage?.startsWith("Invalid URL") === true
      ? `${statusMessage(this)}: no such route; check the base URL (OpenAI's ends with /v1)`
      : statusMessage(this)
  }
}

/**
 * 409: a conflict (OpenAI also uses it for lock timeouts, so it is retried by default).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ConflictError extends Schema.TaggedError<ConflictError>(id("ConflictError"))(
  "ConflictError",
  statusFields
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return statusMessage(this)
  }
}

/**
 * 422: the request was well-formed but cannot be processed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class UnprocessableEntityError
  extends Schema.TaggedError<UnprocessableEntityError>(id("UnprocessableEntityError"))(
    "UnprocessableEntityError",
    statusFields
  )
{
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return statusMessage(this)
  }
}

/**
 * 429: a rate limit or quota (the batch-creation limit, enqueued tokens, ...). `retryAfterMs` holds the server's
 * hint when it sent one.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RateLimitError extends Schema.TaggedError<RateLimitError>(id("RateLimitError"))(
  "RateLimitError",
  statusFields
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return statusMessage(this)
  }
}

/**
 * 5xx: the server failed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InternalServerError extends Schema.TaggedError<InternalServerError>(id("InternalServerError"))(
  "InternalServerError",
  statusFields
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return statusMessage(this)
  }
}

/**
 * Any other non-2xx status (408, 418, a 3xx the client did not follow, ...).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ApiError extends Schema.TaggedError<ApiError>(id("ApiError"))(
  "ApiError",
  statusFields
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return statusMessage(this)
  }
}

/**
 * The request never got a response: connection refused or reset, DNS, TLS, or the per-attempt timeout.
 * `reason: "Timeout"` means the timeout fired; the request may or may not have reached the server; with
 * `bodyBrokenOff` it is a download's body that stalled (no bytes for `timeoutMs`: `BatchSchedule.withIdleTimeout`).
 * `code` is the system or client error code when one was reported (`ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`,
 * `UND_ERR_SOCKET`, ...), and `cause` the transport's own error (its request, if any, stripped of credentials).
 *
 * @since 0.1.0
 * @category Errors
 */
export class TransportError extends Schema.TaggedError<TransportError>(id("TransportError"))("TransportError", {
  /** The public operation that was called. */
  operation: Schema.optional(Schema.String),
  method: Schema.String,
  url: Schema.String,
  reason: Schema.Literal("Transport", "Timeout", "Encode", "InvalidUrl"),
  code: Schema.optional(Schema.String),
  /** For `reason: "Timeout"`: the per-attempt timeout that fired (a stalled body's idle timeout), in milliseconds. */
  timeoutMs: Schema.optional(Schema.Number),
  /** True when the response's head arrived and its body broke off (a download cut short, or stalled). */
  bodyBrokenOff: Schema.optional(Schema.Boolean),
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    const head = `${prefix(this.operation)}${this.method} ${this.url}`
    if (this.reason === "Timeout" && this.bodyBrokenOff === true) {
      return `${head} failed: the body stalled${
        this.timeoutMs === undefined ? "" : ` (no bytes for ${Duration.format(Duration.millis(this.timeoutMs))})`
      }`
    }
    if (this.reason === "Timeout") {
      return `${head} timed out${
        this.timeoutMs === undefined ? "" : ` after ${Duration.format(Duration.millis(this.timeoutMs))}`
      }`
    }
    const detail = causeMessage(this.cause)
    const what = this.bodyBrokenOff === true
      ? "the body broke off"
      : this.reason === "Encode"
      ? "the request could not be written"
      : this.reason === "InvalidUrl"
      ? "invalid URL"
      : "no response"
    return `${head} failed: ${what}${detail === undefined ? "" : ` (${detail})`}${
      this.code === undefined || detail?.includes(this.code) ? "" : ` [${this.code}]`
    }`
  }
}

/**
 * A 2xx response whose body is not what the API documents (not JSON, or not the expected shape). `issue` and
 * `cause` say where and which rule, never the values found there (a body may hold anything); `bodyExcerpt` shows
 * the start of the body.
 *
 * @since 0.1.0
 * @category Errors
 */
export class DecodeError extends Schema.TaggedError<DecodeError>(id("DecodeError"))("DecodeError", {
  /** The public operation that was called. */
  operation: Schema.optional(Schema.String),
  method: Schema.String,
  url: Schema.String,
  status: Schema.Number,
  requestId: Schema.optional(Schema.String),
  /** The parse issue, summarized: where and which rule (`data[3].status must be a string`, `not JSON`). */
  issue: Schema.String,
  bodyExcerpt: Schema.String,
  /** The parse issue as an `Error` (the same summary), for tools that follow `cause` chains. */
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `${
      prefix(this.operation)
    }${this.method} ${this.url}: the ${this.status} response does not match the API's schema: ${this.issue}${
      this.requestId === undefined ? "" : ` (request id ${this.requestId})`
    }`
  }
}

/**
 * Parameters rejected on the client before anything was sent (a bad batch id, a limit of 500, 17 metadata
 * pairs, ...). `operation` is the public function that was called, `field` the offending parameter's path
 * (`metadata`, `limit`, `batchId`), `issue` the rule it broke. Values are never echoed: they may be large or
 * private.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidParamsError extends Schema.TaggedError<InvalidParamsError>(id("InvalidParamsError"))(
  "InvalidParamsError",
  {
    operation: Schema.String,
    field: Schema.optional(Schema.String),
    /** The rule that was broken, in one line. */
    issue: Schema.String
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `${this.operation}: ${this.field === undefined ? "" : `${this.field} `}${this.issue}`
  }
}

/**
 * An idempotency key reused with other parameters: the key already names `batchId`, made from another input file
 * or for another endpoint. Returning that batch would be wrong and creating another would defeat the key.
 *
 * @since 0.2.0
 * @category Errors
 */
export class IdempotencyConflictError
  extends Schema.TaggedError<IdempotencyConflictError>(id("IdempotencyConflictError"))("IdempotencyConflictError", {
    idempotencyKey: Schema.String,
    batchId: Schema.String,
    /** What the existing batch was made from. */
    existing: Schema.Struct({ input_file_id: Schema.String, endpoint: Schema.String })
  })
{
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `createBatch: the idempotency key ${this.idempotencyKey} already names batch ${this.batchId}, made from ${this.existing.input_file_id} for ${this.existing.endpoint}`
  }
}

/**
 * A wait reached its deadline. `lastBatch` is the last snapshot it saw (absent if no poll ever succeeded).
 *
 * @since 0.1.0
 * @category Errors
 */
export class WaitTimeoutError extends Schema.TaggedError<WaitTimeoutError>(id("WaitTimeoutError"))(
  "WaitTimeoutError",
  {
    /** The wait that was called (`awaitBatch`, `watchBatch`, `cancelBatchAndWait`, ...). */
    operation: Schema.optional(Schema.String),
    batchId: Schema.String,
    /** How long the wait lasted, in milliseconds. */
    waitedMs: Schema.Number,
    lastBatch: Schema.optional(Batch),
    /**
     * Why it gave up: its deadline (`"Deadline"`), its poll schedule ended (`"ScheduleEnded"`), or no poll ever
     * succeeded (`"NoPoll"`, the last poll's error in `cause`).
     */
    reason: Schema.optional(Schema.Literal("Deadline", "ScheduleEnded", "NoPoll")),
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    const last = causeMessage(this.cause)
    const why = this.reason === "NoPoll"
      ? `no poll succeeded${last === undefined ? "" : `; the last said: ${last}`}`
      : this.reason === "ScheduleEnded"
      ? "the poll schedule ended"
      : "deadline reached"
    return `${prefix(this.operation)}gave up waiting for batch ${this.batchId} after ${
      Duration.format(Duration.millis(this.waitedMs))
    } (${why}); last status: ${this.lastBatch?.status ?? "unknown"}`
  }
}

/**
 * The batch ended `failed` (usually validation of the input file, or an enqueued limit). `errors` lists what was
 * wrong, by line.
 *
 * @since 0.1.0
 * @category Errors
 */
export class BatchFailedError extends Schema.TaggedError<BatchFailedError>(id("BatchFailedError"))(
  "BatchFailedError",
  {
    /** The public operation that was called (`awaitCompleted`, `Job.runBatch`, ...). */
    operation: Schema.optional(Schema.String),
    batch: Batch,
    errors: Schema.Array(BatchErrorItem)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    const first = this.errors[0]
    return `${prefix(this.operation)}batch ${this.batch.id} failed${
      first === undefined ? "" : `: ${lineError(first)}`
    }${this.errors.length > 1 ? ` and ${this.errors.length - 1} more` : ""}`
  }
}

/**
 * The batch ended `expired`: it did not finish in its completion window. It may still hold partial results in
 * `batch.output_file_id` (already billed).
 *
 * @since 0.1.0
 * @category Errors
 */
export class BatchExpiredError extends Schema.TaggedError<BatchExpiredError>(id("BatchExpiredError"))(
  "BatchExpiredError",
  {
    /** The public operation that was called. */
    operation: Schema.optional(Schema.String),
    batch: Batch
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    const counts = this.batch.request_counts
    return `${prefix(this.operation)}batch ${this.batch.id} expired with ${counts?.completed ?? 0} of ${
      counts?.total ?? "?"
    } requests done${partialResults(this.batch)}`
  }
}

/**
 * The batch ended `cancelled`. It may hold partial results in `batch.output_file_id`.
 *
 * @since 0.1.0
 * @category Errors
 */
export class BatchCancelledError extends Schema.TaggedError<BatchCancelledError>(id("BatchCancelledError"))(
  "BatchCancelledError",
  {
    /** The public operation that was called. */
    operation: Schema.optional(Schema.String),
    batch: Batch
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `${prefix(this.operation)}batch ${this.batch.id} was cancelled${partialResults(this.batch)}`
  }
}

/**
 * The list endpoint broke its paging contract: a page said `has_more: true` but held no batch, or a cursor came
 * back that was already used. Stopping silently would truncate the list; looping would never end.
 *
 * @since 0.1.0
 * @category Errors
 */
export class PaginationError extends Schema.TaggedError<PaginationError>(id("PaginationError"))(
  "PaginationError",
  {
    /** The public operation that was called (`streamBatches`, ...). */
    operation: Schema.optional(Schema.String),
    reason: Schema.Literal("EmptyPageWithMore", "RepeatedCursor"),
    cursor: Schema.optional(Schema.String),
    pages: Schema.Number
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `${prefix(this.operation)}page ${this.pages} ${
      this.reason === "EmptyPageWithMore"
        ? "is empty but says has_more: true; stopping rather than truncating the list"
        : `ends at ${this.cursor ?? "the same batch"} again; stopping rather than looping`
    }`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Input files (BatchInput)
// ---------------------------------------------------------------------------------------------------------------

/**
 * A request that is not a valid input line (missing `custom_id`, a method other than `POST`, a chat body without
 * `messages`, a value `JSON.stringify` cannot write, ...).
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidRequestError extends Schema.TaggedError<InvalidRequestError>(id("InvalidRequestError"))(
  "InvalidRequestError",
  {
    line: Schema.Number,
    customId: Schema.optional(Schema.String),
    issue: Schema.String,
    /** The public operation the input was given to (`Job.run`, `BatchInput.upload`, ...). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(
      this.operation,
      `${requestAt(this.line, this.customId)} is not a valid input line: ${this.issue}`
    )
  }
}

/**
 * A `custom_id` used twice: the results could not be told apart.
 *
 * @since 0.1.0
 * @category Errors
 */
export class DuplicateCustomIdError extends Schema.TaggedError<DuplicateCustomIdError>(id("DuplicateCustomIdError"))(
  "DuplicateCustomIdError",
  {
    line: Schema.Number,
    customId: Schema.String,
    firstLine: Schema.Number,
    /** The public operation the input was given to (`Job.run`, `BatchInput.upload`, ...). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(
      this.operation,
      `request ${this.line} repeats custom_id ${this.customId} of request ${this.firstLine}`
    )
  }
}

/**
 * A request whose `url` is not the batch's endpoint (the API fails the whole batch for it).
 *
 * @since 0.1.0
 * @category Errors
 */
export class EndpointMismatchError extends Schema.TaggedError<EndpointMismatchError>(id("EndpointMismatchError"))(
  "EndpointMismatchError",
  {
    line: Schema.Number,
    customId: Schema.String,
    url: Schema.String,
    endpoint: Schema.String,
    /** The public operation the input was given to (`Job.run`, `BatchInput.upload`, ...). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(
      this.operation,
      `${requestAt(this.line, this.customId)} is for ${this.url}, but the batch's endpoint is ${this.endpoint}`
    )
  }
}

/**
 * More lines than the limit (50,000 by default); `line` is the first one over it.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TooManyLinesError extends Schema.TaggedError<TooManyLinesError>(id("TooManyLinesError"))(
  "TooManyLinesError",
  {
    line: Schema.Number,
    maxLines: Schema.Number,
    /** The public operation the input was given to (`Job.run`, `BatchInput.upload`, ...). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(this.operation, `request ${this.line} is over the limit of ${this.maxLines} requests per batch`)
  }
}

/**
 * The file would exceed the size limit (200 MB by default); `line` is the line that crosses it.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InputTooLargeError extends Schema.TaggedError<InputTooLargeError>(id("InputTooLargeError"))(
  "InputTooLargeError",
  {
    line: Schema.Number,
    bytes: Schema.Number,
    maxBytes: Schema.Number,
    /** The public operation the input was given to (`Job.run`, `BatchInput.upload`, ...). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(
      this.operation,
      `request ${this.line} takes the input file to ${this.bytes} bytes, over the limit of ${this.maxBytes}`
    )
  }
}

/**
 * No request at all: the API would fail the batch.
 *
 * @since 0.1.0
 * @category Errors
 */
export class EmptyInputError extends Schema.TaggedError<EmptyInputError>(id("EmptyInputError"))(
  "EmptyInputError",
  {
    /** The public operation the input was given to (`Job.run`, `BatchInput.upload`, ...). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(this.operation, "the input has no requests: a batch needs at least one")
  }
}

/**
 * One request too large for any part: more bytes than a part may hold, more estimated tokens than a part may
 * claim of the enqueued budget, or (`inputs`, since 0.3.0) more embedding inputs than an `/v1/embeddings` batch may
 * hold (`limit` tells which). Raise the limit, or split the request.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RequestTooLargeError extends Schema.TaggedError<RequestTooLargeError>(id("RequestTooLargeError"))(
  "RequestTooLargeError",
  {
    line: Schema.Number,
    customId: Schema.String,
    limit: Schema.Literal("bytes", "tokens", "requests", "inputs"),
    value: Schema.Number,
    max: Schema.Number,
    /** The public operation the input was given to (`Job.run`, `JobPlan.plan`, ...). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(
      this.operation,
      `${
        requestAt(this.line, this.customId)
      } is too large for any part: ${this.value} ${this.limit}, over the most a part may hold (${this.max}); ${
        tooLargeRemedy[this.limit]
      }`
    )
  }
}

/** What to do about a request too large for any part, by the limit it broke. */
const tooLargeRemedy = {
  tokens: "a part may claim budget.safetyFactor x plan.partFraction of its model's budget (0.95 x 0.25 by " +
    "default): raise that model's budget to your tier's batch queue limit, or shorten the request or its max tokens",
  bytes: "a part's file holds at most plan.maxBytesPerPart bytes: shorten the request",
  inputs: "an /v1/embeddings part holds at most plan.maxInputsPerPart inputs: split the request's input",
  requests: "raise plan.maxRequestsPerPart"
} as const

/**
 * A local file the library reads or writes failed: a JSONL input file, a job's spool of parts, a results file.
 *
 * @since 0.2.0
 * @category Errors
 */
export class LocalFileError extends Schema.TaggedError<LocalFileError>(id("LocalFileError"))("LocalFileError", {
  path: Schema.String,
  /** What could not be done to `path`: `read`, `write`, `create`, `rename`, ... */
  action: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    const detail = causeMessage(this.cause)
    return `could not ${this.action ?? "use"} ${this.path}${detail === undefined ? "" : `: ${detail}`}`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Jobs (Job)
// ---------------------------------------------------------------------------------------------------------------

/**
 * A part of a job could not be completed: its batch `failed` (`reason: "failed"`, with `errors` by line and the
 * input line each maps to), its batches kept failing on the enqueued limits after every allowed re-send
 * (`"limits"`), the API refused its create (`"rejected"`, e.g. a 400 for its input file), or its results could not
 * be downloaded after every retry (`"delivery"`, naming the file), or the job's sink ended before a delivery's last
 * result (`"sink"`: the rest would have been lost). With `onPartFailure: "continue"` the job goes on
 * with the other parts and reports it in its summary instead.
 *
 * @since 0.2.0
 * @category Errors
 */
export class PartFailedError extends Schema.TaggedError<PartFailedError>(id("PartFailedError"))("PartFailedError", {
  jobId: Schema.String,
  part: Schema.Number,
  reason: Schema.Literal("failed", "limits", "rejected", "delivery", "sink"),
  batch: Schema.optional(Batch),
  errors: Schema.Array(BatchErrorItem),
  /** For a `failed` batch, the input line of each error that names a line (in the order of `errors`). */
  inputLines: Schema.optional(Schema.Array(Schema.NullOr(Schema.Number))),
  /** For `"delivery"`: the results file that could not be read. */
  fileId: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect),
  /** The public operation that ran the job (`Job.run`, `Job.stream`, `DurableJob.run`, ...). */
  operation: Schema.optional(Schema.String)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(this.operation, `job ${this.jobId}, part ${this.part}: ${partFailure(this)}`)
  }
}

/**
 * A re-run of a job found a batch of one of its parts made from other requests than the part has now: the input
 * (or the options that split it: limits, budgets, estimator) changed since. Resuming would mix two jobs; use
 * another job id, or the original input and options.
 *
 * @since 0.2.0
 * @category Errors
 */
export class JobInputChangedError extends Schema.TaggedError<JobInputChangedError>(id("JobInputChangedError"))(
  "JobInputChangedError",
  {
    jobId: Schema.String,
    part: Schema.Number,
    batchId: Schema.String,
    expected: Schema.String,
    found: Schema.String,
    /** The public operation that ran the job (`Job.run`, `DurableJob.run`, ...). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(
      this.operation,
      `job ${this.jobId}: batch ${this.batchId} of part ${this.part} was made from other requests than the part has now (the input or the options that split it changed)`
    )
  }
}

/**
 * A second durable runner on a SQLite file (`SqliteEngine.layer`) while another process's runner holds it: two
 * runners on one file would run the same workflows at once, every in-flight step twice. The holder is named when it
 * could be read (its pid, host and start time); use `SqliteEngine.layerClient` in a process that only starts jobs or
 * reads them, or stop the other runner first.
 *
 * @since 0.3.0
 * @category Errors
 */
export class RunnerLockedError extends Schema.TaggedError<RunnerLockedError>(id("RunnerLockedError"))(
  "RunnerLockedError",
  {
    /** The engine's SQLite file. */
    filename: Schema.String,
    /** The holder's process id, host name and start (epoch milliseconds), when they could be read. */
    pid: Schema.optional(Schema.Number),
    hostname: Schema.optional(Schema.String),
    startedAt: Schema.optional(Schema.Number)
  }
) {
  /**
   * @since 0.3.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    const holder = this.pid === undefined
      ? "another runner"
      : `the runner of pid ${this.pid}${this.hostname === undefined ? "" : ` on ${this.hostname}`}${
        this.startedAt === undefined ? "" : ` (up since ${new Date(this.startedAt).toISOString()})`
      }`
    return `SqliteEngine.layer: ${holder} holds ${this.filename}; one runner per file: use SqliteEngine.layerClient in a process that only starts or reads jobs, or stop that runner first`
  }
}

/**
 * A durable job that was interrupted (`DurableJob.interrupt`, from any process): its compensation cancelled its
 * batches (unless its `policy.cancelOnExit` was `false`) and its end is stored for good, so `DurableJob.run` with its
 * job id fails with this error at once, sending nothing (as does a `run` that was waiting for it, and the exit of its
 * `DurableJob.result`). To run its requests again, give the job a new `jobId`.
 *
 * @since 0.3.0
 * @category Errors
 */
export class JobInterruptedError extends Schema.TaggedError<JobInterruptedError>(id("JobInterruptedError"))(
  "JobInterruptedError",
  {
    jobId: Schema.String,
    /** The public operation that found the job interrupted (`DurableJob.run`, `DurableJob.result`). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.3.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(
      this.operation,
      `job ${this.jobId} was interrupted (DurableJob.interrupt): its batches were cancelled (unless its policy.cancelOnExit was false) and it stays interrupted; to run its requests again, give the job a new jobId`
    )
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Results files (BatchResults)
// ---------------------------------------------------------------------------------------------------------------

/**
 * A results line that is not JSON or not a `BatchRequestOutput`. `line` is the 1-based line of the file `fileId`.
 *
 * @since 0.1.0
 * @category Errors
 */
export class MalformedLineError extends Schema.TaggedError<MalformedLineError>(id("MalformedLineError"))(
  "MalformedLineError",
  {
    fileId: Schema.String,
    /** Which of the batch's files: `output` (`output_file_id`) or `error` (`error_file_id`). */
    file: Schema.Literal("output", "error"),
    line: Schema.Number,
    issue: Schema.String,
    /** The start of the line. */
    excerpt: Schema.String
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `line ${this.line} of the ${this.file} file ${this.fileId} is malformed: ${this.issue}`
  }
}

/**
 * The batch has no result files yet (it is not terminal): wait for it first (`BatchWait.awaitBatch`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ResultsNotReadyError extends Schema.TaggedError<ResultsNotReadyError>(id("ResultsNotReadyError"))(
  "ResultsNotReadyError",
  { batchId: Schema.String, status: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `batch ${this.batchId} is ${this.status}: it has no results yet`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Structured answers (StructuredOutput)
// ---------------------------------------------------------------------------------------------------------------

/**
 * One result line whose answer is not a value of the caller's schema (`StructuredOutput`). It is a value per line,
 * not the failure of a stream: `customId` names the line (with `delivery`, the job's batch it came from), `reason`
 * what went wrong:
 *
 * - `"RequestFailed"`: the request got no answer: an error line (`code`: `batch_expired`, ...), a non-2xx
 *   response (`status`, and the API's `code`), or a response the API marks `failed`;
 * - `"NoAnswer"`: the model answered with something else: a refusal (`refusal`, its start), a tool call, no
 *   choices or no output text, an answer withheld by the content filter, a body that is no chat completion nor
 *   response;
 * - `"Truncated"`: the answer was cut off (`finish_reason: "length"`, a Responses `incomplete` answer):
 *   `finishReason` says why;
 * - `"NotJson"`: the answer is not JSON (`excerpt`: its first characters, never more);
 * - `"SchemaMismatch"`: the JSON does not match the schema: `path` is the first field at fault and `issues` the
 *   fields and rules broken (at most 10), never the values found there.
 *
 * @since 0.3.0
 * @category Errors
 */
export class StructuredOutputError extends Schema.TaggedError<StructuredOutputError>(id("StructuredOutputError"))(
  "StructuredOutputError",
  {
    customId: Schema.String,
    reason: Schema.Literal("RequestFailed", "NoAnswer", "Truncated", "NotJson", "SchemaMismatch"),
    /** What went wrong, in one line. */
    issue: Schema.String,
    /** The `batch_req_...` id of the line. */
    lineId: Schema.optional(Schema.String),
    /** The request's HTTP status, for a non-2xx response. */
    status: Schema.optional(Schema.Number),
    /** The API's error code (`rate_limit_exceeded`, `batch_expired`, ...). */
    code: Schema.optional(Schema.String),
    /** `finish_reason` of the choice, or the `incomplete_details.reason` of a response. */
    finishReason: Schema.optional(Schema.String),
    /** The start of the model's refusal. */
    refusal: Schema.optional(Schema.String),
    /** The start of an answer that is not JSON. */
    excerpt: Schema.optional(Schema.String),
    /** The first field of the answer at fault (`steps[1].answer`); absent for the answer as a whole. */
    path: Schema.optional(Schema.String),
    /** Each field at fault with the rule it broke (`{ path: "steps[1].answer", issue: "must be a number" }`). */
    issues: Schema.optional(
      Schema.Array(Schema.Struct({ path: Schema.optional(Schema.String), issue: Schema.String }))
    ),
    /** The tokens the answer cost (a truncated or mismatched answer is billed too). */
    usage: Schema.optional(
      Schema.Struct({ inputTokens: Schema.Number, outputTokens: Schema.Number, totalTokens: Schema.Number })
    ),
    /** Which job, part, attempt and batch the line came from, when it came from a job. */
    delivery: Schema.optional(
      Schema.Struct({ jobId: Schema.String, part: Schema.Number, attempt: Schema.Number, batchId: Schema.String })
    )
  }
) {
  /**
   * @since 0.3.0
   */
  readonly [TypeId]: TypeId = TypeId
  /**
   * `<customId>: <what went wrong>`.
   *
   * @since 0.3.0
   */
  override get message(): string {
    return `${this.customId}: ${this.issue}`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Webhooks (Webhooks)
// ---------------------------------------------------------------------------------------------------------------

/**
 * A webhook request lacks a Standard Webhooks header (`webhook-id`, `webhook-timestamp`, `webhook-signature`):
 * `missing` names them.
 *
 * @since 0.3.0
 * @category Errors
 */
export class WebhookHeadersError extends Schema.TaggedError<WebhookHeadersError>(id("WebhookHeadersError"))(
  "WebhookHeadersError",
  {
    missing: Schema.Array(Schema.String),
    /** The public operation that was called (`Webhooks.verify`, `Webhooks.unwrap`). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.3.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return inOperation(this.operation, `not a Standard Webhooks delivery: ${this.missing.join(", ")} missing`)
  }
}

/**
 * A webhook's `webhook-timestamp` is not a number of seconds (`reason: "Invalid"`), or lies further than the
 * tolerance (300 s by default) in the past (`"TooOld"`: a replay, or a delivery held up) or the future
 * (`"TooNew"`: a clock that is off).
 *
 * @since 0.3.0
 * @category Errors
 */
export class WebhookTimestampError extends Schema.TaggedError<WebhookTimestampError>(id("WebhookTimestampError"))(
  "WebhookTimestampError",
  {
    webhookId: Schema.optional(Schema.String),
    reason: Schema.Literal("Invalid", "TooOld", "TooNew"),
    /** The header as received (seconds since the epoch, when it is a number). */
    timestamp: Schema.String,
    /** This side's clock, in seconds since the epoch. */
    now: Schema.Number,
    toleranceSeconds: Schema.Number,
    /** The public operation that was called (`Webhooks.verify`, `Webhooks.unwrap`). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.3.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `${prefix(this.operation)}${this.webhookId === undefined ? "" : `webhook ${this.webhookId}: `}${
      this.reason === "Invalid"
        ? "webhook-timestamp is not a number of seconds"
        : `its timestamp is ${Math.abs(this.now - Number(this.timestamp))} s ${
          this.reason === "TooOld" ? "old" : "ahead of this clock"
        }, beyond the tolerance of ${this.toleranceSeconds} s`
    }`
  }
}

/**
 * No `v1` signature of the `webhook-signature` header matches the body under any of the secrets: the request was
 * not signed with this endpoint's secret, or its body was changed on the way (parsed and re-serialized, say).
 * `signatures` is how many `v1` signatures the header held.
 *
 * @since 0.3.0
 * @category Errors
 */
export class WebhookSignatureError extends Schema.TaggedError<WebhookSignatureError>(id("WebhookSignatureError"))(
  "WebhookSignatureError",
  {
    webhookId: Schema.String,
    signatures: Schema.Number,
    /** How many secrets each signature was checked against (more than one while a secret is rotated). */
    secrets: Schema.optional(Schema.Number),
    /** The public operation that was called (`Webhooks.verify`, `Webhooks.unwrap`). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.3.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `${prefix(this.operation)}webhook ${this.webhookId}: no signature matches (${this.signatures} v1 signature${
      this.signatures === 1 ? "" : "s"
    } checked${this.secrets === undefined ? "" : ` against ${this.secrets} secret${this.secrets === 1 ? "" : "s"}`})`
  }
}

/**
 * A verified webhook whose body is not JSON, or not an event (`{ id, type, created_at, data }`), or a known event
 * type with the wrong shape. `issue` says what is wrong.
 *
 * @since 0.3.0
 * @category Errors
 */
export class WebhookPayloadError extends Schema.TaggedError<WebhookPayloadError>(id("WebhookPayloadError"))(
  "WebhookPayloadError",
  {
    webhookId: Schema.String,
    issue: Schema.String,
    /** The public operation that was called (`Webhooks.verify`, `Webhooks.unwrap`). */
    operation: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.3.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `${prefix(this.operation)}webhook ${this.webhookId}: ${this.issue}`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Unions
// ---------------------------------------------------------------------------------------------------------------

const statusErrors = [
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  ApiError
] as const

/**
 * An error carrying an HTTP status from the API.
 *
 * @since 0.1.0
 * @category Errors
 */
export type StatusError = InstanceType<(typeof statusErrors)[number]>

/**
 * What one request to the API can fail with.
 *
 * @since 0.1.0
 * @category Errors
 */
export type RequestError = StatusError | TransportError | DecodeError | InvalidParamsError

/**
 * What `createBatch` can fail with: a request error, or a key reused with other parameters.
 *
 * @since 0.2.0
 * @category Errors
 */
export type CreateError = RequestError | IdempotencyConflictError

/**
 * Every way an input file can be refused (`BatchInput`).
 *
 * @since 0.2.0
 * @category Errors
 */
export type InputError =
  | InvalidRequestError
  | DuplicateCustomIdError
  | EndpointMismatchError
  | TooManyLinesError
  | InputTooLargeError
  | EmptyInputError

/**
 * Every way a job's input can be refused before anything is sent for the offending part (`JobPlan`).
 *
 * @since 0.2.0
 * @category Errors
 */
export type PlanError =
  | InvalidRequestError
  | DuplicateCustomIdError
  | EndpointMismatchError
  | TooManyLinesError
  | InputTooLargeError
  | EmptyInputError
  | RequestTooLargeError
  | InvalidParamsError
  | LocalFileError

/**
 * What a job can fail with, besides its input's and its sink's own errors (`Job.run`, `DurableJob`).
 *
 * @since 0.2.0
 * @category Errors
 */
export type JobError =
  | PlanError
  | PartFailedError
  | JobInputChangedError
  | CreateError
  | WaitTimeoutError
  | ResultsError
  | LocalFileError

/**
 * What reading a batch's results can fail with, besides request errors (`BatchResults`).
 *
 * @since 0.2.0
 * @category Errors
 */
export type ResultsError = MalformedLineError | ResultsNotReadyError

/**
 * How a batch can end other than `completed` (`BatchWait.awaitCompleted`).
 *
 * @since 0.2.0
 * @category Errors
 */
export type OutcomeError = BatchFailedError | BatchExpiredError | BatchCancelledError

/**
 * What verifying and decoding a webhook can fail with (`Webhooks.unwrap`): the first three mean "not from OpenAI,
 * or not now" (answer 400), the last "from OpenAI, but not an event this version can read".
 *
 * @since 0.3.0
 * @category Errors
 */
export type WebhookError = WebhookHeadersError | WebhookTimestampError | WebhookSignatureError | WebhookPayloadError

/**
 * Every error of the library as one schema: decodes a serialized error (`Schema.encode` of any of them, e.g. sent
 * between processes or stored) back into its class. The one list of the error classes: the `BatchError` type is
 * taken from it.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const BatchError = Schema.Union(
  ...statusErrors,
  TransportError,
  DecodeError,
  InvalidParamsError,
  IdempotencyConflictError,
  WaitTimeoutError,
  BatchFailedError,
  BatchExpiredError,
  BatchCancelledError,
  PaginationError,
  InvalidRequestError,
  DuplicateCustomIdError,
  EndpointMismatchError,
  TooManyLinesError,
  InputTooLargeError,
  EmptyInputError,
  RequestTooLargeError,
  LocalFileError,
  PartFailedError,
  JobInputChangedError,
  RunnerLockedError,
  JobInterruptedError,
  MalformedLineError,
  ResultsNotReadyError,
  WebhookHeadersError,
  WebhookTimestampError,
  WebhookSignatureError,
  WebhookPayloadError,
  StructuredOutputError
)

/**
 * Every error of the library.
 *
 * @since 0.1.0
 * @category Errors
 */
export type BatchError = Schema.Schema.Type<typeof BatchError>

/**
 * True for any error of this library (whatever module raised it), false for anything else.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchApi, BatchError } from "effect-openai-batch"
 *
 * const retrieve = (id: string) =>
 *   BatchApi.retrieveBatch(id).pipe(
 *     Effect.catchTag("RateLimitError", (error) =>
 *       Effect.logWarning(`rate limited, hint ${error.retryAfterMs} ms (${error.requestId})`).pipe(
 *         Effect.zipRight(Effect.fail(error))
 *       )),
 *     Effect.tapError((error) => Effect.logError(`${error._tag}: ${error.message}`))
 *   )
 *
 * assert.strictEqual(BatchError.isBatchError(new BatchError.EmptyInputError()), true)
 * assert.strictEqual(BatchError.isBatchError(new Error("other")), false)
 * ```
 *
 * @since 0.2.0
 * @category Predicates
 */
export const isBatchError = (u: unknown): u is BatchError => Predicate.hasProperty(u, TypeId)

const statusTags: ReadonlySet<string> = new Set(statusErrors.map((error) => error._tag))

/**
 * True for the errors that carry an HTTP status from the API.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const isStatusError = (error: { readonly _tag: string }): error is StatusError => statusTags.has(error._tag)

/**
 * What a failed request says about sending it again:
 *
 * - `"permanent"`: another attempt cannot succeed (a 400, 401, 403, 404, 422, a body that is not the API's, invalid
 *   parameters, a request the transport could not write, `x-should-retry: false`);
 * - `"transient"`: nothing was done and a later attempt may succeed (409, 429, `x-should-retry: true`);
 * - `"ambiguous"`: a later attempt may succeed, but this one may have reached the server and taken effect (a
 *   connection that failed or timed out, a 408, a 5xx): a request that creates something is only re-sent after
 *   checking that it did not.
 *
 * The one classifier the library reads: the retry policy retries what is not permanent, a create or upload looks
 * for what an ambiguous attempt may have made before sending it again, and a wait keeps polling through what is not
 * permanent.
 *
 * @example
 * ```ts
 * import { BatchError } from "effect-openai-batch"
 *
 * const reset = new BatchError.TransportError({ method: "POST", url: "/v1/batches", reason: "Transport" })
 * assert.strictEqual(BatchError.transience(reset), "ambiguous")
 * ```
 *
 * @since 0.3.0
 * @category Predicates
 */
export const transience = (error: RequestError): Transience => {
  switch (error._tag) {
    case "TransportError":
      return error.reason === "Transport" || error.reason === "Timeout" ? "ambiguous" : "permanent"
    case "DecodeError":
    case "InvalidParamsError":
      return "permanent"
    default: {
      if (error.shouldRetry === false) return "permanent"
      if (error.status === 408 || error.status >= 500) return "ambiguous"
      if (error.shouldRetry === true || error.status === 409 || error.status === 429) return "transient"
      return "permanent"
    }
  }
}

/**
 * See `transience`.
 *
 * @since 0.3.0
 * @category Models
 */
export type Transience = "permanent" | "transient" | "ambiguous"
