/**
 * The `HttpClient` over an undici `Dispatcher`.
 *
 * `HttpClient.make` gives every request an AbortController, a FinalizationRegistry entry and a response wrapper
 * that aborts it on interruption; the exchange (./undiciExchange.ts) does all of that with undici's dispatch
 * controller instead. So a request goes through `HttpClient.make` only when it needs what only the platform does:
 * a span and trace propagation (the tracer is on for it), or a scope from `HttpClient.withScope`. Every other
 * request is dispatched directly: the same errors, interruption and body semantics, less work per call.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import type * as Runtime from "effect/Runtime"
import { Readable } from "node:stream"
import type * as Undici from "undici"
import * as Direct from "./directTransport.js"
import * as Body from "./undiciBody.js"
import * as UndiciDirect from "./undiciDirect.js"
import { Exchange } from "./undiciExchange.js"

/** undici's per-request timeouts in milliseconds (0 disables one); absent: the dispatcher's own. @internal */
export interface Timeouts {
  readonly headersTimeout?: number | undefined
  readonly bodyTimeout?: number | undefined
}

/**
 * The requests `HttpClient.withScope` ties to a scope, in @effect/platform's own registry (a `globalValue`, shared
 * by key): such a request takes the platform's path, which aborts it when that scope closes.
 */
const scopedRequests = globalValue(
  "@effect/platform/HttpClient/scopedRequests",
  () => new WeakMap<HttpClientRequest.HttpClientRequest, AbortController>()
)

type Result = Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>

const noRuntime = () => {
  throw new Error("a Stream body needs a runtime")
}

/** @internal */
export const make = (dispatcher: Undici.Dispatcher, timeouts: Timeouts = {}): HttpClient.HttpClient => {
  const { bodyTimeout, headersTimeout } = timeouts
  const timeoutOptions = {
    ...(headersTimeout === undefined ? {} : { headersTimeout }),
    ...(bodyTimeout === undefined ? {} : { bodyTimeout })
  }

  /**
   * Dispatches `request`. Its body is prepared in the same step as the dispatch, so that a body that starts work
   * when created (a Stream runs a fiber) always belongs to an exchange that releases it.
   */
  const start = (
    request: HttpClientRequest.HttpClientRequest,
    url: URL,
    runtime: () => Runtime.Runtime<never>,
    signal: AbortSignal | undefined
  ): Result =>
    Effect.async((resume) => {
      const encoded = Body.encode(request.body, runtime)
      if (encoded instanceof Body.UnsupportedBody) {
        return resume(Effect.fail(
          new HttpClientError.RequestError({
            request,
            reason: "Encode",
            description: encoded.description,
            cause: encoded.cause
          })
        ))
      }
      let headers: Record<string, string> = request.headers
      if (encoded.contentType !== undefined && headers["content-type"] === undefined) {
        headers = { ...headers, "content-type": encoded.contentType }
      }
      if (encoded.contentLength !== undefined && headers["content-length"] === undefined) {
        headers = { ...headers, "content-length": String(encoded.contentLength) }
      }
      const exchange = new Exchange(request, resume, encoded.body instanceof Readable ? encoded.body : undefined)
      if (signal !== undefined) {
        if (signal.aborted) exchange.abort()
        else signal.addEventListener("abort", () => exchange.abort(), { once: true })
      }
      try {
        dispatcher.dispatch({
          origin: url.origin,
          // The fragment is not part of an HTTP request.
          path: url.pathname + url.search,
          method: request.method,
          headers,
          body: encoded.body,
          ...timeoutOptions
        }, exchange)
      } catch (cause) {
        exchange.onResponseError(undefined, cause instanceof Error ? cause : new Error(String(cause)))
      }
      return Effect.sync(() => exchange.abort())
    })

  const send = (request: HttpClientRequest.HttpClientRequest, url: URL, signal: AbortSignal | undefined): Result =>
    request.body._tag === "Stream"
      ? Effect.flatMap(Effect.runtime<never>(), (runtime) => start(request, url, () => runtime, signal))
      : start(request, url, noRuntime, signal)

  const platform = HttpClient.make((request, url, signal) => send(request, url, signal))

  const execute = (request: HttpClientRequest.HttpClientRequest): Result =>
    Effect.withFiberRuntime((fiber) => {
      if (
        scopedRequests.has(request) ||
        (fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
          !fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request))
      ) {
        return platform.execute(request)
      }
      const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
      if (url._tag === "Left") {
        return Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: url.left }))
      }
      return send(request, url.right, undefined)
    })

  // The library's own JSON calls take the direct exchange (see ./directTransport.ts); everything else, this client.
  return Direct.attach(
    HttpClient.makeWith(
      (effect: Effect.Effect<HttpClientRequest.HttpClientRequest>) => Effect.flatMap(effect, execute),
      Effect.succeed
    ),
    UndiciDirect.make(dispatcher, timeoutOptions)
  )
}
