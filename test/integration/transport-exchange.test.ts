/**
 * The library's JSON calls on `UndiciTransport` and `FetchTransport` take the transport's `Transport` exchange
 * (src/internal/transport/undici/text.ts, src/internal/transport/fetch.ts): the per-attempt timeout is the exchange's own timer
 * there, not a forked fiber. These tests pin what that path must keep over real loopback HTTP, on both: the timeout
 * (also over a body that stalls, also inside an uninterruptible region), interruption closing the request, a body
 * that breaks off, and a client the user wrapped keeping its wrapper (it goes through the HttpClient). They run in
 * real time and wait a fraction of a second each.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Layer, Redacted } from "effect"
import { readFileSync } from "node:fs"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as FetchTransport from "../../src/transport/FetchTransport.js"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import { apiKey, library } from "./support/client.js"
import { eventually, loopback } from "./support/loopback.js"

const once = BatchSchedule.withRetry(BatchSchedule.noRetry)
const batchJson = readFileSync(new URL("../../fixtures/retrieveBatch.response.json", import.meta.url), "utf8")

/**
 * `closedWithin`: how long the transport may keep an aborted request's socket. UndiciTransport destroys it at once;
 * FetchTransport aborts the runtime's `fetch`, which lets go of the socket when its own undici does: at once on Node
 * 24, after about 4 s on Node 20 and 22 (the undici 6 they bundle). What every runtime guarantees is that it closes.
 */
const transports = [
  { name: "UndiciTransport", layer: UndiciTransport.layer, closedWithin: 2_000 },
  { name: "FetchTransport", layer: FetchTransport.layer, closedWithin: 10_000 }
]

for (const transport of transports) {
  const on = (
    origin: string,
    options: {
      readonly timeout?: Duration.DurationInput
      readonly wrap?: (client: HttpClient.HttpClient) => HttpClient.HttpClient
    } = {}
  ) =>
    library({
      baseUrl: `${origin}/v1`,
      transport: transport.layer,
      maxRetries: 0,
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      ...(options.wrap === undefined ? {} : { wrap: options.wrap })
    })

  describe(`the library on ${transport.name}'s Transport exchange`, () => {
    it.scopedLive("a server that never answers: TransportError Timeout, and the connection is closed", () =>
      Effect.gen(function*() {
        const server = yield* loopback(() => {})
        const error = yield* Effect.flip(
          once(BatchApi.retrieveBatch("batch_1")).pipe(Effect.provide(on(server.origin, { timeout: "200 millis" })))
        )
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") {
          assert.strictEqual(error.reason, "Timeout")
          assert.strictEqual(
            error.message,
            `retrieveBatch: GET ${server.origin}/v1/batches/batch_1 timed out after 200ms`
          )
        }
        assert.isTrue(
          yield* eventually(
            () => server.accepted() > 0 && server.closed() === server.accepted(),
            transport.closedWithin
          )
        )
      }))

    it.scopedLive("the timeout covers the body: a body that stalls after its head times out", () =>
      Effect.gen(function*() {
        const server = yield* loopback((_, response) => {
          response.writeHead(200, { "content-type": "application/json", "content-length": "1000" })
          response.write("{\"id\":")
        })
        const error = yield* Effect.flip(
          once(BatchApi.retrieveBatch("batch_1")).pipe(Effect.provide(on(server.origin, { timeout: "200 millis" })))
        )
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
      }))

    it.scopedLive("fires inside an uninterruptible region (a cancel run by a finalizer must not hang)", () =>
      Effect.gen(function*() {
        const server = yield* loopback(() => {})
        const error = yield* Effect.flip(
          Effect.uninterruptible(once(BatchApi.cancelBatch("batch_1"))).pipe(
            Effect.provide(on(server.origin, { timeout: "200 millis" }))
          )
        )
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
      }))

    it.scopedLive("interrupting the caller aborts the request: the socket is closed, long before the timeout", () =>
      Effect.gen(function*() {
        let arrived = 0
        const server = yield* loopback(() => {
          arrived++
        })
        const fiber = yield* Effect.fork(
          once(BatchApi.retrieveBatch("batch_1")).pipe(Effect.provide(on(server.origin, { timeout: "30 seconds" })))
        )
        assert.isTrue(yield* eventually(() => arrived === 1))
        yield* Fiber.interrupt(fiber)
        assert.isTrue(
          yield* eventually(
            () => server.accepted() > 0 && server.closed() === server.accepted(),
            transport.closedWithin
          )
        )
      }))

    it.scopedLive("a body that breaks off: TransportError Transport with undici's error as cause", () =>
      Effect.gen(function*() {
        const server = yield* loopback((_, response) => {
          response.writeHead(200, { "content-type": "application/json", "content-length": "1000" })
          response.write("{\"id\":", () => response.socket?.destroy())
        })
        const error = yield* Effect.flip(
          once(BatchApi.retrieveBatch("batch_1")).pipe(Effect.provide(on(server.origin)))
        )
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") {
          assert.strictEqual(error.reason, "Transport")
          assert.isDefined(error.cause)
          assert.strictEqual(error.bodyBrokenOff, true)
          assert.include(error.message, `GET ${server.origin}/v1/batches/batch_1 failed: the body broke off`)
        }
      }))

    it.scopedLive("a client wrapped by the user keeps its wrapper (the request goes through the HttpClient)", () =>
      Effect.gen(function*() {
        const seen: Array<string | undefined> = []
        const server = yield* loopback((request, response) => {
          const header = request.headers["x-wrapped"]
          seen.push(typeof header === "string" ? header : undefined)
          response.writeHead(200, { "content-type": "application/json" })
          response.end(batchJson)
        })
        const wrap = (client: HttpClient.HttpClient) =>
          HttpClient.mapRequest(client, HttpClientRequest.setHeader("x-wrapped", "yes"))
        const direct = yield* once(BatchApi.retrieveBatch("batch_abc123")).pipe(Effect.provide(on(server.origin)))
        const wrapped = yield* once(BatchApi.retrieveBatch("batch_abc123")).pipe(
          Effect.provide(on(server.origin, { wrap }))
        )
        assert.strictEqual(direct.id, "batch_abc123")
        assert.strictEqual(wrapped.id, "batch_abc123")
        assert.deepStrictEqual(seen, [undefined, "yes"])
      }))

    it.scopedLive("a redirect to another origin is not followed: Azure's api-key header never leaves for it", () =>
      Effect.gen(function*() {
        // fetch drops `authorization` on a cross-origin redirect, but not Azure's `api-key`.
        const elsewhere: Array<string | undefined> = []
        const other = yield* loopback((request, response) => {
          const key = request.headers["api-key"]
          elsewhere.push(typeof key === "string" ? key : undefined)
          response.writeHead(200, { "content-type": "application/json" })
          response.end(batchJson)
        })
        const server = yield* loopback((request, response) => {
          response.writeHead(307, { location: `${other.origin.replace("127.0.0.1", "localhost")}${request.url}` })
          response.end()
        })
        const azure = BatchApi.layer.pipe(
          Layer.provide(
            OpenAiConfig.layerAzure({
              endpoint: server.origin,
              apiVersion: "2024-10-21",
              apiKey: Redacted.make(apiKey)
            })
          ),
          Layer.provide(transport.layer),
          Layer.orDie
        )
        const error = yield* Effect.flip(once(BatchApi.retrieveBatch("batch_abc123")).pipe(Effect.provide(azure)))
        assert.strictEqual(error._tag, "ApiError")
        if (error._tag === "ApiError") assert.strictEqual(error.status, 307)
        assert.deepStrictEqual(elsewhere, [])
      }))

    it.scopedLive("the query string and a JSON body arrive as through the HttpClient", () =>
      Effect.gen(function*() {
        const seen: Array<{ url: string | undefined; type: string | undefined; body: string }> = []
        const server = yield* loopback((request, response) => {
          const chunks: Array<Buffer> = []
          request.on("data", (chunk: Buffer) => chunks.push(chunk))
          request.on("end", () => {
            seen.push({
              url: request.url,
              type: request.headers["content-type"],
              body: Buffer.concat(chunks).toString("utf8")
            })
            response.writeHead(200, { "content-type": "application/json" })
            response.end(
              request.method === "GET" ? JSON.stringify({ object: "list", data: [], has_more: false }) : batchJson
            )
          })
        })
        yield* once(BatchApi.listBatches({ limit: 7, after: "batch a&b" })).pipe(Effect.provide(on(server.origin)))
        yield* once(
          BatchApi.createBatch({ input_file_id: "file-1", endpoint: "/v1/embeddings", completion_window: "24h" }, {
            idempotencyMarker: false
          })
        ).pipe(Effect.provide(on(server.origin)))
        const url = new URL(seen[0]?.url ?? "", server.origin)
        assert.strictEqual(url.pathname, "/v1/batches")
        assert.deepStrictEqual(Object.fromEntries(url.searchParams), { limit: "7", after: "batch a&b" })
        assert.strictEqual(seen[1]?.type, "application/json")
        assert.deepStrictEqual(JSON.parse(seen[1]?.body ?? ""), {
          input_file_id: "file-1",
          endpoint: "/v1/embeddings",
          completion_window: "24h"
        })
      }))
  })
}

describe("FetchTransport", () => {
  it.scopedLive("honours FetchHttpClient.Fetch on the Transport exchange (the fetch given to the layer is the one called)", () =>
    Effect.gen(function*() {
      const server = yield* loopback((_, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.end(batchJson)
      })
      const called: Array<string> = []
      const recording: typeof globalThis.fetch = (input, init) => {
        called.push(String(input))
        return globalThis.fetch(input, init)
      }
      const transport = FetchTransport.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, recording)))
      const batch = yield* once(BatchApi.retrieveBatch("batch_abc123")).pipe(
        Effect.provide(library({ baseUrl: `${server.origin}/v1`, transport, maxRetries: 0 }))
      )
      assert.strictEqual(batch.id, "batch_abc123")
      assert.deepStrictEqual(called, [`${server.origin}/v1/batches/batch_abc123`])
    }))
})

describe("a request a transport cannot write", () => {
  it.scopedLive("undici refuses a header value it cannot write: reason Encode, which is permanent (never retried)", () =>
    Effect.gen(function*() {
      const server = yield* loopback(() => {})
      const transport = UndiciTransport.fromDispatcher(yield* UndiciTransport.makeDispatcher())
      const failure = yield* Effect.flip(transport.exchange({
        method: "GET",
        origin: server.origin,
        path: "/v1/batches/batch_1",
        headers: { "x-bad": "caf\u00e9\u20ac" },
        body: undefined,
        timeoutMillis: 1_000
      }))
      assert.strictEqual(failure.reason, "Encode")
      assert.strictEqual(server.accepted(), 0)
    }))
})
