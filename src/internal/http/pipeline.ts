/**
 * The request pipeline: the one path every request of the library takes. It builds the request (base URL and its
 * query, authentication and identification headers, the attempt's timeout from the region's policy), hands it to
 * the transport, and maps whatever comes back to a decoded value or a typed error naming the public operation the
 * user called. One attempt; the retry policy wraps it from outside (./retry.ts).
 *
 * The transport is the `Transport` exchange when the `HttpClient` in context is the transport's own (see
 * transport/Transport.ts), and the `HttpClient` otherwise; uploads (streamed bodies) and downloads (streamed
 * responses) always take the `HttpClient`. Both give the same three things back (status, headers, body text), and
 * from there on the path is one.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as EffectContext from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import type * as BatchError from "../../BatchError.js"
import * as BatchSchedule from "../../BatchSchedule.js"
import * as OpenAiConfig from "../../OpenAiConfig.js"
import * as Transport from "../../transport/Transport.js"
import type * as Decoder from "../decoder.js"
import * as Params from "../params.js"
import { packageName, packageVersion } from "../version.js"
import * as Errors from "./errors.js"
import * as Operation from "./operation.js"
import * as Timeout from "./timeout.js"

/** @internal */
export const userAgent = `${packageName}/${packageVersion}`

/** @internal */
export interface RequestSpec {
  /** The public operation sending it (`retrieveBatch`, `uploadFile`, ...), unless an outer one named the region. */
  readonly operation: string
  readonly method: "GET" | "POST" | "DELETE"
  /** Relative to the base URL, already escaped. */
  readonly path: string
  readonly query?: Readonly<Record<string, string | number | undefined>> | undefined
  /** Lower-case names. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** A JSON body. */
  readonly body?: unknown
  /** Any other body (multipart, a stream): sent through the `HttpClient`. */
  readonly httpBody?: HttpBody.HttpBody | undefined
  /** The attempt's timeout when the region sets none (`BatchSchedule.withTimeout`); default `timeoutDefaults.request`. */
  readonly defaultTimeout?: Duration.Duration | undefined
  /** The operation's span: the request id goes on it. */
  readonly span?: Tracer.Span | undefined
}

/** @internal */
export interface Decoded<A> {
  readonly value: A
  readonly requestId: string | undefined
  readonly headers: Readonly<Record<string, string>>
}

/** A streamed response whose status is 2xx, and how to word a failure of its body. @internal */
export interface Opened {
  readonly response: HttpClientResponse.HttpClientResponse
  readonly brokenOff: (error: HttpClientError.ResponseError) => BatchError.TransportError
  /** A body that went `idle` without a byte (`BatchSchedule.currentIdleTimeout`). */
  readonly stalled: (idle: Duration.Duration) => BatchError.TransportError
  /** A response the request cannot use (`issue` says why). */
  readonly unusable: (issue: string) => BatchError.DecodeError
}

/** @internal */
export interface Pipeline {
  /** Sends one attempt and decodes a 2xx body with `decode` (see `Decoder.make`). */
  readonly request: <A>(
    spec: RequestSpec,
    decode: Decoder.Decoder<A>
  ) => Effect.Effect<Decoded<A>, BatchError.RequestError>
  /**
   * Sends one attempt of a `GET` whose body is read as a stream; the timeout bounds the wait for the head (and the
   * body of a non-2xx answer, read whole for its error).
   */
  readonly open: (spec: RequestSpec) => Effect.Effect<Opened, BatchError.RequestError>
  /**
   * True when the bodies `open` streams are cut by the transport once silent: the `HttpClient` in context is the
   * `Transport`'s own and it declares `bodyIdleTimeout`. A download then needs no idle watchdog unless one is set.
   */
  readonly bodyIdleTimeout: boolean
}

/** A lone surrogate, on which `encodeURIComponent` throws: replaced with U+FFFD, as `URLSearchParams` does. */
const loneSurrogates = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const encode = (text: string) => encodeURIComponent(text.replace(loneSurrogates, "\ufffd"))

/** The request's query: its own parameters after the base URL's. */
const queryString = (base: string, params: RequestSpec["query"]): string => {
  let query = base
  if (params !== undefined) {
    for (const key in params) {
      const value = params[key]
      if (value === undefined) continue
      query += `${query === "" ? "" : "&"}${encode(key)}=${encode(String(value))}`
    }
  }
  return query === "" ? "" : `?${query}`
}

/** A parse issue in one line: the path and the rule broken, never the value found there (unlike Schema's). */
const summarize = (issue: ParseResult.ParseIssue): string => {
  const described = Params.describe(issue)
  return described.field === undefined ? described.issue : `${described.field} ${described.issue}`
}

interface Received {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

/** @internal */
export const make = (
  config: OpenAiConfig.Service,
  httpClient: HttpClient.HttpClient,
  transport: Option.Option<Transport.Service>
): Pipeline => {
  // The platform's per-attempt spans are not ours: every operation has its own span, with the request id.
  const client = HttpClient.withTracerDisabledWhen(httpClient, () => true)
  const own = Option.isSome(transport) && transport.value.httpClient === httpClient ? transport.value : undefined
  const exchange = own?.exchange
  const secret = Redacted.value(config.apiKey)
  // A server, a proxy or a transport that echoes the key back (a body, a header, an error's message) must not get
  // it into our errors or spans.
  const scrub = Errors.scrubber(secret)
  // Every request's headers, built once.
  const commonHeaders: Record<string, string> = {
    ...(config.authentication === "api-key" ? { "api-key": secret } : { authorization: `Bearer ${secret}` }),
    "user-agent": userAgent,
    ...(Option.isSome(config.organization) ? { "openai-organization": config.organization.value } : {}),
    ...(Option.isSome(config.project) ? { "openai-project": config.project.value } : {}),
    accept: "application/json"
  }
  const jsonHeaders: Record<string, string> = { ...commonHeaders, "content-type": "application/json" }
  const platformHeaders = Headers.fromInput(commonHeaders)
  const base = new URL(config.baseUrl)
  const basePath = base.pathname === "/" ? "" : base.pathname
  const baseQuery = new URLSearchParams(config.query).toString()
  const deployment = Option.getOrUndefined(config.deployment)

  /** Azure OpenAI routes a create to its deployment when one is configured (as openai-node's AzureOpenAI does). */
  const pathOf = (spec: RequestSpec) =>
    deployment !== undefined && spec.method === "POST" && spec.path === "/batches"
      ? `/deployments/${encodeURIComponent(deployment)}/batches`
      : spec.path

  /** What errors of this request name; the operation is read from the caller's fiber only when one is built. */
  const originOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>, spec: RequestSpec) => (): Errors.Origin => ({
    operation: fiber.getFiberRef(Operation.currentOperation) ?? spec.operation,
    method: spec.method,
    url: `${config.baseUrl}${spec.path}`,
    scrub
  })

  const timeoutOf = (configured: Option.Option<Duration.Duration>, spec: RequestSpec): Duration.Duration =>
    Option.isSome(configured) ? configured.value : spec.defaultTimeout ?? BatchSchedule.timeoutDefaults.request

  const viaTransport = (
    send: Transport.Service["exchange"],
    spec: RequestSpec,
    timeout: Duration.Duration,
    origin: () => Errors.Origin
  ): Effect.Effect<Received, BatchError.TransportError> => {
    let headers = spec.body === undefined ? commonHeaders : jsonHeaders
    if (spec.headers !== undefined) headers = { ...headers, ...spec.headers }
    return Effect.mapError(
      send({
        method: spec.method,
        origin: base.origin,
        path: `${basePath}${pathOf(spec)}${queryString(baseQuery, spec.query)}`,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        timeoutMillis: Timeout.timerMillis(timeout)
      }),
      (failure) => Errors.exchangeError(origin(), timeout, failure)
    )
  }

  const platformRequest = (spec: RequestSpec): HttpClientRequest.HttpClientRequest => {
    const request = HttpClientRequest.make(spec.method)(`${config.baseUrl}${pathOf(spec)}`, {
      urlParams: { ...config.query, ...Errors.definedOnly(spec.query ?? {}) },
      headers: spec.headers === undefined ? platformHeaders : Headers.setAll(platformHeaders, spec.headers)
    })
    return spec.httpBody !== undefined
      ? HttpClientRequest.setBody(request, spec.httpBody)
      : spec.body !== undefined
      ? HttpClientRequest.bodyUnsafeJson(request, spec.body)
      : request
  }

  const viaClient = (
    spec: RequestSpec,
    timeout: Duration.Duration,
    origin: () => Errors.Origin
  ): Effect.Effect<Received, BatchError.TransportError> => {
    const attempt = Effect.flatMap(client.execute(platformRequest(spec)), (response) => {
      // Some clients rebuild `headers` on every access: read them once.
      const headers = response.headers
      return Effect.map(response.text, (text): Received => ({ status: response.status, headers, text }))
    })
    return Timeout.timeoutFail(
      Effect.mapError(attempt, (error) => Errors.transportError(origin(), error)),
      timeout,
      () => Errors.timedOut(origin(), timeout)
    )
  }

  const failStatus = (origin: Errors.Origin, received: Received) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now) => Effect.fail(Errors.statusError(origin, received, received.text, now))
    )

  const request = <A>(
    spec: RequestSpec,
    decode: Decoder.Decoder<A>
  ): Effect.Effect<Decoded<A>, BatchError.RequestError> =>
    Effect.withFiberRuntime((fiber) => {
      const timeout = timeoutOf(fiber.getFiberRef(BatchSchedule.currentTimeout), spec)
      const origin = originOf(fiber, spec)
      const sent = exchange !== undefined && spec.httpBody === undefined
        ? viaTransport(exchange, spec, timeout, origin)
        : viaClient(spec, timeout, origin)
      return Effect.flatMap(sent, (received): Effect.Effect<Decoded<A>, BatchError.RequestError> => {
        if (received.status < 200 || received.status >= 300) return failStatus(origin(), received)
        const header = received.headers["x-request-id"]
        const requestId = header === undefined ? undefined : scrub(header)
        const fail = (issue: string) =>
          Effect.fail(Errors.decodeError(origin(), received.status, requestId, issue, received.text))
        const json = Errors.parseJson(received.text)
        // Not JSON.parse's message: it quotes the body.
        if (Either.isLeft(json)) return fail("not JSON")
        const decoded = decode(json.right)
        if (Either.isLeft(decoded)) return fail(summarize(decoded.left))
        if (requestId !== undefined) {
          const span = spec.span ??
            Option.getOrUndefined(EffectContext.getOption(fiber.currentContext, Tracer.ParentSpan))
          if (span !== undefined && span._tag === "Span") span.attribute("openai.request_id", requestId)
        }
        return Effect.succeed({ value: decoded.right, requestId, headers: received.headers })
      })
    })

  const open = (spec: RequestSpec): Effect.Effect<Opened, BatchError.RequestError> =>
    Effect.withFiberRuntime((fiber) => {
      const timeout = timeoutOf(fiber.getFiberRef(BatchSchedule.currentTimeout), spec)
      const origin = originOf(fiber, spec)
      const head = Effect.mapError(
        client.execute(platformRequest(spec)),
        (error) => Errors.transportError(origin(), error)
      )
      return Effect.flatMap(
        Timeout.timeoutFail(head, timeout, () => Errors.timedOut(origin(), timeout)),
        (response): Effect.Effect<Opened, BatchError.RequestError> =>
          response.status >= 200 && response.status < 300
            ? Effect.succeed({
              response,
              brokenOff: (error) => Errors.brokenOff(origin(), error),
              stalled: (idle) => Errors.stalled(origin(), idle),
              unusable: (issue) =>
                Errors.decodeError(origin(), response.status, response.headers["x-request-id"], issue, "")
            })
            : Effect.flatMap(
              // The error's body is bounded too: one that stalls (a proxy's 502) must not hold the call past its
              // timeout (forever on fetch, which has no body timeout); the status and headers are the error then.
              Effect.orElseSucceed(Timeout.timeoutFail(response.text, timeout, () => "timeout"), () => ""),
              (text) => failStatus(origin(), { status: response.status, headers: response.headers, text })
            )
      )
    })

  return { request, open, bodyIdleTimeout: own?.bodyIdleTimeout === true }
}

/** What a service over this pipeline needs: the config, the pipeline. @internal */
export interface Context {
  readonly config: OpenAiConfig.Service
  readonly pipeline: Pipeline
}

/** Reads the config, the `HttpClient` and the `Transport` (if any) from context. @internal */
export const context: Effect.Effect<Context, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Effect.gen(
  function*() {
    const config = yield* OpenAiConfig.OpenAiConfig
    const httpClient = yield* HttpClient.HttpClient
    const transport = yield* Effect.serviceOption(Transport.Transport)
    return { config, pipeline: make(config, httpClient, transport) }
  }
)
