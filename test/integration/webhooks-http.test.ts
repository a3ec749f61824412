/**
 * Webhooks end to end over real HTTP: the simulator's server delivers signed `batch.*` events to an endpoint the
 * test serves with `Webhooks.httpApp` on `@effect/platform-node`'s HTTP server; the endpoint verifies them and
 * publishes them to `BatchEvents`, where a wait sees them.
 */
import { FetchHttpClient, HttpRouter } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import * as Http from "node:http"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchEvents from "../../src/BatchEvents.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as Server from "../../src/testing/server.js"
import * as Webhooks from "../../src/Webhooks.js"

const secret = Redacted.make(`whsec_${randomBytes(32).toString("base64")}`)

describe("webhooks over real HTTP", () => {
  it.scopedLive("the simulator's server delivers batch.completed to an HttpRouter endpoint, which publishes it", () =>
    Effect.gen(function*() {
      const events = yield* BatchEvents.make
      const webhooks = yield* Webhooks.make({ secret })
      const router = HttpRouter.empty.pipe(HttpRouter.post("/openai/webhooks", Webhooks.httpApp()))
      const endpoint = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
      yield* endpoint.serve(router.pipe(
        Effect.provideService(Webhooks.Webhooks, webhooks),
        Effect.provideService(BatchEvents.BatchEvents, events)
      ))
      const port = endpoint.address._tag === "TcpAddress" ? endpoint.address.port : 0
      // one real second = 1000 batch seconds: the default 6-minute lifecycle takes 0.36 s
      const server = yield* Server.make({
        speed: 1000,
        requireInputFile: false,
        webhooks: { url: `http://127.0.0.1:${port}/openai/webhooks`, secret }
      })
      const api = BatchApi.layer.pipe(
        Layer.provide(
          OpenAiConfig.layer({ apiKey: Redacted.make(BatchApiSimulator.testApiKey), baseUrl: server.baseUrl })
        ),
        Layer.provide(FetchHttpClient.layer)
      )
      const batch = yield* BatchApi.createBatch({
        input_file_id: "file-any",
        endpoint: "/v1/embeddings",
        completion_window: "24h"
      }).pipe(Effect.provide(api))
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
    }))
})
