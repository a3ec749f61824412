import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Redacted, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { randomBytes } from "node:crypto"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchEvents from "../../src/BatchEvents.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as SimulatorWebhooks from "../../src/testing/SimulatorWebhooks.js"
import * as Webhooks from "../../src/Webhooks.js"
import { start } from "./support.js"

const secret = Redacted.make(`whsec_${randomBytes(32).toString("base64")}`)
const params = { input_file_id: "file-any", endpoint: "/v1/embeddings", completion_window: "24h" } as const

/** The simulator delivering into `Webhooks.httpApp` in the process, with the endpoint's own secret. */
const stack = (
  options: {
    readonly endpointSecret?: Redacted.Redacted<string>
    readonly retry?: Schedule.Schedule<unknown, unknown>
    readonly onEvent?: (event: BatchEvents.WebhookEvent) => Effect.Effect<void, string>
  } = {}
) =>
  SimulatorWebhooks.layerToApp(Webhooks.httpApp({ onEvent: options.onEvent }), {
    secret,
    ...(options.retry === undefined ? {} : { retry: options.retry })
  }).pipe(
    Layer.provideMerge(Layer.mergeAll(Webhooks.layer({ secret: options.endpointSecret ?? secret }), BatchEvents.layer)),
    Layer.provideMerge(BatchApiSimulator.layerBatchApi({ requireInputFile: false }))
  )

const deliveries = Effect.flatMap(SimulatorWebhooks.SimulatorWebhooks, (webhooks) => webhooks.deliveries)

/**
 * Lets `minutes` pass a minute at a time, each time waiting for the attempts in flight: the endpoint's answer
 * takes real time (Web Crypto), which TestClock does not wait for, and a retry is scheduled only once it came.
 */
const minuteByMinute = (minutes: number) =>
  Effect.forEach(Array.from({ length: minutes }), () => Effect.andThen(TestClock.adjust("1 minute"), deliveries), {
    discard: true
  })

describe("SimulatorWebhooks", () => {
  it.effect("a batch's end is delivered, signed, at the virtual instant it ends, and reaches BatchEvents", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const batch = yield* BatchApi.createBatch(params)
      const event = yield* Effect.forkChild(BatchEvents.awaitEvent(batch.id))
      yield* TestClock.adjust("1 hour")
      const received = yield* Fiber.join(event)
      const done = yield* BatchApi.retrieveBatch(batch.id)
      assert.strictEqual(received.type, "batch.completed")
      assert.strictEqual(received.created_at, done.completed_at)
      assert.strictEqual(received.data.id, batch.id)
      const [delivery, ...more] = yield* deliveries
      assert.deepStrictEqual(more, [])
      assert.strictEqual(delivery?.outcome, "Delivered")
      assert.strictEqual(delivery?.status, 200)
      // the default lifecycle ends 6 minutes after creation: delivered then, not when the test looks
      assert.strictEqual(delivery?.at, start + 6 * 60 * 1000)
    }).pipe(Effect.provide(stack())))

  it.effect("every way a batch ends has its event type", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.scriptNext({ outcome: "failed" })
      yield* simulator.scriptNext({ outcome: "expired" })
      const failed = yield* BatchApi.createBatch(params)
      const expired = yield* BatchApi.createBatch(params)
      const completed = yield* BatchApi.createBatch(params)
      const cancelled = yield* BatchApi.createBatch(params)
      yield* BatchApi.cancelBatch(cancelled.id)
      yield* TestClock.adjust("25 hours")
      const events = yield* Effect.flatMap(SimulatorWebhooks.SimulatorWebhooks, (webhooks) => webhooks.events)
      const typeOf = (id: string) => events.find((event) => event.batchId === id)?.type
      assert.deepStrictEqual(
        [failed, expired, completed, cancelled].map((batch) => typeOf(batch.id)),
        ["batch.failed", "batch.expired", "batch.completed", "batch.cancelled"]
      )
      // in the order the batches ended: failed after validation, cancelled after 2 minutes, completed, expired
      assert.deepStrictEqual(events.map((event) => event.type), [
        "batch.failed",
        "batch.cancelled",
        "batch.completed",
        "batch.expired"
      ])
      // Each delivery runs the endpoint in a fiber of its own: wait for them to land (on Node 24 the last one can
      // still be in flight when the clock's adjust returns), not for a fixed number of turns.
      const feed = yield* BatchEvents.BatchEvents
      const landed = Effect.map(
        Effect.forEach(events, (event) => feed.has(event.id)),
        (all) => all.every(Boolean)
      )
      // (`deliveries` waits for the attempts in flight: Effect 4's TestClock.adjust does not let real time pass.)
      for (let i = 0; i < 100 && !(yield* landed); i++) yield* Effect.andThen(TestClock.adjust("1 second"), deliveries)
      for (const event of events) assert.isTrue(yield* feed.has(event.id))
    }).pipe(Effect.provide(stack())))

  it.effect("failNext: the next attempts fail before they leave; the event comes again on the backoff, same webhook-id", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const webhooks = yield* SimulatorWebhooks.SimulatorWebhooks
      yield* webhooks.failNext(2)
      const batch = yield* BatchApi.createBatch(params)
      yield* TestClock.adjust("1 hour")
      const log = yield* webhooks.deliveries
      const end = start + 6 * 60 * 1000
      assert.deepStrictEqual(
        log.map((d) => [d.attempt, d.outcome, d.at - end]),
        [[1, "Injected", 0], [2, "Injected", 5_000], [3, "Delivered", 15_000]]
      )
      assert.strictEqual(new Set(log.map((d) => d.webhookId)).size, 1)
      const latest = yield* Effect.flatMap(BatchEvents.BatchEvents, (events) => events.latest(batch.id))
      assert.isTrue(Option.isSome(latest))
    }).pipe(Effect.provide(stack())))

  it.effect("an endpoint that answers 500 gets the event again; one with another secret answers 400, retried until the schedule ends", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      let failures = 1
      const flaky = stack({
        onEvent: () => Effect.suspend(() => failures-- > 0 ? Effect.fail("busy") : Effect.void)
      })
      const statuses = yield* Effect.gen(function*() {
        yield* BatchApi.createBatch(params)
        yield* minuteByMinute(10)
        return (yield* deliveries).map((d) => [d.outcome, d.status])
      }).pipe(Effect.provide(flaky))
      assert.deepStrictEqual(statuses, [["Refused", 500], ["Delivered", 200]])

      const wrongSecret = stack({
        endpointSecret: Redacted.make(`whsec_${randomBytes(32).toString("base64")}`),
        retry: Schedule.max([Schedule.spaced("1 minute"), Schedule.recurs(2)])
      })
      const refused = yield* Effect.gen(function*() {
        yield* BatchApi.createBatch(params)
        yield* minuteByMinute(20)
        return (yield* deliveries).map((d) => [d.outcome, d.status])
      }).pipe(Effect.provide(wrongSecret))
      assert.deepStrictEqual(refused, [["Refused", 400], ["Refused", 400], ["Refused", 400]])
    }))
})
