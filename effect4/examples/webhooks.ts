/**
 * Webhooks instead of polling, end to end on this machine: an HTTP endpoint verifies OpenAI's signed `batch.*`
 * events (`Webhooks.httpApp`) and publishes them to `BatchEvents`; a wait that polls only every 6 hours ends as soon
 * as the batch's event arrives. The simulator's server plays OpenAI: it runs the batch at 1,000x and delivers the
 * event, signed with the endpoint's secret, the moment the batch ends.
 *
 *   npx tsx examples/webhooks.ts        (inside effect4/, on Node >= 22.19)
 *
 * In production the endpoint is the same program behind your public URL, registered in the OpenAI dashboard, with
 * `OPENAI_WEBHOOK_SECRET` read by `Webhooks.layerFromEnv`.
 *
 * The root's program on this edition: the route is a layer (`HttpRouter.add`) turned into the handler the server
 * serves (`HttpRouter.toHttpEffect`), `FetchHttpClient` is `effect/http`'s, and the server's address is an
 * `InetAddress` (or a `UnixPathAddress`).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Option, Redacted } from "effect"
import { BatchApi, BatchEvents, BatchSchedule, BatchWait, OpenAiConfig, Webhooks } from "effect-openai-batch"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import * as Server from "effect-openai-batch/testing/server"
import { FetchHttpClient, HttpRouter } from "effect/http"
import { randomBytes } from "node:crypto"
import * as Http from "node:http"

const secret = Redacted.make(`whsec_${randomBytes(32).toString("base64")}`)

const program = Effect.gen(function*() {
  // The endpoint: verify, decode, publish. An unsigned or stale request gets a 400 and publishes nothing.
  const events = yield* BatchEvents.make
  const webhooks = yield* Webhooks.make({ secret })
  const router = yield* HttpRouter.toHttpEffect(HttpRouter.add("POST", "/openai/webhooks", Webhooks.httpApp()))
  const endpoint = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
  yield* endpoint.serve(router.pipe(
    Effect.provideService(Webhooks.Webhooks, webhooks),
    Effect.provideService(BatchEvents.BatchEvents, events)
  ))
  const port = endpoint.address._tag === "UnixPathAddress" ? 0 : endpoint.address.port
  yield* Console.log(`endpoint: http://127.0.0.1:${port}/openai/webhooks`)

  // "OpenAI": a batch runs for an hour of simulated time, 3.6 real seconds (long enough that the wait's first poll,
  // right after the create, sees it running even on a loaded machine); its event is delivered signed when it ends.
  const openai = yield* Server.make({
    speed: 1000,
    requireInputFile: false,
    script: { inProgress: "1 hour" },
    webhooks: { url: `http://127.0.0.1:${port}/openai/webhooks`, secret }
  })
  const api = BatchApi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(BatchApiSimulator.testApiKey), baseUrl: openai.baseUrl })),
    Layer.provide(FetchHttpClient.layer)
  )

  const started = Date.now()
  const batch = yield* BatchApi.createBatch({
    input_file_id: "file-any",
    endpoint: "/v1/embeddings",
    completion_window: "24h"
  }).pipe(Effect.provide(api))
  yield* Console.log(`created ${batch.id}; waiting with a poll every 6 hours`)

  // With BatchEvents in context the wait wakes on the batch's event; the slow poll (on this program's real clock)
  // is only a safety net.
  const done = yield* BatchWait.awaitBatch(batch.id, { schedule: BatchSchedule.every("6 hours") }).pipe(
    Effect.provide(api),
    Effect.provideService(BatchEvents.BatchEvents, events)
  )
  const event = yield* events.latest(batch.id)
  yield* Console.log(`event ${Option.match(event, { onNone: () => "none", onSome: (e) => e.type })} received`)
  yield* Console.log(`the wait ended: ${done.status}`)
  yield* Console.log(`after ${((Date.now() - started) / 1000).toFixed(1)} s, long before the next poll`)
})

program.pipe(Effect.scoped, NodeRuntime.runMain)
