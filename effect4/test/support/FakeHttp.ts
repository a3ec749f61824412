/**
 * An in-memory `HttpClient` for the unit tests: each request is recorded (with the `Clock` time it was sent at) and
 * answered by the test's function: a reply, `"drop"` (a transport failure, as a reset connection) or `"hang"`
 * (never answered). Without a `Transport` in context, the pipeline sends every request through it, on the fiber's
 * `Clock`: `TestClock` drives its retries and timeouts.
 */
import { Clock, Effect, Layer, Redacted } from "effect"
import { HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import * as BatchApi from "../../src/BatchApi.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"

export interface Sent {
  readonly method: string
  /** The path and query. */
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** `Clock` time, ms. */
  readonly at: number
}

export interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** A string is sent as it is; anything else as JSON. */
  readonly body?: unknown
}

export type Responder = (request: Sent, index: number) => Reply | "drop" | "hang"

export const testKey = "sk-fake-SECRET-key-0000"

/** A fake client answering with `respond`, and the list of what it was sent. */
export const make = (respond: Responder) => {
  const requests: Array<Sent> = []
  const client = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const sent: Sent = {
        method: request.method,
        url: `${url.pathname}${url.search}`,
        headers: { ...request.headers },
        body: request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "",
        at: yield* Clock.currentTimeMillis
      }
      requests.push(sent)
      const reply = respond(sent, requests.length - 1)
      if (reply === "hang") return yield* Effect.never
      if (reply === "drop") {
        return yield* Effect.fail(
          new HttpClientError.HttpClientError({
            reason: new HttpClientError.TransportError({ request, cause: new Error("socket hang up") })
          })
        )
      }
      const text = reply.body === undefined
        ? ""
        : typeof reply.body === "string"
        ? reply.body
        : JSON.stringify(reply.body)
      return HttpClientResponse.fromWeb(
        request,
        new Response(text, { status: reply.status, headers: { "content-type": "application/json", ...reply.headers } })
      )
    })
  )
  return { requests, client }
}

/** `BatchApi.layer` over a fake client answering with `respond`; `requests` lists what it was sent. */
export const api = (respond: Responder) => {
  const fake = make(respond)
  const layer = BatchApi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(testKey), baseUrl: "https://api.test/v1" })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, fake.client))
  )
  return { requests: fake.requests, layer }
}

/** A JSON reply. */
export const json = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Reply => ({
  status,
  body,
  headers
})
