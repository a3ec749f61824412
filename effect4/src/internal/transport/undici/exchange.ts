/**
 * One request/response exchange over undici's dispatch handler API, and the `HttpClientResponse` over it.
 *
 * Why not `undici.request`: its handler is an AsyncResource and every body a Node Readable, consumed through
 * promises; measured on loopback with the Effect 3 edition (sequential GET of a Batch, CPU per call; the root's
 * bench/RESULTS.md), a dispatch handler collecting the chunks costs clearly less than `request` + `body.text()`. So
 * the exchange keeps the body's chunks itself: `text` on a body that has arrived is a plain value (no fiber, no
 * promise), headers are built once, and aborting is the dispatch controller's `abort` (no AbortController per
 * request).
 *
 * Connections: a body nobody reads is buffered up to `highWaterMark` and then paused, which holds its socket; a
 * paused body whose response is garbage collected is aborted (a FinalizationRegistry), and a consumer that stops
 * early (an interrupted `text`, a stream that ends before the body) aborts it at once. A body that arrived whole
 * already gave its socket back. Effect 4.1.5's `HttpClient.make` also aborts the request's signal when a response is
 * collected (./client.ts listens to it): the test of an unread body passes with either alone and fails without both.
 *
 * The Effect 4 edition: `effect/http`'s one `HttpClientError` with a `reason` (`DecodeError` for a body that breaks
 * off), `Effect.callback`, a stream pulled with `Stream.fromPull` (a pull answers a non-empty array and ends with
 * `Cause.done()`); undici 8's handler API is undici 7's `onRequestStart`/`onResponse*` one.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Cookies from "effect/http/Cookies"
import * as Headers from "effect/http/Headers"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as UrlParams from "effect/http/UrlParams"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import type * as Socket from "effect/socket/Socket"
import * as Stream from "effect/Stream"
import type { Readable } from "node:stream"
import type * as Undici from "undici"
import { errors } from "undici"

/** Bytes buffered for a body nobody reads yet before its socket is paused (a Node stream's default). */
const highWaterMark = 64 * 1024
/**
 * Bytes buffered ahead of a stream's consumer before the socket is paused. More than a Node stream's 64 KiB: a
 * consumer that decodes (a results file) is slower than loopback, and at 64 KiB the socket paused after nearly every
 * read, each pull carrying one read through the Stream's machinery (measured with the Effect 3 edition:
 * the root's bench/RESULTS.md).
 */
const streamingHighWaterMark = 1024 * 1024

const enum Mode {
  /** Nobody reads yet: buffer up to highWaterMark. */
  Idle,
  /** `text`/`json`/`arrayBuffer`...: keep every chunk, never pause. */
  Collect,
  /** `stream`: chunks are handed out and dropped; pause while the consumer lags. */
  Streaming
}

const enum State {
  Open,
  Ended,
  Failed
}

const ignore = () => {}

/** Aborts a paused body whose response is gone. */
const unread = new FinalizationRegistry<Exchange>((exchange) => exchange.abort())

type Resume = (effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>) => void

type Chunks = readonly [Uint8Array, ...Array<Uint8Array>]

const isNonEmpty = (chunks: Array<Uint8Array>): chunks is [Uint8Array, ...Array<Uint8Array>] => chunks.length > 0

/**
 * The dispatch handler of one request. It holds the body's state but never the response object, so that an
 * unreferenced response can be collected (and its paused body aborted) while undici still holds the handler.
 *
 * @internal
 */
export class Exchange implements Undici.Dispatcher.DispatchHandler {
  private controller: Undici.Dispatcher.DispatchController | undefined = undefined
  private abortReason: Error | undefined = undefined
  private mode = Mode.Idle
  private state = State.Open
  private failure: Error | undefined = undefined
  private chunks: Array<Uint8Array> = []
  private buffered = 0
  /** The stream's pull, waiting for the next body event (data, end, failure). */
  private wake: (() => void) | undefined = undefined
  /** Readers of the whole body, waiting for its end or failure. */
  private settled: Array<() => void> | undefined = undefined
  private decoded: string | undefined = undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    /** The request's URL: the response's `url` is read from it. */
    readonly url: URL,
    private resume: Resume | undefined,
    /** A streamed request body: undici leaves it to the handler to release when the request fails early. */
    private requestBody: Readable | undefined
  ) {}

  /** Stops the request or its body (a no-op once the body has ended). */
  abort(): void {
    if (this.state !== State.Open) return
    const reason = new errors.RequestAbortedError()
    this.state = State.Failed
    this.failure = reason
    this.resume = undefined
    unread.unregister(this)
    if (this.controller === undefined) this.abortReason = reason
    else this.controller.abort(reason)
    this.releaseRequestBody()
    this.notify()
  }

  /** Stops a streamed request body's source (an Effect Stream's fiber, a Blob's reader). */
  private releaseRequestBody(): void {
    const body = this.requestBody
    if (body === undefined) return
    this.requestBody = undefined
    if (!body.destroyed) body.on("error", ignore).destroy()
  }

  onRequestStart(controller: Undici.Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.abortReason !== undefined) controller.abort(this.abortReason)
  }

  onResponseStart(
    _controller: Undici.Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | Array<string> | undefined>
  ): void {
    // 1xx informational heads are followed by the real one.
    if (statusCode < 200 || this.resume === undefined) return
    // Built before `resume` is taken: should it throw, undici aborts and onResponseError still reports it.
    const response = new UndiciResponse(
      this.request,
      statusCode,
      Headers.fromInput(headers),
      headers["set-cookie"],
      this
    )
    unread.register(response, this, this)
    const resume = this.resume
    this.resume = undefined
    resume(Effect.succeed(response))
  }

  onResponseData(controller: Undici.Dispatcher.DispatchController, chunk: Uint8Array): void {
    this.chunks.push(chunk)
    this.buffered += chunk.byteLength
    if (
      this.mode !== Mode.Collect &&
      this.buffered >= (this.mode === Mode.Streaming ? streamingHighWaterMark : highWaterMark)
    ) controller.pause()
    this.notify()
  }

  onResponseEnd(): void {
    this.requestBody = undefined
    this.state = State.Ended
    unread.unregister(this)
    this.notify()
  }

  onResponseError(_controller: Undici.Dispatcher.DispatchController | undefined, error: Error): void {
    this.releaseRequestBody()
    const resume = this.resume
    if (resume !== undefined) {
      this.resume = undefined
      this.state = State.Failed
      this.failure = error
      resume(Effect.fail(
        new HttpClientError.HttpClientError({
          reason: new HttpClientError.TransportError({ request: this.request, cause: error })
        })
      ))
      return
    }
    if (this.state !== State.Open) return
    this.state = State.Failed
    this.failure = error
    unread.unregister(this)
    this.notify()
  }

  private notify(): void {
    const wake = this.wake
    if (wake !== undefined) {
      this.wake = undefined
      wake()
    }
    const settled = this.settled
    if (settled !== undefined && this.state !== State.Open) {
      this.settled = undefined
      for (const settle of settled) settle()
    }
  }

  /** @internal */
  bodyError(
    response: HttpClientResponse.HttpClientResponse,
    cause: unknown,
    description?: string
  ): HttpClientError.HttpClientError {
    return new HttpClientError.HttpClientError({
      reason: new HttpClientError.DecodeError({
        request: this.request,
        response,
        cause,
        ...(description === undefined ? {} : { description })
      })
    })
  }

  /** The whole body, once it has arrived; reading starts the collection (kept for later reads). */
  bytes(
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<ReadonlyArray<Uint8Array>, HttpClientError.HttpClientError> {
    if (this.mode === Mode.Streaming) {
      return Effect.fail(this.bodyError(response, undefined, "the body was already read as a stream"))
    }
    if (this.mode === Mode.Idle) {
      this.mode = Mode.Collect
      unread.unregister(this)
      if (this.state === State.Open) this.controller?.resume()
    }
    if (this.state === State.Ended) return Effect.succeed(this.chunks)
    if (this.state === State.Failed) return Effect.fail(this.bodyError(response, this.failure))
    return Effect.callback<ReadonlyArray<Uint8Array>, HttpClientError.HttpClientError>((resume) => {
      const settle = () =>
        resume(
          this.state === State.Ended ? Effect.succeed(this.chunks) : Effect.fail(this.bodyError(response, this.failure))
        )
      ;(this.settled ??= []).push(settle)
      return Effect.sync(() => this.abort())
    })
  }

  text(response: HttpClientResponse.HttpClientResponse): Effect.Effect<string, HttpClientError.HttpClientError> {
    if (this.decoded !== undefined) return Effect.succeed(this.decoded)
    return Effect.map(this.bytes(response), (chunks) => (this.decoded ??= decodeUtf8(chunks)))
  }

  stream(response: HttpClientResponse.HttpClientResponse): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return Stream.suspend(() => {
      if (this.mode === Mode.Streaming) {
        return Stream.fail(this.bodyError(response, undefined, "the body was already read as a stream"))
      }
      if (this.mode === Mode.Collect) {
        // Read (or being read) whole: replay it.
        return Stream.fromIterableEffect(this.bytes(response))
      }
      this.mode = Mode.Streaming
      unread.unregister(this)
      const pull: Effect.Effect<Chunks, HttpClientError.HttpClientError | Cause.Done> = Effect.suspend(() => {
        const chunks = this.take()
        if (chunks !== undefined) return Effect.succeed(chunks)
        if (this.state === State.Ended) return Cause.done()
        if (this.state === State.Failed) return Effect.fail(this.bodyError(response, this.failure))
        this.controller?.resume()
        return Effect.callback<Chunks, HttpClientError.HttpClientError | Cause.Done>((resume) => {
          this.wake = () => resume(pull)
        })
      })
      return Stream.ensuring(Stream.fromPull(Effect.succeed(pull)), Effect.sync(() => this.abort()))
    })
  }

  /** The chunks buffered so far, if any, handed out (the socket resumed if it was paused for them). */
  private take(): Chunks | undefined {
    const chunks = this.chunks
    if (!isNonEmpty(chunks)) return undefined
    this.chunks = []
    this.buffered = 0
    if (this.state === State.Open) this.controller?.resume()
    return chunks
  }
}

const utf8 = new TextDecoder()

/** UTF-8 like `Response.text()`: a leading byte order mark is dropped, invalid bytes become U+FFFD. @internal */
export const decodeUtf8 = (chunks: ReadonlyArray<Uint8Array>): string => {
  if (chunks.length === 0) return ""
  const first = chunks[0]
  const bytes = chunks.length === 1 && first !== undefined ? first : Buffer.concat(chunks)
  return utf8.decode(bytes)
}

const concat = (chunks: ReadonlyArray<Uint8Array>): ArrayBuffer => {
  let size = 0
  for (const chunk of chunks) size += chunk.byteLength
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out.buffer
}

class UndiciResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: typeof HttpClientResponse.TypeId = HttpClientResponse.TypeId
  private cachedCookies: Cookies.Cookies | undefined = undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly status: number,
    readonly headers: Headers.Headers,
    private readonly setCookie: string | ReadonlyArray<string> | undefined,
    private readonly exchange: Exchange
  ) {
    super()
  }

  /** The request's URL without its fragment (this client follows no redirect). */
  get url(): string {
    const url = this.exchange.url
    return url.hash === "" ? url.href : url.href.slice(0, url.href.length - url.hash.length)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.setCookie
    return this.cachedCookies = header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }

  get text(): Effect.Effect<string, HttpClientError.HttpClientError> {
    return this.exchange.text(this)
  }

  get json(): Effect.Effect<Schema.Json, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.text, (text) => {
      try {
        // JSON.parse answers JSON values only.
        const value: Schema.Json = text === "" ? null : JSON.parse(text)
        return Effect.succeed(value)
      } catch (cause) {
        return Effect.fail(this.exchange.bodyError(this, cause))
      }
    })
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.HttpClientError> {
    return Effect.map(this.text, (text) => UrlParams.fromInput(new URLSearchParams(text)))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.HttpClientError> {
    return Effect.map(this.exchange.bytes(this), concat)
  }

  get formData(): Effect.Effect<FormData, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.arrayBuffer, (bytes) =>
      Effect.tryPromise({
        try: () => new Response(bytes, { headers: { "content-type": this.headers["content-type"] ?? "" } }).formData(),
        catch: (cause) => this.exchange.bodyError(this, cause)
      }))
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return this.exchange.stream(this)
  }

  /** This client hands over no connection: a `StatusCodeError`, as on the fetch client. */
  get upgrade(): Effect.Effect<Socket.Socket, HttpClientError.HttpClientError> {
    return Effect.fail(
      new HttpClientError.HttpClientError({
        reason: new HttpClientError.StatusCodeError({
          request: this.request,
          response: this,
          description: "UndiciTransport does not upgrade connections"
        })
      })
    )
  }

  pipe() {
    return pipeArguments(this, arguments)
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}
