/**
 * The library's JSON calls on `UndiciTransport` and `FetchTransport` take the transport's `Transport` exchange
 * (src/internal/transport/undici/text.ts, src/internal/transport/fetch.ts): the per-attempt timeout is the
 * exchange's own timer there, not a fiber. What that path must keep over real loopback HTTP, on both, beyond the
 * cases test/BatchApi.http.test.ts runs on every transport: the timeout also over a body that stalls after its head
 * and inside an uninterruptible region, the socket of a timed-out call closed, and a request undici cannot write
 * refused before anything is sent. The root's test/integration/transport-exchange.test.ts on Effect 4.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as FetchTransport from "../../src/transport/FetchTransport.js"
import type * as Transport from "../../src/transport/Transport.js"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import { batchJson } from "../support/loopback.js"
import { loopback, type LoopbackHandler, until } from "../support/sockets.js"

const once = BatchSchedule.withRetry(BatchSchedule.noRetry)

const transports: ReadonlyArray<{
  readonly name: string
  readonly layer: Layer.Layer<HttpClient.HttpClient | Transport.Transport>
}> = [
  { name: "UndiciTransport", layer: UndiciTransport.layer },
  { name: "FetchTransport", layer: FetchTransport.layer }
]

for (const transport of transports) {
  /** `BatchApi` on the transport against a server answering with `handler`, with a 200 ms attempt timeout. */
  const on = (handler: LoopbackHandler) =>
    Effect.map(loopback(handler), (server) => ({
      server,
      api: BatchApi.layer.pipe(
        Layer.provideMerge(BatchSchedule.layerTimeout("200 millis")),
        Layer.provide(
          OpenAiConfig.layer({ apiKey: Redacted.make("sk-exchange-test"), baseUrl: `${server.origin}/v1` })
        ),
        Layer.provide(transport.layer)
      )
    }))

  describe(`the library on ${transport.name}'s Transport exchange`, () => {
    it.live("a server that never answers: TransportError Timeout naming the call, and the connection is closed", () =>
      Effect.gen(function*() {
        const { api, server } = yield* on(() => {})
        const error = yield* Effect.flip(once(BatchApi.retrieveBatch("batch_1")).pipe(Effect.provide(api)))
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") {
          assert.strictEqual(error.reason, "Timeout")
          assert.strictEqual(
            error.message,
            `retrieveBatch: GET ${server.origin}/v1/batches/batch_1 timed out after 200ms`
          )
        }
        // Both transports let go of the socket: undici's at once, Node's fetch when its own undici does.
        yield* until(() => server.accepted() > 0 && server.closed() === server.accepted())
      }))

    it.live("the timeout covers the body: a body that stalls after its head times out", () =>
      Effect.gen(function*() {
        const { api } = yield* on((_, response) => {
          response.writeHead(200, { "content-type": "application/json", "content-length": "1000" })
          response.write("{\"id\":")
        })
        const error = yield* Effect.flip(once(BatchApi.retrieveBatch("batch_1")).pipe(Effect.provide(api)))
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
      }))

    it.live("fires inside an uninterruptible region (a cancel run by a finalizer must not hang)", () =>
      Effect.gen(function*() {
        const { api } = yield* on(() => {})
        const error = yield* Effect.flip(
          Effect.uninterruptible(once(BatchApi.cancelBatch("batch_1"))).pipe(Effect.provide(api))
        )
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
      }))

    it.live("a redirect to another origin is not followed: Azure's api-key header never leaves for it", () =>
      Effect.gen(function*() {
        // fetch drops `authorization` on a cross-origin redirect, but not Azure's `api-key`.
        const elsewhere: Array<string | undefined> = []
        const other = yield* loopback((request, response) => {
          const key = request.headers["api-key"]
          elsewhere.push(typeof key === "string" ? key : undefined)
          response.writeHead(200, { "content-type": "application/json" })
          response.end(JSON.stringify(batchJson()))
        })
        const server = yield* loopback((request, response) => {
          response.writeHead(307, { location: `${other.origin.replace("127.0.0.1", "localhost")}${request.url}` })
          response.end()
        })
        const azure = BatchApi.layer.pipe(
          Layer.provide(OpenAiConfig.layerAzure({
            endpoint: server.origin,
            apiVersion: "2024-10-21",
            apiKey: Redacted.make("sk-exchange-test")
          })),
          Layer.provide(transport.layer)
        )
        const error = yield* Effect.flip(once(BatchApi.retrieveBatch("batch_abc123")).pipe(Effect.provide(azure)))
        assert.strictEqual(error._tag, "ApiError")
        if (error._tag === "ApiError") assert.strictEqual(error.status, 307)
        assert.deepStrictEqual(elsewhere, [])
      }))

    it.live("a download whose error answer stalls after its head: the status's error, at the timeout", () =>
      Effect.gen(function*() {
        // The error's body is read whole; unbounded, that read hung 5 minutes on undici (its body timeout), forever
        // on fetch. (Downloads take the HttpClient, which is the transport's own here.)
        const stalling = yield* loopback((_, response) => {
          response.writeHead(502, { "content-type": "application/json", "content-length": "1000" })
          response.write("{\"error\":")
        })
        const files = OpenAiFiles.layer.pipe(
          Layer.provideMerge(BatchSchedule.layerTimeout("200 millis")),
          Layer.provide(
            OpenAiConfig.layer({ apiKey: Redacted.make("sk-exchange-test"), baseUrl: `${stalling.origin}/v1` })
          ),
          Layer.provide(transport.layer)
        )
        const error = yield* Effect.flip(
          Stream.runDrain(OpenAiFiles.downloadFile("file-abc")).pipe(
            once,
            Effect.provide(files),
            Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail("hung" as const) })
          )
        )
        assert.strictEqual(error === "hung" ? error : error._tag, "InternalServerError")
      }))
  })
}

describe("a request a transport cannot write", () => {
  it.live("undici refuses a header value it cannot write: reason Encode, before anything is sent", () =>
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
