/**
 * A synchronous fake HttpClient for unit tests: answers from a script, records every request.
 * Synchronous on purpose: TestClock.adjust must not run before a retry's sleep is registered.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import { Context, type Duration, Effect, Layer, Redacted, Ref } from "effect"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as SimulatedResponse from "../../src/testing/internal/response.js"

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  readonly at: number
}

export type Reply =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Record<string, string> }
  | { readonly drop: true; readonly cause?: unknown }
  | { readonly hang: true }

export type Responder = (request: Recorded, index: number) => Reply

export class Requests extends Context.Tag("test/Requests")<Requests, Ref.Ref<ReadonlyArray<Recorded>>>() {}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  body,
  headers
})

export const testKey = "sk-test-SECRET-0123456789"

const decoder = new TextDecoder()
const encoder = new TextEncoder()

export const fakeClient = (responder: Responder) =>
  Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<Recorded>>([])
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const body = request.body._tag === "Uint8Array"
          ? JSON.parse(decoder.decode(request.body.body))
          : undefined
        const recorded: Recorded = { method: request.method, url, headers: request.headers, body, at: now }
        const index = (yield* Ref.getAndUpdate(log, (all) => [...all, recorded])).length
        const reply = responder(recorded, index)
        if ("hang" in reply) return yield* Effect.never
        if ("drop" in reply) {
          return yield* Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              description: "socket hang up",
              cause: reply.cause
            })
          )
        }
        const text = reply.body === undefined
          ? ""
          : typeof reply.body === "string"
          ? reply.body
          : JSON.stringify(reply.body)
        // Read synchronously, as the simulator's responses are: an attempt then ends without suspending.
        return SimulatedResponse.make(
          request,
          reply.status,
          { "content-type": "application/json", ...reply.headers },
          encoder.encode(text)
        )
      })
    )
    return { client, log }
  })

/** BatchApi over the fake, plus the request log. */
export const layer = (
  responder: Responder,
  options: Partial<OpenAiConfig.Options> & {
    readonly retry?: BatchSchedule.RetrySchedule
    readonly timeout?: Duration.DurationInput
  } = {}
) =>
  Layer.unwrapEffect(Effect.gen(function*() {
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

export const requests = Effect.flatMap(Requests, Ref.get)

export const batchJson = (overrides: Record<string, unknown> = {}) => ({
  id: "batch_abc123",
  object: "batch",
  endpoint: "/v1/chat/completions",
  errors: null,
  input_file_id: "file-abc123",
  completion_window: "24h",
  status: "validating",
  output_file_id: null,
  error_file_id: null,
  created_at: 1711471533,
  in_progress_at: null,
  expires_at: 1711557933,
  finalizing_at: null,
  completed_at: null,
  failed_at: null,
  expired_at: null,
  cancelling_at: null,
  cancelled_at: null,
  request_counts: { total: 0, completed: 0, failed: 0 },
  metadata: null,
  ...overrides
})
