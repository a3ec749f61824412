/**
 * Waits that end on a webhook: with a `BatchEvents` feed in context, `awaitBatch` (and so `Job.runBatch`, which
 * waits with it) polls as soon as an event about its batch arrives, instead of at its next scheduled poll; the
 * schedule stays as the safety net for a delivery that never comes.
 *
 * Ported from the root's test of the same name, on `FastTestClock` (Effect 4's `TestClock.adjust` leaves a forked
 * wait at its first poll).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { randomBytes } from "node:crypto"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchEvents from "../src/BatchEvents.js"
import * as BatchLine from "../src/BatchLine.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchWait from "../src/BatchWait.js"
import * as Job from "../src/Job.js"
import * as BatchApiSimulator from "../src/testing/BatchApiSimulator.js"
import * as SimulatorWebhooks from "../src/testing/SimulatorWebhooks.js"
import * as Webhooks from "../src/Webhooks.js"
import { fast, lateWebCrypto } from "./support/webCrypto.js"
import { start } from "./testing/support.js"

const secret = Redacted.make(`whsec_${randomBytes(32).toString("base64")}`)
const simulated = BatchApiSimulator.layerBatchApi({ requireInputFile: false })
const withWebhooks = SimulatorWebhooks.layerToApp(Webhooks.httpApp(), { secret }).pipe(
  Layer.provideMerge(Layer.mergeAll(Webhooks.layer({ secret }), BatchEvents.layer)),
  Layer.provideMerge(simulated)
)
const params = { input_file_id: "file-any", endpoint: "/v1/embeddings", completion_window: "24h" } as const
// A slow safety net: without an event, the end is seen up to an hour late.
const hourly = BatchSchedule.every("1 hour")
const end = start + 6 * 60 * 1000

/** Starts a wait on a new batch (the default lifecycle ends it 6 minutes later) and lets 10 minutes pass. */
const waitTenMinutes = Effect.gen(function*() {
  yield* TestClock.setTime(start)
  const simulator = yield* BatchApiSimulator.BatchApiSimulator
  const batch = yield* BatchApi.createBatch(params)
  const fiber = yield* Effect.forkChild(BatchWait.awaitBatch(batch.id, { schedule: hourly }))
  yield* TestClock.adjust("10 minutes")
  const polls = Effect.map(
    simulator.requests,
    (log) => log.filter((r) => r.method === "GET").map((r) => r.at - start)
  )
  return { fiber, polls }
})

describe("waits woken by webhooks", () => {
  it.effect("awaitBatch polls when the batch's event arrives, not at its next scheduled poll", () =>
    Effect.gen(function*() {
      const { fiber, polls } = yield* waitTenMinutes
      // no more virtual time passes: the wait ends on the event alone (without it, it would wait for ever here)
      const batch = yield* Fiber.join(fiber)
      assert.strictEqual(batch.status, "completed")
      // the first poll at once, the second when batch.completed came: when the batch ended (6 minutes), not an hour
      // later; the clock waited for the delivery's signature and its check (Web Crypto, through the WebCrypto
      // reference), however late they answered
      assert.deepStrictEqual(yield* polls, [0, end - start])
    }).pipe(Effect.provide(withWebhooks), fast, lateWebCrypto(50)))

  it.effect("without a feed the same wait waits for its schedule", () =>
    Effect.gen(function*() {
      const { fiber, polls } = yield* waitTenMinutes
      assert.isUndefined(fiber.pollUnsafe())
      assert.deepStrictEqual(yield* polls, [0])
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* Fiber.join(fiber)).status, "completed")
    }).pipe(Effect.provide(simulated), fast))

  it.effect("a lost delivery: the schedule is the safety net", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const webhooks = yield* SimulatorWebhooks.SimulatorWebhooks
      // every attempt fails for the next day: the event never arrives in time
      yield* webhooks.failNext(1000)
      const batch = yield* BatchApi.createBatch(params)
      const fiber = yield* Effect.forkChild(BatchWait.awaitBatch(batch.id, { schedule: hourly }))
      yield* TestClock.adjust("61 minutes")
      assert.strictEqual((yield* Fiber.join(fiber)).status, "completed")
    }).pipe(Effect.provide(withWebhooks), fast))

  it.effect("Job.runBatch wakes on the event too", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const requests = Array.from(
        { length: 5 },
        (_, i) => BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input: `text ${i}` })
      )
      const fiber = yield* Effect.forkChild(Job.runBatch(requests, { endpoint: "/v1/embeddings", schedule: hourly }))
      // the upload, the create, then the batch's 6 minutes: the job ends on the event, within its first hour
      yield* TestClock.adjust("10 minutes")
      assert.isDefined(fiber.pollUnsafe(), "the job ended on the event, not at its next hourly poll")
      const run = yield* Fiber.join(fiber)
      assert.strictEqual(run.batch.status, "completed")
      assert.deepStrictEqual(run.matched.map((m) => m.result.custom_id), requests.map((r) => r.custom_id))
      const polls = (yield* simulator.requests).filter((r) => r.method === "GET" && r.path.startsWith("/v1/batches/"))
      assert.isAtMost(polls.length, 3, "a poll at once and one on the event (and one for the results, at most)")
    }).pipe(
      Effect.provide(
        SimulatorWebhooks.layerToApp(Webhooks.httpApp(), { secret }).pipe(
          Layer.provideMerge(Layer.mergeAll(Webhooks.layer({ secret }), BatchEvents.layer)),
          Layer.provideMerge(BatchApiSimulator.layerBatchApi())
        )
      ),
      fast
    ))
})
