/**
 * Every error the library can fail with, as one closed union of `Schema.TaggedError` classes. Tell them apart with
 * `Effect.catchTag`; each serializes (they are schemas) and none holds the API key or a request's headers.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Batch, BatchErrorItem } from "./Batch.js"

const id = (name: string) => `effect-openai-batch/BatchError/${name}`

/** Fields every error from an HTTP status carries. */
const statusFields = {
  /** `"<status> <api message>"`, plus the request id when known. */
  message: Schema.String,
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
) {}

/**
 * 401: the API key is missing, wrong or revoked.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AuthenticationError extends Schema.TaggedError<AuthenticationError>(id("AuthenticationError"))(
  "AuthenticationError",
  statusFields
) {}

/**
 * 403: the key may not do this (project, organization or region rules).
 *
 * @since 0.1.0
 * @category Errors
 */
export class PermissionDeniedError extends Schema.TaggedError<PermissionDeniedError>(id("PermissionDeniedError"))(
  "PermissionDeniedError",
  statusFields
) {}

/**
 * 404: no such batch (or file) for this key.
 *
 * @since 0.1.0
 * @category Errors
 */
export class NotFoundError extends Schema.TaggedError<NotFoundError>(id("NotFoundError"))(
  "NotFoundError",
  statusFields
) {}

/**
 * 409: a conflict (OpenAI also uses it for lock timeouts, so it is retried by default).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ConflictError extends Schema.TaggedError<ConflictError>(id("ConflictError"))(
  "ConflictError",
  statusFields
) {}

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
{}

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
) {}

/**
 * 5xx: the server failed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InternalServerError extends Schema.TaggedError<InternalServerError>(id("InternalServerError"))(
  "InternalServerError",
  statusFields
) {}

/**
 * Any other non-2xx status (408, 418, a 3xx the client did not follow, ...).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ApiError extends Schema.TaggedError<ApiError>(id("ApiError"))("ApiError", statusFields) {}

/**
 * The request never got a response: connection refused or reset, DNS, TLS, or the per-request timeout.
 * `reason: "Timeout"` means the timeout fired; the request may or may not have reached the server.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TransportError extends Schema.TaggedError<TransportError>(id("TransportError"))("TransportError", {
  message: Schema.String,
  method: Schema.String,
  url: Schema.String,
  reason: Schema.Literal("Transport", "Timeout", "Encode", "InvalidUrl")
}) {}

/**
 * A 2xx response whose body is not what the API documents (not JSON, or not the expected shape).
 *
 * @since 0.1.0
 * @category Errors
 */
export class DecodeError extends Schema.TaggedError<DecodeError>(id("DecodeError"))("DecodeError", {
  message: Schema.String,
  method: Schema.String,
  url: Schema.String,
  status: Schema.Number,
  requestId: Schema.optional(Schema.String),
  /** The parse issue, formatted. */
  issue: Schema.String,
  bodyExcerpt: Schema.String
}) {}

/**
 * Parameters rejected on the client before anything was sent (a bad batch id, a limit of 500, 17 metadata
 * pairs, ...).
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidParamsError extends Schema.TaggedError<InvalidParamsError>(id("InvalidParamsError"))(
  "InvalidParamsError",
  {
    message: Schema.String,
    operation: Schema.String,
    /** The formatted validation issue, with the path of the offending field. */
    issue: Schema.String
  }
) {}

/**
 * A wait reached its deadline. `lastBatch` is the last snapshot it saw (absent if no poll ever succeeded).
 *
 * @since 0.1.0
 * @category Errors
 */
export class WaitTimeoutError extends Schema.TaggedError<WaitTimeoutError>(id("WaitTimeoutError"))(
  "WaitTimeoutError",
  {
    message: Schema.String,
    batchId: Schema.String,
    /** How long the wait lasted, in milliseconds. */
    waitedMs: Schema.Number,
    lastBatch: Schema.optional(Batch)
  }
) {}

/**
 * The batch ended `failed` (usually validation of the input file). `errors` lists what was wrong, by line.
 *
 * @since 0.1.0
 * @category Errors
 */
export class BatchFailedError extends Schema.TaggedError<BatchFailedError>(id("BatchFailedError"))(
  "BatchFailedError",
  { message: Schema.String, batch: Batch, errors: Schema.Array(BatchErrorItem) }
) {}

/**
 * The batch ended `expired`: it did not finish in its completion window. It may still hold partial results in
 * `batch.output_file_id` (already billed).
 *
 * @since 0.1.0
 * @category Errors
 */
export class BatchExpiredError extends Schema.TaggedError<BatchExpiredError>(id("BatchExpiredError"))(
  "BatchExpiredError",
  { message: Schema.String, batch: Batch }
) {}

/**
 * The batch ended `cancelled`. It may hold partial results in `batch.output_file_id`.
 *
 * @since 0.1.0
 * @category Errors
 */
export class BatchCancelledError extends Schema.TaggedError<BatchCancelledError>(id("BatchCancelledError"))(
  "BatchCancelledError",
  { message: Schema.String, batch: Batch }
) {}

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
    message: Schema.String,
    reason: Schema.Literal("EmptyPageWithMore", "RepeatedCursor"),
    cursor: Schema.optional(Schema.String),
    pages: Schema.Number
  }
) {}

/**
 * An error carrying an HTTP status from the API.
 *
 * @since 0.1.0
 * @category Errors
 */
export type StatusError =
  | BadRequestError
  | AuthenticationError
  | PermissionDeniedError
  | NotFoundError
  | ConflictError
  | UnprocessableEntityError
  | RateLimitError
  | InternalServerError
  | ApiError

/**
 * What one request to the API can fail with.
 *
 * @since 0.1.0
 * @category Errors
 */
export type RequestError = StatusError | TransportError | DecodeError | InvalidParamsError

/**
 * Every error of the library.
 *
 * @since 0.1.0
 * @category Errors
 */
export type BatchError =
  | RequestError
  | WaitTimeoutError
  | BatchFailedError
  | BatchExpiredError
  | BatchCancelledError
  | PaginationError

const statusTags: ReadonlySet<string> = new Set([
  "BadRequestError",
  "AuthenticationError",
  "PermissionDeniedError",
  "NotFoundError",
  "ConflictError",
  "UnprocessableEntityError",
  "RateLimitError",
  "InternalServerError",
  "ApiError"
])

/**
 * True for the errors that carry an HTTP status from the API.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const isStatusError = (error: { readonly _tag: string }): error is StatusError => statusTags.has(error._tag)
