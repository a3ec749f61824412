/**
 * The `HttpClient` over an undici `Dispatcher`: `@effect/platform`'s `HttpClient.make` (so spans, trace propagation,
 * `HttpClient.withScope` and interruption behave as on every platform client) around a dispatch of our own
 * (./exchange.ts), which collects an arrived body as a plain value and aborts through undici's dispatch controller.
 *
 * @internal
 */
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"
import type * as Undici from "undici"
import * as Body from "./body.js"
import { Exchange } from "./exchange.js"

/** undici's per-request timeouts in milliseconds (0 disables one); absent: the dispatcher's own. @internal */
export interface Timeouts {
  readonly headersTimeout?: number | undefined
  readonly bodyTimeout?: number | undefined
}

type Result = Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>

const noRuntime = () => {
  throw new Error("a Stream body needs a runtime")
}

/**
 * The body to send (./body.ts). A `Stream` body runs on the caller's runtime: Effect's ReadableStream conversion
 * interrupts the stream's fiber when the reader cancels, and `fromWeb` cancels when undici destroys the body (an
 * aborted or failed request), so an upload never outlives its request. What cannot be sent (or throws while being
 * prepared, like a locked ReadableStream) is an `UnsupportedBody`.
 */
const encode = (
  body: HttpBody.HttpBody,
  runtime: () => Runtime.Runtime<never>
): Body.Encoded | Body.UnsupportedBody => {
  try {
    switch (body._tag) {
      case "Empty":
        return Body.empty
      case "Uint8Array":
        return { body: body.body }
      case "Raw":
        return Body.raw(body.body)
      case "FormData":
        return Body.formData(body.formData)
      case "Stream":
        return { body: Body.fromWeb(Stream.toReadableStreamRuntime(body.stream, runtime())) }
    }
  } catch (cause) {
    return new Body.UnsupportedBody(`a ${body._tag} body that cannot be read`, cause)
  }
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
      const encoded = encode(request.body, runtime)
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

  return HttpClient.make((request, url, signal) => send(request, url, signal))
}
