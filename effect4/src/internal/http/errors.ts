/**
 * The request pipeline's errors: a status error from a response (OpenAI's error envelope read leniently, the
 * server's retry hints), a transport error from the platform's error or an exchange's failure (the transport's own
 * error and code kept, never the request with its credentials), a timeout, a body that is not the API's. Every
 * message starts with the public operation that was called.
 *
 * The Effect 4 edition: the platform's error is Effect 4's one `HttpClientError` with a `reason`
 * (`TransportError`, `EncodeError`, `InvalidUrlError` before a response; `DecodeError`, ... after one).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as BatchError from "../../BatchError.js"
import type * as Transport from "../../transport/Transport.js"
import { retryAfterMillis } from "./retryAfter.js"

const excerptLength = 300

/** @internal */
export const excerpt = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > excerptLength ? `${flat.slice(0, excerptLength)}…` : flat
}

/** OpenAI's error envelope, read leniently: a proxy's or a mock's body may be anything. */
const ErrorEnvelope = Schema.Struct({
  error: Schema.Struct({
    message: Schema.optional(Schema.NullOr(Schema.String)),
    type: Schema.optional(Schema.NullOr(Schema.String)),
    param: Schema.optional(Schema.NullOr(Schema.String)),
    code: Schema.optional(Schema.NullOr(Schema.Union([Schema.String, Schema.Number])))
  })
})
const decodeEnvelope = Schema.decodeUnknownOption(ErrorEnvelope)

/** @internal */
export const parseJson = (text: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(text))
  } catch (error) {
    return Result.fail(error instanceof Error ? error.message : String(error))
  }
}

const statusErrorClass = (status: number) => {
  switch (status) {
    case 400:
      return BatchError.BadRequestError
    case 401:
      return BatchError.AuthenticationError
    case 403:
      return BatchError.PermissionDeniedError
    case 404:
      return BatchError.NotFoundError
    case 409:
      return BatchError.ConflictError
    case 422:
      return BatchError.UnprocessableEntityError
    case 429:
      return BatchError.RateLimitError
    default:
      return status >= 500 ? BatchError.InternalServerError : BatchError.ApiError
  }
}

/** @internal */
export const definedOnly = <A extends Record<string, unknown>>(
  record: A
): { [K in keyof A]: Exclude<A[K], undefined> } => {
  const out: Record<string, unknown> = {}
  for (const key in record) if (record[key] !== undefined) out[key] = record[key]
  return out as { [K in keyof A]: Exclude<A[K], undefined> }
}

/** What every error of one request names. @internal */
export interface Origin {
  readonly operation: string
  readonly method: string
  readonly url: string
  /**
   * Replaces the API key wherever a server, a proxy or a transport put it (a body, a header, an error's message):
   * applied to every value an error takes from the response or the transport.
   */
  readonly scrub?: ((text: string) => string) | undefined
}

/** Replaces every occurrence of `secret` in a text with `<redacted>` (a secret under 8 characters is left). @internal */
export const scrubber = (secret: string) => (text: string): string =>
  secret.length >= 8 && text.includes(secret) ? text.split(secret).join("<redacted>") : text

const identity = (text: string) => text

/** Whether `scrub` would change the cause's message or stack, or those of a cause it holds. */
const leaks = (cause: unknown, scrub: (text: string) => string): boolean => {
  let current: unknown = cause
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current === "string") return scrub(current) !== current
    if (!Predicate.isObject(current)) return false
    for (const key of ["message", "stack"] as const) {
      const text = Predicate.hasProperty(current, key) ? current[key] : undefined
      if (typeof text === "string" && scrub(text) !== text) return true
    }
    current = Predicate.hasProperty(current, "cause") ? current.cause : undefined
  }
  return false
}

/** The cause itself, or, when it holds the key, an `Error` with its message scrubbed (the chain is dropped). */
const scrubCause = (cause: unknown, scrub: (text: string) => string): unknown => {
  if (!leaks(cause, scrub)) return cause
  if (typeof cause === "string") return scrub(cause)
  const message = Predicate.hasProperty(cause, "message") && typeof cause.message === "string"
    ? cause.message
    : "the transport failed"
  return new Error(scrub(message))
}

/** @internal */
export const statusError = (
  origin: Origin,
  response: { readonly status: number; readonly headers: Readonly<Record<string, string>> },
  body: string,
  nowMillis: number
): BatchError.StatusError => {
  const headers = response.headers
  const scrub = origin.scrub ?? identity
  const clean = (text: string | null | undefined) => text === null || text === undefined ? undefined : scrub(text)
  const requestId = clean(headers["x-request-id"])
  const envelope = Option.getOrUndefined(Option.flatMap(Result.getSuccess(parseJson(body)), decodeEnvelope))
  // Scrubbed once parsed too: an escape (`\/`, `\u0073`) hides the key from a scrub of the raw body.
  const apiMessage = clean(envelope?.error.message)
  const shouldRetry = headers["x-should-retry"]
  const fields = definedOnly({
    operation: origin.operation,
    status: response.status,
    method: origin.method,
    url: origin.url,
    type: clean(envelope?.error.type),
    code: envelope?.error.code === null || envelope?.error.code === undefined
      ? undefined
      : scrub(String(envelope.error.code)),
    param: clean(envelope?.error.param),
    apiMessage,
    requestId,
    retryAfterMs: retryAfterMillis(headers, nowMillis),
    shouldRetry: shouldRetry === "true" ? true : shouldRetry === "false" ? false : undefined,
    // The body's start when it says nothing else: not the API's envelope, or one without a message.
    bodyExcerpt: apiMessage === undefined ? excerpt(scrub(body)) : undefined
  })
  const ErrorClass = statusErrorClass(response.status)
  return new ErrorClass(fields)
}

/** The first string `code` along an error's cause chain (`ECONNRESET`, `UND_ERR_SOCKET`, ...). */
const codeOf = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && Predicate.isObject(current); depth++) {
    if (Predicate.hasProperty(current, "code") && typeof current.code === "string") return current.code
    current = Predicate.hasProperty(current, "cause") ? current.cause : undefined
  }
  return undefined
}

/**
 * The library's error for a request that got no usable response. It keeps the transport's own error (the
 * platform error's `cause`: undici's, fetch's or the system's) and its code, but not the platform error itself,
 * whose request holds the credentials.
 */
const noResponse = (
  origin: Origin,
  reason: BatchError.TransportError["reason"],
  /** What failed, in the platform's words: `Transport`, `Decode` (a body that broke off), `InvalidUrl`... */
  label: string,
  cause: unknown,
  description: string | undefined
): BatchError.TransportError => {
  const scrub = origin.scrub ?? identity
  const found = codeOf(cause)
  const code = found === undefined ? undefined : scrub(found)
  // Without a cause, the platform's description is what tells (the message is read from the cause).
  const kept = scrubCause(cause ?? description, scrub)
  return new BatchError.TransportError({
    operation: origin.operation,
    method: origin.method,
    url: origin.url,
    reason,
    ...(label === "Decode" ? { bodyBrokenOff: true } : {}),
    ...(code === undefined ? {} : { code }),
    ...(kept === undefined ? {} : { cause: kept })
  })
}

/** The reason of a platform error in Effect 3's words (`Transport`, `Encode`, `InvalidUrl`, `Decode`, ...). */
const labels: Record<HttpClientError.HttpClientErrorReason["_tag"], string> = {
  TransportError: "Transport",
  EncodeError: "Encode",
  InvalidUrlError: "InvalidUrl",
  StatusCodeError: "StatusCode",
  DecodeError: "Decode",
  EmptyBodyError: "EmptyBody"
}

/** A platform client's failure. @internal */
export const transportError = (origin: Origin, error: HttpClientError.HttpClientError): BatchError.TransportError => {
  const reason = error.reason
  return noResponse(
    origin,
    reason._tag === "EncodeError" ? "Encode" : reason._tag === "InvalidUrlError" ? "InvalidUrl" : "Transport",
    labels[reason._tag],
    reason.cause,
    reason.description
  )
}

/** @internal */
export const timedOut = (origin: Origin, timeout: Duration.Duration): BatchError.TransportError =>
  new BatchError.TransportError({
    operation: origin.operation,
    method: origin.method,
    url: origin.url,
    reason: "Timeout",
    timeoutMs: Duration.toMillis(timeout)
  })

/** A download's body that went `idle` without a byte after its head arrived (broken off by the library). @internal */
export const stalled = (origin: Origin, idle: Duration.Duration): BatchError.TransportError =>
  new BatchError.TransportError({
    operation: origin.operation,
    method: origin.method,
    url: origin.url,
    reason: "Timeout",
    timeoutMs: Duration.toMillis(idle),
    bodyBrokenOff: true
  })

/** A `Transport` exchange's failure, worded as the platform's error for the same failure would be. @internal */
export const exchangeError = (
  origin: Origin,
  timeout: Duration.Duration,
  failure: Transport.ExchangeError
): BatchError.TransportError => {
  switch (failure.reason) {
    case "Timeout":
      return timedOut(origin, timeout)
    case "Encode":
      return noResponse(origin, "Encode", "Encode", failure.cause, undefined)
    case "Body":
      return noResponse(origin, "Transport", "Decode", failure.cause, undefined)
    case "Transport":
      return noResponse(origin, "Transport", "Transport", failure.cause, undefined)
  }
}

/** A response body that broke off after its head arrived (a download cut short). @internal */
export const brokenOff = (origin: Origin, failure: HttpClientError.HttpClientError): BatchError.TransportError => {
  const error = failure.reason
  const scrub = origin.scrub ?? identity
  const found = codeOf(error.cause)
  const code = found === undefined ? undefined : scrub(found)
  return new BatchError.TransportError({
    operation: origin.operation,
    method: origin.method,
    url: origin.url,
    reason: "Transport",
    bodyBrokenOff: true,
    ...(code === undefined ? {} : { code }),
    ...(error.cause === undefined ? {} : { cause: scrubCause(error.cause, scrub) })
  })
}

/**
 * A 2xx body that is not the API's: `issue` names where and which rule, never the value (a body may hold anything;
 * the excerpt shows its start), and is the message of `cause` too.
 *
 * @internal
 */
export const decodeError = (
  origin: Origin,
  status: number,
  requestId: string | undefined,
  issue: string,
  body: string
): BatchError.DecodeError =>
  new BatchError.DecodeError({
    operation: origin.operation,
    method: origin.method,
    url: origin.url,
    status,
    issue,
    bodyExcerpt: excerpt((origin.scrub ?? identity)(body)),
    cause: new Error(issue),
    ...definedOnly({ requestId: requestId === undefined ? undefined : (origin.scrub ?? identity)(requestId) })
  })
