/**
 * The request pipeline: base URL, auth and identification headers, the per-attempt timeout, and the mapping of
 * every response (or failure) to a decoded value or a typed error. One attempt; retries wrap it from outside.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { flow } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as BatchError from "../BatchError.js"
import type * as OpenAiConfig from "../OpenAiConfig.js"
import { retryAfterMillis } from "./retryAfter.js"
import { packageName, packageVersion } from "./version.js"

/** @internal */
export const userAgent = `${packageName}/${packageVersion}`

/** @internal */
export interface RequestSpec {
  readonly method: "GET" | "POST"
  /** Relative to the base URL, already escaped. */
  readonly path: string
  readonly urlParams?: Record<string, string | number | undefined>
  readonly headers?: Record<string, string>
  readonly body?: unknown
}

/** @internal */
export interface Decoded<A> {
  readonly value: A
  readonly requestId: string | undefined
  readonly headers: Readonly<Record<string, string>>
}

/** @internal */
export interface Pipeline {
  readonly client: HttpClient.HttpClient
  readonly baseUrl: string
  readonly request: <A, I>(
    spec: RequestSpec,
    schema: Schema.Schema<A, I>
  ) => Effect.Effect<Decoded<A>, BatchError.RequestError>
  /** Sends a request and returns the raw response once its status is 2xx (for streamed bodies). */
  readonly raw: (
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, BatchError.RequestError>
}

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
    code: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number)))
  })
})
const decodeEnvelope = Schema.decodeUnknownOption(ErrorEnvelope)

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : String(error))
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

const definedOnly = <A extends Record<string, unknown>>(record: A): { [K in keyof A]: Exclude<A[K], undefined> } => {
  const out: Record<string, unknown> = {}
  for (const key in record) if (record[key] !== undefined) out[key] = record[key]
  return out as { [K in keyof A]: Exclude<A[K], undefined> }
}

/** @internal */
export const statusError = (
  response: { readonly status: number; readonly headers: Readonly<Record<string, string>> },
  method: string,
  url: string,
  body: string,
  nowMillis: number
): BatchError.StatusError => {
  const headers = response.headers
  const requestId = headers["x-request-id"]
  const envelope = Option.getOrUndefined(Option.flatMap(parseJson(body).pipe(Either.getRight), decodeEnvelope))
  const apiMessage = envelope?.error.message ?? undefined
  const shouldRetry = headers["x-should-retry"]
  const fields = definedOnly({
    status: response.status,
    method,
    url,
    type: envelope?.error.type ?? undefined,
    code: envelope?.error.code === null || envelope?.error.code === undefined ? undefined : String(envelope.error.code),
    param: envelope?.error.param ?? undefined,
    requestId,
    retryAfterMs: retryAfterMillis(headers, nowMillis),
    shouldRetry: shouldRetry === "true" ? true : shouldRetry === "false" ? false : undefined,
    bodyExcerpt: envelope === undefined ? excerpt(body) : undefined
  })
  const detail = apiMessage ?? (body.length === 0 ? "status code (no body)" : excerpt(body))
  const message = `${response.status} ${detail}${requestId === undefined ? "" : ` (request id ${requestId})`}`
  const ErrorClass = statusErrorClass(response.status)
  return new ErrorClass({ ...fields, message })
}

const transportError = (method: string, url: string) => (error: HttpClientError.HttpClientError) =>
  new BatchError.TransportError({
    method,
    url,
    reason: error._tag === "RequestError" && error.reason !== "Transport" ? error.reason : "Transport",
    message: `${method} ${url} failed: ${error.reason}${error.description ? ` (${error.description})` : ""}${
      error.cause instanceof Error ? `: ${error.cause.message}` : ""
    }`
  })

/** @internal */
export const make = (config: OpenAiConfig.Service, httpClient: HttpClient.HttpClient): Pipeline => {
  const identity = definedOnly({
    "user-agent": userAgent,
    "openai-organization": Option.getOrUndefined(config.organization),
    "openai-project": Option.getOrUndefined(config.project)
  })
  const client = httpClient.pipe(
    HttpClient.mapRequest(flow(
      HttpClientRequest.prependUrl(config.baseUrl),
      HttpClientRequest.bearerToken(config.apiKey),
      HttpClientRequest.setHeaders(identity),
      HttpClientRequest.acceptJson
    ))
  )
  const timeoutMillis = Duration.toMillis(config.timeout)

  /** Runs one attempt under the per-attempt timeout; the body read is inside it too. */
  const withTimeout = <A>(
    method: string,
    url: string,
    effect: Effect.Effect<A, BatchError.RequestError>
  ): Effect.Effect<A, BatchError.RequestError> =>
    Effect.timeoutFail(effect, {
      duration: timeoutMillis,
      onTimeout: () =>
        new BatchError.TransportError({
          method,
          url,
          reason: "Timeout",
          message: `${method} ${url} timed out after ${Duration.format(config.timeout)}`
        })
    })

  const failStatus = (response: HttpClientResponse.HttpClientResponse, method: string, url: string) =>
    Effect.flatMap(
      Effect.zip(Effect.orElseSucceed(response.text, () => ""), Clock.currentTimeMillis),
      ([body, now]) => Effect.fail(statusError(response, method, url, body, now))
    )

  const request = <A, I>(spec: RequestSpec, schema: Schema.Schema<A, I>) => {
    const decode = ParseResult.decodeUnknownEither(schema)
    const url = `${config.baseUrl}${spec.path}`
    let req = HttpClientRequest.make(spec.method)(spec.path, {
      urlParams: definedOnly(spec.urlParams ?? {}),
      headers: spec.headers ?? {}
    })
    if (spec.body !== undefined) req = HttpClientRequest.bodyUnsafeJson(req, spec.body)
    const attempt = Effect.gen(function*() {
      const response = yield* Effect.mapError(client.execute(req), transportError(spec.method, url))
      if (response.status < 200 || response.status >= 300) {
        return yield* failStatus(response, spec.method, url)
      }
      const requestId = response.headers["x-request-id"]
      const text = yield* Effect.mapError(response.text, transportError(spec.method, url))
      const fail = (issue: string) =>
        new BatchError.DecodeError({
          method: spec.method,
          url,
          status: response.status,
          issue,
          bodyExcerpt: excerpt(text),
          message: `${spec.method} ${url}: the ${response.status} response does not match the API's schema: ${issue}`,
          ...definedOnly({ requestId })
        })
      const json = parseJson(text)
      if (Either.isLeft(json)) return yield* Effect.fail(fail(`not JSON (${json.left})`))
      const decoded = decode(json.right)
      if (Either.isLeft(decoded)) return yield* Effect.fail(fail(ParseResult.TreeFormatter.formatIssueSync(decoded.left)))
      if (requestId !== undefined) yield* Effect.annotateCurrentSpan("openai.request_id", requestId)
      return { value: decoded.right, requestId, headers: response.headers }
    })
    return withTimeout(spec.method, url, attempt)
  }

  const raw = (req: HttpClientRequest.HttpClientRequest) => {
    const url = `${config.baseUrl}${req.url}`
    return Effect.flatMap(
      Effect.mapError(client.execute(req), transportError(req.method, url)),
      (response) =>
        response.status >= 200 && response.status < 300
          ? Effect.succeed(response)
          : failStatus(response, req.method, url)
    )
  }

  return { client, baseUrl: config.baseUrl, request, raw }
}
