/**
 * The simulator as an `HttpClient`: a request's body becomes bytes (a `FormData` is serialized by the platform's
 * own `Response`, so the boundary and escaping are the ones `fetch` would send), `handle` answers it, and the
 * answer becomes an `HttpClientResponse` over a web `Response` of its bytes (a large body streamed in 64 KiB
 * chunks, as a socket delivers it). Web standards only.
 *
 * The Effect 4 edition: `effect/http`'s client, whose one `HttpClientError` carries a `reason`; the answer is
 * `HttpClientResponse.fromWeb`'s (the Effect 3 edition reads its bytes with a response class of its own, for
 * speed: a later step may do the same here).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Stream from "effect/Stream"
import type { Simulator } from "./model.js"

const encoder = new TextEncoder()

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/** The request's body as bytes, and the content type its body implies. */
const bodyOf = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<{ readonly bytes: Uint8Array; readonly contentType: string | undefined }, unknown> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed({ bytes: new Uint8Array(0), contentType: undefined })
    case "Uint8Array":
      return Effect.succeed({ bytes: body.body, contentType: body.contentType })
    case "Stream":
      return Effect.map(Stream.runCollect(body.stream), (chunks) => ({
        bytes: concat(chunks),
        contentType: body.contentType
      }))
    case "Raw": {
      const raw = body.body
      if (typeof raw === "string") return Effect.succeed({ bytes: encoder.encode(raw), contentType: body.contentType })
      if (raw instanceof Uint8Array) return Effect.succeed({ bytes: raw, contentType: body.contentType })
      return Effect.tryPromise(async () => ({
        bytes: new Uint8Array(await new Response(raw as BodyInit).arrayBuffer()),
        contentType: body.contentType
      }))
    }
    case "FormData":
      return Effect.tryPromise(async () => {
        const response = new Response(body.formData)
        return {
          bytes: new Uint8Array(await response.arrayBuffer()),
          contentType: response.headers.get("content-type") ?? undefined
        }
      })
  }
}

/** What a socket delivers at a time, about. */
const chunkSize = 64 * 1024

/**
 * A body delivered 64 KiB at a time, as a socket delivers it (read as it is pulled); with `cutAt`, its first `cutAt`
 * bytes, then a failure as a reset socket's.
 */
const chunked = (body: Uint8Array, cutAt: number | undefined): ReadableStream<Uint8Array<ArrayBuffer>> => {
  const end = cutAt ?? body.length
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset < end) {
        const next = Math.min(end, offset + chunkSize)
        controller.enqueue(body.slice(offset, next))
        offset = next
      } else if (cutAt === undefined) {
        controller.close()
      } else {
        controller.error(new Error(`the connection was reset after ${cutAt} of ${body.length} bytes (simulated)`))
      }
    }
  })
}

const transportError = (request: HttpClientRequest.HttpClientRequest, description: string, cause?: unknown) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError({ request, description, cause: cause ?? new Error(description) })
  })

/**
 * An `HttpClient` that answers from the simulator. A dropped connection fails with an `HttpClientError` whose
 * reason is a `TransportError`; a timeout never answers (the caller's timeout fires, on `TestClock` too); a body
 * cut short delivers its first bytes, then fails.
 *
 * @internal
 */
export const make = (simulator: Simulator): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = yield* Effect.mapError(
        bodyOf(request),
        (cause) =>
          new HttpClientError.HttpClientError({
            reason: new HttpClientError.EncodeError({ request, description: "could not read the request body", cause })
          })
      )
      const headers: Record<string, string> = { ...request.headers }
      if (body.contentType !== undefined && headers["content-type"] === undefined) {
        headers["content-type"] = body.contentType
      }
      const query: Record<string, string> = {}
      url.searchParams.forEach((value, key) => {
        query[key] = value
      })
      const response = yield* simulator.handle({
        method: request.method,
        path: url.pathname,
        query,
        headers,
        body: body.bytes
      })
      switch (response._tag) {
        case "Dropped":
          return yield* Effect.fail(transportError(request, "socket hang up (simulated)"))
        case "NoAnswer":
          return yield* Effect.never
        case "Response": {
          const bytes = response.cutAt === undefined && response.body.length <= chunkSize
            ? response.body.slice()
            : chunked(response.body, response.cutAt)
          return HttpClientResponse.fromWeb(
            request,
            new Response(bytes, { status: response.status, headers: response.headers })
          )
        }
      }
    })
  )
