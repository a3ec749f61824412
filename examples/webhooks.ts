/**
 * Webhooks instead of polling, end to end on this machine: an HTTP endpoint verifies OpenAI's signed `batch.*`
 * events (`Webhooks.httpApp`) and publishes them to `BatchEvents`; a wait that polls only every 10 minutes ends as
 * soon as the batch's event arrives. The simulator's server plays OpenAI: it runs the batch at 1,000x and delivers
 * the event, signed with the endpoint's secret, the moment the batch ends.
 *
 *   npx tsx examples/webhooks.ts
 *
 * In production the endpoint is the same program behind your public URL, registered in the OpenAI dashboard, with
 * `OPENAI_WEBHOOK_SECRET` read by `Webhooks.layerFromEnv`.
 */
import { FetchHttpClient, HttpRouter } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Option, Redacted } from "effect"
import { BatchApi, BatchEvents, BatchSchedule, BatchWait, OpenAiConfig, Webhooks } from "effect-openai-batch"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import * as Server from "effect-openai-batch/testing/server"
import { randomBytes } from "node:crypto"
import * as Http from "node:http"

const secret = Redacted.make(`whsec_${randomBytes(32).toString("base64")}`)

const program = Effect.gen(function*() {
  // The endpoint: verify, decode, publish. An unsigned or stale request gets a 400 and publishes nothing.
  const events = yield* BatchEvents.make
  const webhooks = yield* Webhooks.make({ secret })
  const router = HttpRouter.empty.pipe(HttpRouter.post("/openai/webhooks", Webhooks.httpApp()))
  const endpoint = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
  yield* endpoint.serve(router.pipe(
    Effect.provideService(Webhooks.Webhooks, webhooks),
    Effect.provideService(BatchEvents.BatchEvents, events)
  ))
  const port = endpoint.address._tag === "TcpAddress" ? endpoint.address.port : 0
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

  // With BatchEvents in context the wait wakes on the batch's event; the slow poll is only a safety net.
  // (6 simulated hours are 21.6 real seconds: the event comes first even on a machine too loaded to keep the pace.)
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
