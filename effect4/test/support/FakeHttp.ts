/**
 * A synchronous fake `HttpClient` for unit tests: answers from a script, records every request (with the `Clock`
 * time it was sent at). Synchronous on purpose: `TestClock.adjust` lets pending fibers run before it moves time, but
 * not promises, so a response body read through a promise (`Response.text()`) would let the clock run past a retry's
 * or a poll's sleep before it is registered. Its response is `fromWeb`'s with the body already read.
 */
import { Context, type Duration, Effect, Layer, Redacted, Ref } from "effect"
import { HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  /** A JSON body, parsed. */
  readonly body: unknown
  /** `Clock` time, ms. */
  readonly at: number
}

export type Reply =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Record<string, string> }
  | { readonly drop: true; readonly cause?: unknown }
  | { readonly hang: true }

export type Responder = (request: Recorded, index: number) => Reply

export class Requests extends Context.Service<Requests, Ref.Ref<ReadonlyArray<Recorded>>>()("test/Requests") {}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  body,
  headers
})

export const testKey = "sk-test-SECRET-0123456789"

const decoder = new TextDecoder()

export const fakeClient = (responder: Responder) =>
  Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<Recorded>>([])
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const body = request.body._tag === "Uint8Array" ? JSON.parse(decoder.decode(request.body.body)) : undefined
        const recorded: Recorded = { method: request.method, url, headers: { ...request.headers }, body, at: now }
        const index = (yield* Ref.getAndUpdate(log, (all) => [...all, recorded])).length
        const reply = responder(recorded, index)
        if ("hang" in reply) return yield* Effect.never
        if ("drop" in reply) {
          return yield* Effect.fail(
            new HttpClientError.HttpClientError({
              reason: new HttpClientError.TransportError({
                request,
                description: "socket hang up",
                cause: reply.cause ?? new Error("socket hang up")
              })
            })
          )
        }
        const text = reply.body === undefined
          ? ""
          : typeof reply.body === "string"
          ? reply.body
          : JSON.stringify(reply.body)
        const response = HttpClientResponse.fromWeb(
          request,
          new Response(text, {
            status: reply.status,
            headers: { "content-type": "application/json", ...reply.headers }
          })
        )
        // The body already read: `text` succeeds without suspending.
        const synchronous: HttpClientResponse.HttpClientResponse = Object.create(response, {
          text: { value: Effect.succeed(text) }
        })
        return synchronous
      })
    )
    return { client, log }
  })

/** BatchApi over the fake, plus the request log (`requests`); a retry policy or timeout for everything under it. */
export const layer = (
  responder: Responder,
  options: Partial<OpenAiConfig.Options> & {
    readonly retry?: BatchSchedule.RetrySchedule
    readonly timeout?: Duration.Input
  } = {}
) =>
  Layer.unwrap(Effect.gen(function*() {
    const { client, log } = yield* fakeClient(responder)
    const { retry, timeout, ...config } = options
    return BatchApi.layer.pipe(
      Layer.provideMerge(retry === undefined ? Layer.empty : BatchSchedule.layerRetry(retry)),
      Layer.provideMerge(timeout === undefined ? Layer.empty : BatchSchedule.layerTimeout(timeout)),
      Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(testKey), baseUrl: "https://api.test/v1", ...config })),
      Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
      Layer.merge(Layer.succeed(Requests, log))
    )
  }))

export const requests = Effect.flatMap(Effect.service(Requests), Ref.get)

export { batchJson } from "./loopback.js"
