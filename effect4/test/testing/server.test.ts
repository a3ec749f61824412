/**
 * The simulator over real HTTP (ported from the root's test/integration/simulator-http.test.ts and
 * webhooks-http.test.ts): a server on 127.0.0.1 that each test starts and its scope stops, reached by the library
 * over `fetch` and undici, its faults on real sockets, and its webhooks delivered to an endpoint the test serves.
 *
 * Not ported: the root's check with the official openai SDK (not a dependency of this edition); raw `fetch` takes
 * its place for what is not the library's (a reset while the body is sent, a body cut short).
 */
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Layer, Option, Redacted, Schedule } from "effect"
import type { HttpClient } from "effect/http"
import { FetchHttpClient } from "effect/http"
import { randomBytes } from "node:crypto"
import * as Http from "node:http"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchEvents from "../../src/BatchEvents.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as Server from "../../src/testing/server.js"
import * as Webhooks from "../../src/Webhooks.js"

const lines = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `r${i}`,
      method: "POST",
      url: "/v1/embeddings",
      body: { model: "text-embedding-3-small", input: `text ${i}` }
    })).join("\n") + "\n"

const apiOver = (
  server: Server.SimulatorServer,
  client: Layer.Layer<HttpClient.HttpClient>,
  timeout: Duration.Input = "5 seconds"
) =>
  BatchApi.layer.pipe(
    Layer.provideMerge(BatchSchedule.layerTimeout(timeout)),
    Layer.provide(OpenAiConfig.layer({
      apiKey: Redacted.make(BatchApiSimulator.testApiKey),
      baseUrl: server.baseUrl
    })),
    Layer.provide(client)
  )

// 1 real second = 1000 batch seconds: the default 6-minute lifecycle takes about 0.4 s.
const speed = 1000

const bearer = { authorization: `Bearer ${BatchApiSimulator.testApiKey}` }

describe("simulator over real HTTP", () => {
  it.live("the four operations and a whole lifecycle through undici, on an accelerated clock", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* Server.make({ speed })
      assert.isAbove(server.port, 0)
      assert.strictEqual(server.baseUrl, `http://127.0.0.1:${server.port}/v1`)
      const file = yield* server.simulator.putFile({ content: lines(5) })
      // The first batch lives the default 0.36 s; the second, cancelled a few requests later, stays in progress
      // for 20 simulated hours (72 s): a loaded machine can take longer than 0.36 s for those requests.
      yield* server.simulator.scriptNext({})
      yield* server.simulator.scriptNext({ inProgress: "20 hours" })
      const createdId = yield* Effect.gen(function*() {
        const created = yield* BatchApi.createBatch({
          input_file_id: file.id,
          endpoint: "/v1/embeddings",
          completion_window: "24h",
          metadata: { run: "undici" }
        })
        assert.strictEqual(created.status, "validating")
        assert.strictEqual((yield* BatchApi.retrieveBatch(created.id)).id, created.id)
        const other = yield* BatchApi.createBatch({
          input_file_id: file.id,
          endpoint: "/v1/embeddings",
          completion_window: "24h"
        })
        const page = yield* BatchApi.listBatches({ limit: 1 })
        assert.deepStrictEqual(page.data.map((b) => b.id), [other.id])
        assert.isTrue(page.has_more)
        const rest = yield* BatchApi.listBatches({ after: other.id })
        assert.deepStrictEqual(rest.data.map((b) => b.id), [created.id])
        assert.strictEqual((yield* BatchApi.cancelBatch(other.id)).status, "cancelling")
        const done = yield* BatchWait.awaitCompleted(created.id, { schedule: BatchSchedule.every("50 millis") })
        assert.deepStrictEqual({ ...done.request_counts }, { total: 5, completed: 5, failed: 0 })
        assert.isDefined(done.output_file_id)
        const missing = yield* Effect.flip(BatchApi.retrieveBatch("batch_missing"))
        assert.strictEqual(missing._tag, "NotFoundError")
        return created.id
      }).pipe(Effect.provide(apiOver(server, NodeHttpClient.layerUndici)))
      // the server's simulator runs on the server's clock: it sees the batch completed, as its clients did
      const seen = yield* server.simulator.batch(createdId)
      assert.strictEqual(Option.getOrThrow(seen).status, "completed")
    })))

  it.live("a dropped connection really drops the socket; an unanswered request leaves the server able to stop", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* Server.make()
      yield* server.simulator.injectFault(BatchApiSimulator.dropConnection)
      const error = yield* Effect.flip(BatchApi.listBatches({}).pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
        .pipe(Effect.provide(apiOver(server, NodeHttpClient.layerUndici)))
      assert.strictEqual(error._tag, "TransportError")
      if (error._tag === "TransportError") assert.strictEqual(error.reason, "Transport")
      // and a retried call gets through after one drop
      yield* server.simulator.injectFault(BatchApiSimulator.dropConnection)
      const page = yield* BatchApi.listBatches().pipe(Effect.provide(apiOver(server, FetchHttpClient.layer)))
      assert.strictEqual(page.object, "list")
      const statuses = (yield* server.simulator.requests).map((r) => r.status ?? r.fault)
      assert.deepStrictEqual(statuses, ["Dropped", "Dropped", 200])
      // a request that is never answered: the client's timeout fires, and the scope's end still stops the server
      yield* server.simulator.injectFault(BatchApiSimulator.timeout)
      const timedOut = yield* Effect.flip(BatchApi.listBatches({}).pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
        .pipe(Effect.provide(apiOver(server, NodeHttpClient.layerUndici, "300 millis")))
      assert.strictEqual(timedOut._tag, "TransportError")
      if (timedOut._tag === "TransportError") assert.strictEqual(timedOut.reason, "Timeout")
    })))

  it.live("a reset while the body is sent, before it is read; a body announced whole and cut short", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* Server.make()
      yield* server.simulator.injectFault(BatchApiSimulator.resetDuringBody, { match: { path: "/v1/files" } })
      const form = () => {
        const body = new FormData()
        body.set("purpose", "batch")
        body.set("file", new Blob([lines(2000)]), "in.jsonl")
        return body
      }
      const upload = () =>
        Effect.tryPromise(() => fetch(`${server.baseUrl}/files`, { method: "POST", headers: bearer, body: form() }))
      const reset = yield* Effect.flip(upload())
      assert.isDefined(reset)
      const [logged] = yield* server.simulator.requests
      assert.deepStrictEqual([logged?.fault, logged?.body, logged?.headers["authorization"]], [
        "ResetDuringBody",
        undefined,
        undefined
      ])
      // the next upload goes through: the fault was taken once, before the body
      const stored = yield* Effect.flatMap(upload(), (response) => Effect.promise(() => response.json()))
      assert.strictEqual(stored.purpose, "batch")

      yield* server.simulator.injectFault(BatchApiSimulator.cutDuringBody)
      const response = yield* Effect.promise(() =>
        fetch(`${server.baseUrl}/files/${stored.id}/content`, { headers: bearer })
      )
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("content-length"), String(stored.bytes))
      const cut = yield* Effect.flip(Effect.tryPromise(() => response.arrayBuffer()))
      assert.isDefined(cut)
      const whole = yield* Effect.promise(async () =>
        (await fetch(`${server.baseUrl}/files/${stored.id}/content`, { headers: bearer })).text()
      )
      assert.strictEqual(whole, lines(2000))
    })))

  it.live("enqueued limits pass through the server: the second batch fails with token_limit_exceeded", () =>
    Effect.scoped(Effect.gen(function*() {
      // In progress for 20 simulated hours (72 s): still enqueued when checked, however loaded the machine.
      const server = yield* Server.make({
        speed,
        enqueuedTokenLimit: { "text-embedding-3-small": 15 },
        script: { inProgress: "20 hours" }
      })
      const file = yield* server.simulator.putFile({ content: lines(5) }) // 5 lines of 2 tokens each
      yield* Effect.gen(function*() {
        const params = { input_file_id: file.id, endpoint: "/v1/embeddings", completion_window: "24h" } as const
        const admitted = yield* BatchApi.createBatch(params)
        const rejected = yield* BatchApi.createBatch(params)
        const error = yield* Effect.flip(
          BatchWait.awaitCompleted(rejected.id, { schedule: BatchSchedule.every("50 millis") })
        )
        assert.strictEqual(error._tag, "BatchFailedError")
        if (error._tag === "BatchFailedError") assert.strictEqual(error.errors[0]?.code, "token_limit_exceeded")
        assert.strictEqual((yield* BatchApi.retrieveBatch(admitted.id)).status, "in_progress")
        assert.deepStrictEqual(yield* server.simulator.enqueued("text-embedding-3-small"), {
          tokens: 10,
          requests: 5,
          batches: 1
        })
      }).pipe(Effect.provide(apiOver(server, FetchHttpClient.layer)))
    })))

  it.live("webhooks: the server delivers batch.completed to an endpoint the test serves, which publishes it", () =>
    Effect.scoped(Effect.gen(function*() {
      const secret = Redacted.make(`whsec_${randomBytes(32).toString("base64")}`)
      const events = yield* BatchEvents.make
      const webhooks = yield* Webhooks.make({ secret })
      const endpoint = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
      yield* endpoint.serve(
        Webhooks.httpApp().pipe(
          Effect.provideService(Webhooks.Webhooks, webhooks),
          Effect.provideService(BatchEvents.BatchEvents, events)
        )
      )
      const port = endpoint.address._tag === "UnixPathAddress" ? 0 : endpoint.address.port
      const server = yield* Server.make({
        speed,
        requireInputFile: false,
        webhooks: { url: `http://127.0.0.1:${port}/openai/webhooks`, secret }
      })
      const batch = yield* BatchApi.createBatch({
        input_file_id: "file-any",
        endpoint: "/v1/embeddings",
        completion_window: "24h"
      }).pipe(Effect.provide(apiOver(server, FetchHttpClient.layer)))
      const event = yield* events.awaitEvent(batch.id).pipe(Effect.timeout("20 seconds"))
      assert.strictEqual(event.type, "batch.completed")
      // the endpoint published the event before it answered: the simulator logs the answer a moment later
      const deliveries = yield* (server.webhooks?.deliveries ?? Effect.succeed([])).pipe(
        Effect.filterOrFail((log) => log.length > 0, () => "no delivery logged yet"),
        Effect.retry(Schedule.spaced("10 millis")),
        Effect.timeout("5 seconds")
      )
      assert.deepStrictEqual(deliveries.map((d) => [d.outcome, d.status, d.batchId]), [["Delivered", 200, batch.id]])
      assert.strictEqual(deliveries[0]?.webhookId, `wh_${event.id.slice("evt_".length)}`)
    })))
})
