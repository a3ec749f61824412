/**
 * The request pipeline: base URL, auth and identification headers, the per-attempt timeout, and the mapping of
 * every response (or failure) to a decoded value or a typed error. One attempt; retries wrap it from outside.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as EffectContext from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { flow } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import * as BatchError from "../BatchError.js"
import type * as BatchSchedule from "../BatchSchedule.js"
import type * as OpenAiConfig from "../OpenAiConfig.js"
import * as OpenAiConfigTag from "../OpenAiConfig.js"
import type * as Decoder from "./decoder.js"
import * as Direct from "./directTransport.js"
import * as Errors from "./httpErrors.js"
import * as Retry from "./retry.js"
import * as Timeout from "./timeout.js"
import { packageName, packageVersion } from "./version.js"

/** @internal */
export const excerpt = Errors.excerpt
/** @internal */
export const statusError = Errors.statusError
/** @internal */
export const brokenOff = Errors.brokenOff

const { definedOnly, directError, parseJson, timedOut, transportError } = Errors

/** @internal */
export const userAgent = `${packageName}/${packageVersion}`

/** @internal */
export interface RequestSpec {
  readonly method: "GET" | "POST" | "DELETE"
  /** Relative to the base URL, already escaped. */
  readonly path: string
  readonly urlParams?: Record<string, string | number | undefined>
  readonly headers?: Record<string, string>
  /** A JSON body. */
  readonly body?: unknown
  /** Any other body (multipart, a stream); takes precedence over `body`. */
  readonly httpBody?: HttpBody.HttpBody
  /** This attempt's timeout; default the config's. */
  readonly timeout?: Duration.Duration
  /** The operation's span when it is not the current one (see `Context.operation`): the request id goes on it. */
  readonly span?: Tracer.Span | undefined
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
  /** Sends one attempt and decodes a 2xx body with `decode` (see `Decoder.make`). */
  readonly request: <A>(
    spec: RequestSpec,
    decode: Decoder.Decoder<A>
  ) => Effect.Effect<Decoded<A>, BatchError.RequestError>
  /**
   * Sends a request and returns the raw response once its status is 2xx (for streamed bodies); `timeout` bounds
   * the wait for the response head.
   */
  readonly raw: (
    request: HttpClientRequest.HttpClientRequest,
    timeout: Duration.Duration
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, BatchError.RequestError>
}

/** `?key=value&...` of the defined params, or "". */
const queryOf = (params: Record<string, string | number | undefined> | undefined): string => {
  let query = ""
  if (params === undefined) return query
  for (const key in params) {
    const value = params[key]
    if (value === undefined) continue
    query += `${query === "" ? "?" : "&"}${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
  }
  return query
}

const lowerCaseKeys = (record: Record<string, string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(record)) out[key.toLowerCase()] = value
  return out
}

/**
 * Puts the request id on the operation's span. Not `Effect.annotateCurrentSpan`: without a span (a pipeline used
 * bare) that fails with an exception, stack trace included, and then ignores it.
 */
const annotateRequestId = (requestId: string): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const span = EffectContext.getOption(fiber.currentContext, Tracer.ParentSpan)
    if (Option.isSome(span) && span.value._tag === "Span") span.value.attribute("openai.request_id", requestId)
    return Effect.void
  })

/** @internal */
export const make = (config: OpenAiConfig.Service, httpClient: HttpClient.HttpClient): Pipeline => {
  const identity = definedOnly({
    "user-agent": userAgent,
    "openai-organization": Option.getOrUndefined(config.organization),
    "openai-project": Option.getOrUndefined(config.project)
  })
  // A server or proxy that echoes the key back in a body must not get it into our errors.
  const secret = Redacted.value(config.apiKey)
  const scrub = (text: string) =>
    secret.length >= 8 && text.includes(secret) ? text.split(secret).join("<redacted>") : text
  const traced = config.httpSpans
    ? HttpClient.transform(httpClient, (effect) =>
      // The platform records request headers on its spans; these identify the account, like the key.
      Effect.locallyWith(
        effect,
        Headers.currentRedactedNames,
        (names) => [...names, "openai-organization", "openai-project"]
      ))
    : HttpClient.withTracerDisabledWhen(httpClient, () => true)
  /** For `raw`, which takes a request relative to the base URL. */
  const client = traced.pipe(
    HttpClient.mapRequest(flow(
      HttpClientRequest.prependUrl(config.baseUrl),
      HttpClientRequest.bearerToken(config.apiKey),
      HttpClientRequest.setHeaders(identity),
      HttpClientRequest.acceptJson
    ))
  )
  // Every JSON call's headers, built once (what prependUrl/bearerToken/setHeaders/acceptJson did per call).
  const commonHeaders: Record<string, string> = {
    authorization: `Bearer ${secret}`,
    ...identity,
    accept: "application/json"
  }
  const commonPlatformHeaders = Headers.fromInput(commonHeaders)
  // The direct exchange of a transport that has one (./directTransport.ts), unless the platform's per-attempt
  // spans are wanted (they are made by the HttpClient) or the base URL has parts a plain path cannot carry.
  const base = new URL(config.baseUrl)
  const direct = config.httpSpans || base.search !== "" || base.hash !== "" ? undefined : Direct.get(httpClient)
  const basePath = base.pathname === "/" ? "" : base.pathname

  /** Runs one attempt under the per-attempt timeout; the body read is inside it too. */
  const withTimeout = <A>(
    method: string,
    url: string,
    timeout: Duration.Duration,
    effect: Effect.Effect<A, BatchError.RequestError>
  ): Effect.Effect<A, BatchError.RequestError> =>
    Timeout.timeoutFail(effect, timeout, () => timedOut(method, url, timeout))

  const failStatus = (response: HttpClientResponse.HttpClientResponse, method: string, url: string) =>
    Effect.flatMap(
      Effect.zip(Effect.orElseSucceed(response.text, () => ""), Clock.currentTimeMillis),
      ([body, now]) => Effect.fail(statusError(response, method, url, scrub(body), now))
    )

  const decodeBody = <A>(
    spec: RequestSpec,
    url: string,
    decode: Decoder.Decoder<A>,
    status: number,
    headers: Readonly<Record<string, string>>,
    text: string
  ): Effect.Effect<Decoded<A>, BatchError.DecodeError> => {
    const requestId = headers["x-request-id"]
    const fail = (issue: string) =>
      Effect.fail(
        new BatchError.DecodeError({
          method: spec.method,
          url,
          status,
          issue,
          bodyExcerpt: excerpt(scrub(text)),
          message: `${spec.method} ${url}: the ${status} response does not match the API's schema: ${issue}`,
          ...definedOnly({ requestId })
        })
      )
    const json = parseJson(text)
    if (Either.isLeft(json)) return fail(`not JSON (${json.left})`)
    const decoded = decode(json.right)
    if (Either.isLeft(decoded)) return fail(ParseResult.TreeFormatter.formatIssueSync(decoded.left))
    const result: Decoded<A> = { value: decoded.right, requestId, headers }
    if (requestId === undefined) return Effect.succeed(result)
    if (spec.span === undefined) return Effect.as(annotateRequestId(requestId), result)
    spec.span.attribute("openai.request_id", requestId)
    return Effect.succeed(result)
  }

  /** One attempt through the transport's direct exchange: the request is a plain object, the timeout its own. */
  const requestDirect = <A>(
    exchange: Direct.Direct["exchange"],
    spec: RequestSpec,
    decode: Decoder.Decoder<A>,
    url: string,
    timeout: Duration.Duration
  ): Effect.Effect<Decoded<A>, BatchError.RequestError> => {
    let headers = commonHeaders
    let body: string | undefined
    if (spec.headers !== undefined) headers = { ...headers, ...lowerCaseKeys(spec.headers) }
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body)
      headers = { ...headers, "content-type": "application/json" }
    }
    const request = {
      method: spec.method,
      origin: base.origin,
      path: `${basePath}${spec.path}${queryOf(spec.urlParams)}`,
      headers,
      body
    }
    const millis = Timeout.timerMillis(timeout)
    const onFailure = directError(spec.method, url, timeout)
    const attempt = Effect.clockWith((clock) =>
      Timeout.isLive(clock)
        // The exchange arms its own timer: no fiber is forked for the timeout.
        ? Effect.mapError(exchange({ ...request, timeoutMillis: millis }), onFailure)
        : withTimeout(
          spec.method,
          url,
          timeout,
          Effect.mapError(exchange({ ...request, timeoutMillis: undefined }), onFailure)
        )
    )
    return Effect.flatMap(attempt, (response): Effect.Effect<Decoded<A>, BatchError.RequestError> => {
      if (response.status < 200 || response.status >= 300) {
        return Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => Effect.fail(statusError(response, spec.method, url, scrub(response.text), now))
        )
      }
      return decodeBody(spec, url, decode, response.status, response.headers, response.text)
    })
  }

  const request = <A>(
    spec: RequestSpec,
    decode: Decoder.Decoder<A>
  ): Effect.Effect<Decoded<A>, BatchError.RequestError> => {
    const url = `${config.baseUrl}${spec.path}`
    const timeout = spec.timeout ?? config.timeout
    if (direct !== undefined && spec.httpBody === undefined) {
      return requestDirect(direct.exchange, spec, decode, url, timeout)
    }
    // The whole request at once (one Headers copy), not the four per-call steps of `client`'s mapRequest.
    const headers = spec.headers === undefined
      ? commonPlatformHeaders
      : Headers.setAll(commonPlatformHeaders, spec.headers)
    const base = HttpClientRequest.make(spec.method)(url, {
      urlParams: definedOnly(spec.urlParams ?? {}),
      headers
    })
    const req = spec.httpBody !== undefined
      ? HttpClientRequest.setBody(base, spec.httpBody)
      : spec.body !== undefined
      ? HttpClientRequest.bodyUnsafeJson(base, spec.body)
      : base
    const onTransportError = transportError(spec.method, url)
    const attempt = Effect.flatMap(
      Effect.mapError(traced.execute(req), onTransportError),
      (response): Effect.Effect<Decoded<A>, BatchError.RequestError> => {
        if (response.status < 200 || response.status >= 300) return failStatus(response, spec.method, url)
        // Some transports rebuild `headers` on every access: read them once.
        const headers = response.headers
        return Effect.flatMap(
          Effect.mapError(response.text, onTransportError),
          (text) => decodeBody(spec, url, decode, response.status, headers, text)
        )
      }
    )
    return withTimeout(spec.method, url, timeout, attempt)
  }

  const raw = (req: HttpClientRequest.HttpClientRequest, timeout: Duration.Duration) => {
    const url = `${config.baseUrl}${req.url}`
    const attempt = Effect.flatMap(
      Effect.mapError(client.execute(req), transportError(req.method, url)),
      (response) =>
        response.status >= 200 && response.status < 300
          ? Effect.succeed(response)
          : failStatus(response, req.method, url)
    )
    return withTimeout(req.method, url, timeout, attempt)
  }

  return { client, baseUrl: config.baseUrl, request, raw }
}

/** What a service over this pipeline needs: the config, the pipeline, a retry wrapper, and spans. @internal */
export interface Context {
  readonly config: OpenAiConfig.Service
  readonly pipeline: Pipeline
  /** Retries `effect` on the call's schedule, else the policy in effect (`BatchSchedule.currentRetry`). */
  readonly retrying: <A>(
    effect: Effect.Effect<A, BatchError.RequestError>,
    callOptions: BatchSchedule.CallOptions | undefined
  ) => Effect.Effect<A, BatchError.RequestError>
  /**
   * Runs `body` in the span of a public operation, given to it. The span is the current one inside only when the
   * platform's per-attempt HTTP spans are on (`OpenAiConfig.httpSpans`, whose spans are its children): otherwise
   * nothing inside makes a span, and making it current (a copy of the fiber's context, set and restored) costs as
   * much again as the span (bench/inprocess.ts: ~10 µs of ~25 per call). Pass the span on to `RequestSpec.span`.
   */
  readonly operation: <A, E>(
    name: string,
    attributes: Record<string, string> | undefined,
    body: (span: Tracer.Span) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E>
}

const noStackTrace = { captureStackTrace: false } as const

/** Reads the config and the HttpClient from context. @internal */
export const context: Effect.Effect<Context, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Effect.gen(
  function*() {
    const config = yield* OpenAiConfigTag.OpenAiConfig
    const pipeline = make(config, yield* HttpClient.HttpClient)
    // Not `Effect.fn`: that captures a stack trace on every call (a `new Error()`, ~7 µs of CPU per `retrieveBatch`
    // in bench/inprocess.ts), for a `code.stacktrace` attribute written only on failure. Same name and attributes.
    const operation = <A, E>(
      name: string,
      attributes: Record<string, string> | undefined,
      body: (span: Tracer.Span) => Effect.Effect<A, E>
    ): Effect.Effect<A, E> => {
      const options = attributes === undefined ? noStackTrace : { captureStackTrace: false, attributes }
      return config.httpSpans
        ? Effect.useSpan(name, options, (span) => Effect.withParentSpan(body(span), span))
        : Effect.useSpan(name, options, body)
    }
    return { config, pipeline, retrying: (effect, callOptions) => Retry.retry(effect, callOptions?.retry), operation }
  }
)

/** The per-attempt timeout of a call: its own, else the config's. @internal */
export const timeoutOf = (
  config: OpenAiConfig.Service,
  callOptions: BatchSchedule.CallOptions | undefined
): Duration.Duration => callOptions?.timeout === undefined ? config.timeout : Duration.decode(callOptions.timeout)
