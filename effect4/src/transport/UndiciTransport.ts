/**
 * The recommended transport on Node: an `HttpClient` for `effect/http` built directly on undici 8 (the one
 * `@effect/platform-node` 4 brings), and the library's `Transport` over the same dispatcher, provided together by
 * one layer.
 *
 * Why it exists: on Effect 3, `@effect/platform-node`'s undici client spent most of its time around undici rather
 * than in it (a synchronous fiber per `response.text`, an AbortController and a response wrapper per request, headers
 * rebuilt on every access, a Node Readable per body). Here the library's own JSON calls take the `Transport` exchange (a plain
 * request object dispatched with undici's handler API, the attempt's timeout a timer of the exchange, no
 * `HttpClientRequest`, no `URL`, no response wrapper), and everything else (uploads, downloads, your own requests
 * through the `HttpClient`) goes through `HttpClient.make` around a dispatch handler of ours that collects an arrived
 * body as a plain value, builds headers once and aborts through the dispatch controller. Figures for both editions
 * are in the root's bench/RESULTS.md.
 *
 * What it does:
 * - keep-alive connections from an undici `Agent` (or any `Dispatcher` you give it), closed with the layer;
 * - interruption aborts the request (its socket is closed, the pool opens another); a response body that is never
 *   read is paused after 64 KiB (a streamed one is read up to 1 MiB ahead of its consumer) and aborted when the
 *   response is garbage collected, a body read partly (a stream that stops early, an interrupted `text`) is aborted
 *   at once: no connection leaks;
 * - request bodies: empty, bytes, `Raw` (string, bytes, Blob, FormData, ReadableStream, Node Readable, async
 *   iterable), `Stream` (sent chunked as it is produced, on the caller's fiber) and `FormData` (serialized here with a
 *   Content-Length, whichever `FormData` class built it); Blobs are streamed from their source;
 * - response bodies: `text`/`json`/`arrayBuffer`/`formData`/`urlParamsBody` (repeatable) or `stream` (with
 *   backpressure, once);
 * - failures exactly as the platform clients report them: an `HttpClientError` whose `reason` is a `TransportError`
 *   with undici's error as `cause` (its `code`: `ECONNREFUSED`, `ECONNRESET`, `UND_ERR_SOCKET`,
 *   `UND_ERR_HEADERS_TIMEOUT`...) before a response, a `DecodeError` with the cause when a body breaks off, an
 *   `InvalidUrlError` or an `EncodeError` (a `Raw` body of a type it cannot send) for requests that cannot be sent;
 *   never a defect; `upgrade` fails with a `StatusCodeError` (no connection is handed over, as on the fetch client);
 * - undici's own timeouts as options: `headersTimeout` (default 1 hour: the library's per-attempt timeout is the
 *   one meant to fire) and `bodyTimeout`, the longest pause between two chunks of a body (default 5 minutes,
 *   undici's: a download has no overall timeout, this catches a stalled one, and the library adds no watchdog of its
 *   own over it unless you set one with `BatchSchedule.withIdleTimeout`; zero or `Duration.infinity` turns it off,
 *   and the library's watchdog, `BatchSchedule.timeoutDefaults.idle`, takes over);
 * - redirects are not followed (like NodeHttpClient's clients; `HttpClient.followRedirects` adds it).
 *
 * `undici` is an optional peer dependency: this module is not re-exported from the package index, import it as
 * `effect-openai-batch/transport/UndiciTransport`.
 *
 * The Effect 4 edition: `Dispatcher` is a `Context.Service`; durations are `Duration.Input`; undici 8's dispatch
 * handler API is undici 7's (`onRequestStart`, `onResponseStart`, ...), so the exchange is the root's.
 *
 * @since 4.0.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Undici from "undici"
import * as Client from "../internal/transport/undici/client.js"
import * as Text from "../internal/transport/undici/text.js"
import * as Transport from "./Transport.js"

/**
 * The undici dispatcher (an `Agent`, a `Pool`, a `Client`, a `ProxyAgent`...) requests go through.
 *
 * @since 4.0.0
 * @category Context
 */
export class Dispatcher extends Context.Service<Dispatcher, Undici.Dispatcher>()(
  "effect-openai-batch/transport/UndiciTransport/Dispatcher"
) {}

/**
 * undici's per-request timeouts. A `Duration.infinity` (or zero) disables one. When absent, the dispatcher's own
 * apply (for `makeDispatcher`'s Agent: 1 hour and 5 minutes).
 *
 * @since 4.0.0
 * @category Models
 */
export interface RequestOptions {
  /** The longest wait for a response's headers once the request is sent. */
  readonly headersTimeout?: Duration.Input | undefined
  /** The longest pause between two chunks of a response body. */
  readonly bodyTimeout?: Duration.Input | undefined
}

/**
 * Options of the default dispatcher (an undici `Agent`: one pool of keep-alive connections per origin) and of its
 * requests.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Options extends RequestOptions {
  /** The most connections per origin; default no limit (undici's). Requests beyond it wait for a free one. */
  readonly connections?: number | undefined
  /** How long an idle connection is kept open; default 4 seconds (undici's; a server's `Keep-Alive` hint wins). */
  readonly keepAliveTimeout?: Duration.Input | undefined
  /** The longest wait to open a connection; default 10 seconds (undici's). */
  readonly connectTimeout?: Duration.Input | undefined
}

/**
 * The defaults of `makeDispatcher`'s request timeouts.
 *
 * @since 4.0.0
 * @category Constants
 */
export const defaults: { readonly headersTimeout: Duration.Duration; readonly bodyTimeout: Duration.Duration } = {
  headersTimeout: Duration.hours(1),
  bodyTimeout: Duration.minutes(5)
}

/** undici takes milliseconds, where 0 disables a timeout. */
const millis = (input: Duration.Input): number => {
  const duration = Duration.fromInputUnsafe(input)
  return Duration.isFinite(duration) ? Math.max(0, Math.round(Duration.toMillis(duration))) : 0
}

/** undici wants a positive keep-alive time: infinity is the longest a timer holds, zero is 1 ms. */
const keepAliveMillis = (input: Duration.Input): number => {
  const duration = Duration.fromInputUnsafe(input)
  return Duration.isFinite(duration) ? Math.max(1, Math.round(Duration.toMillis(duration))) : 2_147_483_647
}

const requestTimeouts = (options: RequestOptions): Client.Timeouts => ({
  ...(options.headersTimeout === undefined ? {} : { headersTimeout: millis(options.headersTimeout) }),
  ...(options.bodyTimeout === undefined ? {} : { bodyTimeout: millis(options.bodyTimeout) })
})

/**
 * An undici `Agent` with keep-alive connections, destroyed when the scope closes.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const makeDispatcher = (options: Options = {}): Effect.Effect<Undici.Dispatcher, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      new Undici.Agent({
        headersTimeout: millis(options.headersTimeout ?? defaults.headersTimeout),
        bodyTimeout: millis(options.bodyTimeout ?? defaults.bodyTimeout),
        ...(options.connections === undefined ? {} : { connections: options.connections }),
        ...(options.keepAliveTimeout === undefined
          ? {}
          : { keepAliveTimeout: keepAliveMillis(options.keepAliveTimeout) }),
        ...(options.connectTimeout === undefined ? {} : { connect: { timeout: millis(options.connectTimeout) } })
      })
    ),
    (dispatcher) => Effect.promise(() => dispatcher.destroy())
  )

/**
 * The transport over a dispatcher you manage (it is not closed by this module). It declares the bodies of its
 * `HttpClient` cut when silent (`Transport.Service.bodyIdleTimeout`), so a download gets no watchdog of the library's,
 * unless `options.bodyTimeout` turns undici's off (zero or `Duration.infinity`). Without that option the dispatcher's
 * own applies, undici's 5 minutes by default: a dispatcher built with `bodyTimeout: 0` should be given
 * `{ bodyTimeout: 0 }` here too (or use `BatchSchedule.layerIdleTimeout`), or a stalled download waits forever.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const fromDispatcher = (dispatcher: Undici.Dispatcher, options: RequestOptions = {}): Transport.Service => {
  const timeouts = requestTimeouts(options)
  return {
    httpClient: Client.make(dispatcher, timeouts),
    exchange: Text.make(dispatcher, timeouts),
    // Absent: the dispatcher's own, undici's 5 minutes unless you built it without one.
    bodyIdleTimeout: timeouts.bodyTimeout !== 0
  }
}

/**
 * The transport over the `Dispatcher` in context.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make = (options: RequestOptions = {}): Effect.Effect<Transport.Service, never, Dispatcher> =>
  Effect.map(Effect.service(Dispatcher), (dispatcher) => fromDispatcher(dispatcher, options))

/**
 * The `Dispatcher` of `makeDispatcher`, for the layer's lifetime.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerDispatcher = (options: Options = {}): Layer.Layer<Dispatcher> =>
  Layer.effect(Dispatcher, makeDispatcher(options))

/**
 * The transport over the `Dispatcher` in context (provide your own: a `Pool`, a `ProxyAgent`, a `MockAgent`...).
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerWithoutDispatcher = (
  options: RequestOptions = {}
): Layer.Layer<HttpClient.HttpClient | Transport.Transport, never, Dispatcher> => Transport.layer(make(options))

/**
 * The transport over its own `Agent`, built with `options` and destroyed with the layer.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerWithOptions = (options: Options): Layer.Layer<HttpClient.HttpClient | Transport.Transport> =>
  Transport.layer(Effect.map(makeDispatcher(options), (dispatcher): Transport.Service => ({
    ...fromDispatcher(dispatcher),
    bodyIdleTimeout: millis(options.bodyTimeout ?? defaults.bodyTimeout) !== 0
  })))

/**
 * The transport over its own keep-alive `Agent` with the default options, destroyed with the layer: the `HttpClient`
 * and the `Transport` the library's operations take.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { BatchApi } from "effect-openai-batch"
 * import * as UndiciTransport from "effect-openai-batch/transport/UndiciTransport"
 *
 * // needs the optional peer dependency undici
 * const MainLive = BatchApi.layerFromEnv.pipe(Layer.provide(UndiciTransport.layer))
 * ```
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient | Transport.Transport> = layerWithOptions({})
