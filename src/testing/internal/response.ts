/**
 * The simulator's answer as an `HttpClientResponse`, built straight from its bytes. `HttpClientResponse.fromWeb`
 * over a web `Response` costs about a third of a simulated request (the `Response`, its body stream and an
 * asynchronous read), for bytes the simulator already holds; here the body is read synchronously. A large body is
 * streamed in 64 KiB chunks, as a socket delivers it.
 *
 * @internal
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** What a socket delivers at a time, about. */
const chunkSize = 64 * 1024

const decoder = new TextDecoder()

class SimulatedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly headers: Headers.Headers
  readonly cookies: Cookies.Cookies = Cookies.empty
  readonly remoteAddress: Option.Option<string> = Option.none()

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly status: number,
    headers: Readonly<Record<string, string>>,
    private readonly body: Uint8Array,
    private readonly cutAt: number | undefined
  ) {
    super()
    this.headers = Headers.fromInput(headers)
  }

  private decodeError(cause: unknown) {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  /** The body broken off after `cutAt` bytes, as a reset socket breaks it. */
  private cut() {
    return new HttpClientError.ResponseError({
      request: this.request,
      response: this,
      reason: "Decode",
      description: `the connection was reset after ${this.cutAt} of ${this.body.length} bytes (simulated)`
    })
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return this.cutAt === undefined ? Effect.sync(() => decoder.decode(this.body)) : Effect.fail(this.cut())
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(
      this.text,
      (text) =>
        Effect.try({ try: () => (text === "" ? null : JSON.parse(text)), catch: (cause) => this.decodeError(cause) })
    )
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    if (this.cutAt !== undefined) return Effect.fail(this.cut())
    return Effect.sync(() => {
      const copy = new Uint8Array(this.body.length)
      copy.set(this.body)
      return copy.buffer
    })
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.map(this.text, (text) => UrlParams.fromInput(new URLSearchParams(text)))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    if (this.cutAt !== undefined) return Effect.fail(this.cut())
    return Effect.tryPromise({
      try: () => {
        const copy = new Uint8Array(this.body.length)
        copy.set(this.body)
        return new Response(copy, { headers: { ...this.headers } }).formData()
      },
      catch: (cause) => this.decodeError(cause)
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    if (this.body.length === 0) {
      return Stream.fail(
        new HttpClientError.ResponseError({
          request: this.request,
          response: this,
          reason: "EmptyBody",
          description: "can not create stream from empty body"
        })
      )
    }
    const body = this.cutAt === undefined ? this.body : this.body.subarray(0, this.cutAt)
    const chunks = Stream.fromIterable({
      *[Symbol.iterator]() {
        for (let offset = 0; offset < body.length; offset += chunkSize) yield body.subarray(offset, offset + chunkSize)
      }
    })
    return this.cutAt === undefined ? chunks : Stream.concat(chunks, Stream.fail(this.cut()))
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/** @internal */
export const make = (
  request: HttpClientRequest.HttpClientRequest,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: Uint8Array,
  cutAt?: number
): HttpClientResponse.HttpClientResponse => new SimulatedResponse(request, status, headers, body, cutAt)
