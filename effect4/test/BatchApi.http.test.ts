/**
 * BatchApi and the request pipeline on Effect 4, against a server on 127.0.0.1 that the test starts and stops:
 * through the platform's `HttpClient` (`FetchHttpClient.layer`) and through the `Transport` exchange
 * (`FetchTransport.layer`), the same cases. What is sent (URL, query, headers, body), how each answer maps to a
 * value or a typed error, retries, the per-attempt timeout, the duplicate-free create, and the key in no error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Redacted, Schema } from "effect"
import { FetchHttpClient } from "effect/http"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import { userAgent } from "../src/internal/http/pipeline.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as FetchTransport from "../src/transport/FetchTransport.js"
import type * as Transport from "../src/transport/Transport.js"
import * as UndiciTransport from "../src/transport/UndiciTransport.js"
import { batchJson, envelope, type Recorded, type Script, serve } from "./support/loopback.js"

const secret = "sk-test-SECRET-0123456789"
/** Retries without waiting long on the real clock: the loopback server answers in real time. */
/** Waits (real time, in steps of 10 ms) until `condition` holds; the test's own timeout is the only cap. */
const until = (condition: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => condition() ? Effect.void : Effect.andThen(Effect.sleep("10 millis"), until(condition)))

const quickRetry = BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, baseDelay: "1 millis" }))
const noRetry = BatchSchedule.withRetry(BatchSchedule.noRetry)

const transports: ReadonlyArray<{
  readonly name: string
  readonly layer: Layer.Layer<HttpClient.HttpClient | Transport.Transport> | Layer.Layer<HttpClient.HttpClient>
}> = [
  { name: "the platform's HttpClient (FetchHttpClient.layer)", layer: FetchHttpClient.layer },
  { name: "the Transport exchange (FetchTransport.layer)", layer: FetchTransport.layer },
  { name: "the Transport exchange on undici (UndiciTransport.layer)", layer: UndiciTransport.layer }
]

for (const transport of transports) {
  /** Serves `script`, and runs `body` with a BatchApi on it. */
  const withServer = <A, E>(
    script: Script,
    body: (server: { readonly requests: ReadonlyArray<Recorded>; readonly closed: () => number }) => Effect.Effect<
      A,
      E,
      BatchApi.BatchApi
    >,
    wrap?: (client: HttpClient.HttpClient) => HttpClient.HttpClient
  ) =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* serve(script)
      const api = BatchApi.layer.pipe(
        Layer.provide(OpenAiConfig.layer({
          apiKey: Redacted.make(secret),
          baseUrl: `${server.origin}/v1`,
          organization: "org-1",
          project: "proj-1"
        })),
        Layer.provide(
          wrap === undefined
            ? transport.layer
            : Layer.effect(HttpClient.HttpClient, Effect.map(Effect.service(HttpClient.HttpClient), wrap)).pipe(
              Layer.provideMerge(transport.layer)
            )
        )
      )
      return yield* Effect.provide(body(server), api)
    }))

  describe(`BatchApi over ${transport.name}`, () => {
    it.live("retrieve: the URL, the authentication and identification headers, the decoded batch", () =>
      withServer(
        () => ({ status: 200, body: batchJson({ status: "in_progress", future_field: 1 }) }),
        (server) =>
          Effect.gen(function*() {
            const batch = yield* BatchApi.retrieveBatch("batch_abc123")
            assert.strictEqual(batch.status, "in_progress")
            assert.strictEqual(batch.id, "batch_abc123")
            const [request] = server.requests
            assert.strictEqual(request?.method, "GET")
            assert.strictEqual(request?.url, "/v1/batches/batch_abc123")
            assert.strictEqual(request?.headers["authorization"], `Bearer ${secret}`)
            assert.strictEqual(request?.headers["user-agent"], userAgent)
            assert.strictEqual(request?.headers["openai-organization"], "org-1")
            assert.strictEqual(request?.headers["openai-project"], "proj-1")
          })
      ))

    it.live("list: the query; invalid parameters send nothing", () =>
      withServer(
        () => ({ status: 200, body: { object: "list", data: [batchJson()], has_more: false, first_id: null } }),
        (server) =>
          Effect.gen(function*() {
            const page = yield* BatchApi.listBatches({ limit: 5, after: "batch_x" })
            assert.strictEqual(page.data.length, 1)
            const url = new URL(server.requests[0]?.url ?? "", "http://x")
            assert.strictEqual(url.pathname, "/v1/batches")
            assert.deepStrictEqual(Object.fromEntries(url.searchParams), { limit: "5", after: "batch_x" })
            const invalid = yield* Effect.flip(BatchApi.listBatches({ limit: 0 }))
            assert.strictEqual(invalid._tag, "InvalidParamsError")
            if (invalid._tag === "InvalidParamsError") assert.strictEqual(invalid.field, "limit")
            const badId = yield* Effect.flip(BatchApi.retrieveBatch("../files"))
            assert.strictEqual(badId._tag, "InvalidParamsError")
            assert.strictEqual(server.requests.length, 1)
          })
      ))

    it.live("cancel: POST to /cancel", () =>
      withServer(
        () => ({ status: 200, body: batchJson({ status: "cancelling" }) }),
        (server) =>
          Effect.gen(function*() {
            const batch = yield* BatchApi.cancelBatch("batch_abc123")
            assert.strictEqual(batch.status, "cancelling")
            assert.strictEqual(server.requests[0]?.method, "POST")
            assert.strictEqual(server.requests[0]?.url, "/v1/batches/batch_abc123/cancel")
          })
      ))

    it.live("poll: the server's pacing hint beside the batch", () =>
      withServer(
        () => ({ status: 200, headers: { "openai-poll-after-ms": "2500" }, body: batchJson() }),
        () =>
          Effect.gen(function*() {
            const result = yield* BatchApi.pollBatch("batch_abc123")
            assert.strictEqual(result.pollAfter._tag, "Some")
            if (result.pollAfter._tag === "Some") assert.strictEqual(Duration.toMillis(result.pollAfter.value), 2500)
          })
      ))

    it.live("a status is its error class, with the API's message, code, request id and retry hint", () =>
      withServer(
        (request) =>
          request.url.endsWith("batch_404")
            ? {
              status: 404,
              headers: { "x-request-id": "req_1" },
              body: envelope("No batch found", { code: "not_found" })
            }
            : { status: 429, headers: { "retry-after-ms": "1250" }, body: envelope("slow down") },
        () =>
          Effect.gen(function*() {
            const missing = yield* Effect.flip(BatchApi.retrieveBatch("batch_404").pipe(noRetry))
            assert.strictEqual(missing._tag, "NotFoundError")
            if (missing._tag !== "NotFoundError") return
            assert.strictEqual(missing.status, 404)
            assert.strictEqual(missing.requestId, "req_1")
            assert.strictEqual(missing.code, "not_found")
            assert.strictEqual(missing.operation, "retrieveBatch")
            assert.strictEqual(missing.message, "retrieveBatch: 404 No batch found (request id req_1)")
            const limited = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
            assert.strictEqual(limited._tag, "RateLimitError")
            if (limited._tag === "RateLimitError") assert.strictEqual(limited.retryAfterMs, 1250)
          })
      ))

    it.live("transient failures are retried on the region's policy: a 500, a dropped connection, then the batch", () =>
      withServer((_, index) =>
        index === 0 ? { status: 500, body: envelope("boom") } : index === 1 ? "drop" : {
          status: 200,
          body: batchJson()
        }, (server) =>
        Effect.gen(function*() {
          const batch = yield* BatchApi.retrieveBatch("batch_abc123").pipe(quickRetry)
          assert.strictEqual(batch.id, "batch_abc123")
          assert.strictEqual(server.requests.length, 3)
        })))

    it.live("a 2xx body that is not the API's is a DecodeError naming the field, never retried", () =>
      withServer(() => ({ status: 200, body: batchJson({ status: 42 }) }), (server) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_abc123").pipe(quickRetry))
          assert.strictEqual(error._tag, "DecodeError")
          if (error._tag === "DecodeError") assert.match(error.issue, /^status /)
          assert.strictEqual(server.requests.length, 1)
        })))

    it.live("the per-attempt timeout: an answer that never comes is a TransportError of reason Timeout", () =>
      withServer(() => "hang", () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(
            BatchApi.retrieveBatch("batch_abc123").pipe(BatchSchedule.withTimeout("150 millis"), noRetry)
          )
          assert.strictEqual(error._tag, "TransportError")
          if (error._tag === "TransportError") {
            assert.strictEqual(error.reason, "Timeout")
            assert.strictEqual(error.timeoutMs, 150)
            assert.match(error.message, /^retrieveBatch: GET \S+ timed out after 150ms$/)
          }
        })))

    it.live("a body that breaks off after the head is a TransportError, retried like a dropped connection", () =>
      withServer(
        (_, index) => index === 0 ? "partial" : { status: 200, body: batchJson() },
        (server) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_abc123").pipe(noRetry))
            assert.strictEqual(error._tag, "TransportError")
            if (error._tag === "TransportError") {
              assert.strictEqual(error.reason, "Transport")
              assert.strictEqual(error.bodyBrokenOff, true)
              assert.match(error.message, /^retrieveBatch: GET \S+ failed: the body broke off/)
              assert.strictEqual(BatchError.transience(error), "ambiguous")
            }
            const batch = yield* BatchApi.retrieveBatch("batch_abc123").pipe(quickRetry)
            assert.strictEqual(batch.id, "batch_abc123")
            assert.strictEqual(server.requests.length, 2)
          })
      ))

    it.live("interrupting a call closes its request", () =>
      withServer(() => "hang", (server) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(BatchApi.retrieveBatch("batch_abc123").pipe(noRetry))
          yield* until(() => server.requests.length === 1)
          const closedBefore = server.closed()
          yield* Fiber.interrupt(fiber)
          yield* until(() => server.closed() > closedBefore)
        })))

    it.live("a client the user wrapped keeps its wrapper: the call goes through it", () =>
      withServer(
        () => ({ status: 200, body: batchJson() }),
        (server) =>
          Effect.gen(function*() {
            yield* BatchApi.retrieveBatch("batch_abc123")
            assert.strictEqual(server.requests[0]?.headers["x-wrapped"], "yes")
            assert.strictEqual(server.requests[0]?.headers["authorization"], `Bearer ${secret}`)
          }),
        HttpClient.mapRequest(HttpClientRequest.setHeader("x-wrapped", "yes"))
      ))

    it.live("create: the idempotency key as a header and as the metadata marker", () =>
      withServer((request) =>
        request.method === "POST"
          ? { status: 200, body: batchJson({ metadata: JSON.parse(request.body).metadata }) }
          : { status: 200, body: { object: "list", data: [], has_more: false } }, (server) =>
        Effect.gen(function*() {
          const batch = yield* BatchApi.createBatch({
            input_file_id: "file-abc123",
            endpoint: "/v1/chat/completions",
            completion_window: "24h",
            metadata: { job: "nightly" }
          }, { idempotencyKey: "nightly-2026-11-28" })
          assert.strictEqual(batch.metadata?.["job"], "nightly")
          // a caller's key is looked up first (GET /batches), then sent once
          assert.deepStrictEqual(server.requests.map((request) => request.method), ["GET", "POST"])
          const post = server.requests.find((request) => request.method === "POST")
          assert.strictEqual(post?.headers["idempotency-key"], "nightly-2026-11-28")
          assert.deepStrictEqual(JSON.parse(post?.body ?? "{}").metadata, {
            job: "nightly",
            [BatchApi.idempotencyMetadataKey]: "nightly-2026-11-28"
          })
          assert.strictEqual(server.requests.filter((request) => request.method === "POST").length, 1)
        })))

    it.live("a create whose connection dropped is found by its marker instead of being sent again", () => {
      let made: Record<string, unknown> | undefined
      return withServer((request) => {
        if (request.method === "POST") {
          // the server makes the batch, then the connection drops before the answer
          made = batchJson({
            id: "batch_made",
            created_at: Math.floor(Date.now() / 1000),
            metadata: JSON.parse(request.body).metadata
          })
          return "drop"
        }
        return { status: 200, body: { object: "list", data: made === undefined ? [] : [made], has_more: false } }
      }, (server) =>
        Effect.gen(function*() {
          const batch = yield* BatchApi.createBatch({
            input_file_id: "file-abc123",
            endpoint: "/v1/chat/completions",
            completion_window: "24h"
          }).pipe(quickRetry)
          assert.strictEqual(batch.id, "batch_made")
          assert.deepStrictEqual(server.requests.map((request) => request.method), ["POST", "GET"])
        }))
    })

    it.live("the API key is in no error: not in the message, String, JSON or the encoded error, even echoed back", () =>
      withServer((request) =>
        request.url.endsWith("batch_401")
          ? { status: 401, body: envelope(`Incorrect API key provided: ${secret}`) }
          : request.url.endsWith("batch_html")
          ? { status: 502, body: `<html>bad gateway for ${request.headers["authorization"]}</html>` }
          : request.url.endsWith("batch_bad")
          ? { status: 200, body: `{"oops": "${secret}"` }
          : "drop", () =>
        Effect.gen(function*() {
          const errors = [
            yield* Effect.flip(BatchApi.retrieveBatch("batch_401").pipe(noRetry)),
            yield* Effect.flip(BatchApi.retrieveBatch("batch_html").pipe(noRetry)),
            yield* Effect.flip(BatchApi.retrieveBatch("batch_bad").pipe(noRetry)),
            yield* Effect.flip(BatchApi.retrieveBatch("batch_drop").pipe(noRetry))
          ]
          assert.deepStrictEqual(errors.map((error) => error._tag), [
            "AuthenticationError",
            "InternalServerError",
            "DecodeError",
            "TransportError"
          ])
          for (const error of errors) {
            const encoded = JSON.stringify(Schema.encodeSync(BatchError.BatchError)(error))
            for (const rendered of [error.message, String(error), JSON.stringify(error), error.stack ?? "", encoded]) {
              assert.notInclude(rendered, secret)
            }
          }
        })))
  })
}

describe("FetchTransport", () => {
  it.live("the exchange calls the fetch of FetchHttpClient.Fetch, as the platform's fetch client does", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* serve(() => ({ status: 200, body: batchJson() }))
      const called: Array<string> = []
      const recording: typeof globalThis.fetch = (input, init) => {
        called.push(String(input))
        return globalThis.fetch(input, init)
      }
      const api = BatchApi.layer.pipe(
        Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(secret), baseUrl: `${server.origin}/v1` })),
        Layer.provide(FetchTransport.layer)
      )
      yield* BatchApi.retrieveBatch("batch_abc123").pipe(
        Effect.provide(api),
        Effect.provideService(FetchHttpClient.Fetch, recording)
      )
      assert.deepStrictEqual(called, [`${server.origin}/v1/batches/batch_abc123`])
    })))
})
