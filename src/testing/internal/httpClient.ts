/**
 * The simulator as an `HttpClient`: a request's body becomes bytes (a `FormData` is serialized by the platform's
 * own `Response`, so the boundary and escaping are the ones `fetch` would send), `handle` answers it, and the
 * answer becomes an `HttpClientResponse` read straight from its bytes. Web standards only.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Simulator } from "./model.js"
import * as SimulatedResponse from "./response.js"

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
      return Effect.map(
        Stream.runCollect(body.stream),
        (chunks) => ({ bytes: concat(Chunk.toReadonlyArray(chunks)), contentType: body.contentType })
      )
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

/**
 * An `HttpClient` that answers from the simulator. A dropped connection fails with a `RequestError` of reason
 * `"Transport"`; a timeout never answers (the caller's timeout fires, on `TestClock` too); a body cut short
 * delivers its first bytes, then fails as a reset socket does.
 *
 * @internal
 */
export const make = (simulator: Simulator): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = yield* Effect.mapError(
        bodyOf(request),
        (cause) =>
          new HttpClientError.RequestError({
            request,
            reason: "Encode",
            cause,
            description: "could not read the request body"
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
          return yield* Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              description: "socket hang up (simulated)"
            })
          )
        case "NoAnswer":
          return yield* Effect.never
        case "Response":
          return SimulatedResponse.make(request, response.status, response.headers, response.body, response.cutAt)
      }
    })
  )
