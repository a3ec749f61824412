/**
 * The `HttpClient` over an undici `Dispatcher`: `effect/http`'s `HttpClient.make` (so spans, trace propagation,
 * `HttpClient.withScope` and interruption behave as on every platform client) around a dispatch of our own
 * (./exchange.ts), which collects an arrived body as a plain value and aborts through undici's dispatch controller.
 *
 * The Effect 4 edition: `HttpClient.make` hands the calling fiber to the client, so a `Stream` body runs on that
 * fiber's context (`Stream.toReadableStreamWith`) with no `Effect.runtime` step; errors are the one
 * `HttpClientError` with a `reason` (`EncodeError` for a body it cannot send).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
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

/**
 * The body to send (./body.ts). A `Stream` body runs on the calling fiber's context: Effect's ReadableStream
 * conversion interrupts the stream's fiber when the reader cancels, and `fromWeb` cancels when undici destroys the
 * body (an aborted or failed request), so an upload never outlives its request. What cannot be sent (or throws while
 * being prepared, like a locked ReadableStream) is an `UnsupportedBody`.
 */
const encode = (
  body: HttpBody.HttpBody,
  fiber: Fiber.Fiber<unknown, unknown>
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
        return { body: Body.fromWeb(Stream.toReadableStreamWith(body.stream, fiber.context)) }
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
  const send = (
    request: HttpClientRequest.HttpClientRequest,
    url: URL,
    signal: AbortSignal,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Result =>
    Effect.callback((resume) => {
      const encoded = encode(request.body, fiber)
      if (encoded instanceof Body.UnsupportedBody) {
        return resume(Effect.fail(
          new HttpClientError.HttpClientError({
            reason: new HttpClientError.EncodeError({
              request,
              description: encoded.description,
              cause: encoded.cause
            })
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
      const exchange = new Exchange(request, url, resume, encoded.body instanceof Readable ? encoded.body : undefined)
      if (signal.aborted) exchange.abort()
      else signal.addEventListener("abort", () => exchange.abort(), { once: true })
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

  return HttpClient.make(send)
}
