import { HttpServerRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Option, Redacted, Stream, TestClock } from "effect"
import { createHmac, randomBytes } from "node:crypto"
import * as BatchEvents from "../src/BatchEvents.js"
import * as Webhooks from "../src/Webhooks.js"

const key = randomBytes(32)
const secret = Redacted.make(`whsec_${key.toString("base64")}`)
const now = 1_765_000_000

const deliver = (body: string, options: { readonly signature?: string; readonly id?: string } = {}) => {
  const id = options.id ?? "wh_1"
  const signature = options.signature ??
    `v1,${createHmac("sha256", key).update(`${id}.${now}.${body}`).digest("base64")}`
  return new Request("http://localhost/openai/webhooks", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(now),
      "webhook-signature": signature
    },
    body
  })
}

const completed = (eventId: string) =>
  JSON.stringify({ id: eventId, object: "event", created_at: now, type: "batch.completed", data: { id: "batch_9" } })

/** Runs the app on one request; the status and the body. */
const serve = <E, R>(app: ReturnType<typeof Webhooks.httpApp<E, R>>, request: Request) =>
  Effect.gen(function*() {
    const response = yield* app.pipe(
      Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(request))
    )
    const text = response.body._tag === "Uint8Array" ? new TextDecoder().decode(response.body.body) : ""
    return { status: response.status, text }
  })

const Handlers = Layer.mergeAll(Webhooks.layer({ secret }), BatchEvents.layer)

describe("Webhooks.httpApp", () => {
  it.effect("a genuine delivery: 200, the event published and handed to onEvent once, a repeat answered 200 only", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now * 1000)
      const handled: Array<string> = []
      const app = Webhooks.httpApp({ onEvent: (event) => Effect.sync(() => handled.push(event.id)) })
      const first = yield* serve(app, deliver(completed("evt_1")))
      assert.strictEqual(first.status, 200)
      const again = yield* serve(app, deliver(completed("evt_1"), { id: "wh_1" }))
      assert.strictEqual(again.status, 200)
      assert.deepStrictEqual(handled, ["evt_1"])
      const latest = yield* BatchEvents.BatchEvents.pipe(Effect.flatMap((events) => events.latest("batch_9")))
      assert.strictEqual(Option.getOrThrow(latest).id, "evt_1")
    }).pipe(Effect.provide(Handlers)))

  it.effect("400 with the error's tag for a forged, stale, incomplete or malformed delivery; nothing published", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now * 1000)
      const app = Webhooks.httpApp()
      const forged = yield* serve(app, deliver(completed("evt_2"), { signature: "v1,AAAA" }))
      assert.strictEqual(forged.status, 400)
      assert.strictEqual(JSON.parse(forged.text).error.type, "WebhookSignatureError")
      assert.notInclude(forged.text, key.toString("base64"))
      yield* TestClock.adjust("10 minutes")
      const stale = yield* serve(app, deliver(completed("evt_3")))
      assert.strictEqual(JSON.parse(stale.text).error.type, "WebhookTimestampError")
      yield* TestClock.setTime(now * 1000)
      const bare = yield* serve(app, new Request("http://localhost/", { method: "POST", body: completed("evt_4") }))
      assert.deepStrictEqual([bare.status, JSON.parse(bare.text).error.type], [400, "WebhookHeadersError"])
      const garbled = yield* serve(app, deliver("{oops"))
      assert.deepStrictEqual([garbled.status, JSON.parse(garbled.text).error.type], [400, "WebhookPayloadError"])
      const events = yield* BatchEvents.BatchEvents
      for (const id of ["evt_2", "evt_3", "evt_4"]) assert.isFalse(yield* events.has(id))
    }).pipe(Effect.provide(Handlers)))

  it.effect("a failing onEvent: 500 and nothing published, so that OpenAI's retry is handled", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now * 1000)
      let fail = true
      const app = Webhooks.httpApp({
        onEvent: () => Effect.suspend(() => fail ? Effect.fail("queue full" as const) : Effect.void)
      })
      const refused = yield* serve(app, deliver(completed("evt_5")))
      assert.strictEqual(refused.status, 500)
      const events = yield* BatchEvents.BatchEvents
      assert.isFalse(yield* events.has("evt_5"))
      fail = false
      assert.strictEqual((yield* serve(app, deliver(completed("evt_5")))).status, 200)
      assert.isTrue(yield* events.has("evt_5"))
    }).pipe(Effect.provide(Handlers)))
})

describe("BatchEvents, the feed the endpoint publishes into", () => {
  const completed = (id: string, batchId: string) =>
    new BatchEvents.BatchCompletedEvent({ id, created_at: 1, type: "batch.completed", data: { id: batchId } })
  const cancelled = (id: string, batchId: string) =>
    new BatchEvents.BatchCancelledEvent({ id, created_at: 2, type: "batch.cancelled", data: { id: batchId } })
  const other = (id: string) =>
    new BatchEvents.UnknownEvent({ id, created_at: 3, type: "response.completed", data: { id: "resp" } })

  describe("BatchEvents", () => {
    it.scoped("publish drops a repeated event id; latest keeps each batch's last event; subscribers see them all", () =>
      Effect.gen(function*() {
        const events = yield* BatchEvents.BatchEvents
        const subscription = yield* events.subscribe
        const seen = yield* Effect.fork(Stream.runCollect(subscription.pipe(Stream.take(3))))
        assert.isTrue(yield* events.publish(completed("evt_1", "batch_a")))
        assert.isFalse(yield* events.publish(completed("evt_1", "batch_a")))
        assert.isTrue(yield* events.publish(other("evt_2")))
        assert.isTrue(yield* events.publish(cancelled("evt_3", "batch_a")))
        const all = Chunk.toReadonlyArray(yield* Fiber.join(seen))
        assert.deepStrictEqual(all.map((e) => e.id), ["evt_1", "evt_2", "evt_3"])
        assert.isTrue(yield* events.has("evt_2"))
        assert.isFalse(yield* events.has("evt_9"))
        const latest = yield* events.latest("batch_a")
        assert.strictEqual(Option.getOrThrow(latest).type, "batch.cancelled")
        assert.isTrue(Option.isNone(yield* events.latest("batch_b")))
      }).pipe(Effect.provide(BatchEvents.layer)))

    it.effect("wakeups tick for the batch's events only, and at once for an event that came before", () =>
      Effect.gen(function*() {
        const events = yield* BatchEvents.BatchEvents
        const ticks = yield* Effect.fork(Stream.runCount(BatchEvents.wakeups("batch_a").pipe(Stream.take(2))))
        yield* Effect.yieldNow()
        yield* events.publish(completed("evt_1", "batch_b"))
        yield* events.publish(other("evt_2"))
        yield* Effect.yieldNow()
        assert.isNull(ticks.unsafePoll())
        yield* events.publish(completed("evt_3", "batch_a"))
        yield* events.publish(cancelled("evt_4", "batch_a"))
        assert.strictEqual(yield* Fiber.join(ticks), 2)
        // a late subscriber is told at once: the event it would have waited for already came
        assert.strictEqual(yield* Stream.runCount(events.wakeups("batch_b").pipe(Stream.take(1))), 1)
      }).pipe(Effect.provide(BatchEvents.layer)))

    it.effect("awaitEvent: the batch's event, waited for or already there", () =>
      Effect.gen(function*() {
        const events = yield* BatchEvents.BatchEvents
        const waiting = yield* Effect.fork(BatchEvents.awaitEvent("batch_a"))
        yield* Effect.yieldNow()
        yield* events.publish(completed("evt_1", "batch_b"))
        yield* Effect.yieldNow()
        assert.isNull(waiting.unsafePoll())
        yield* events.publish(cancelled("evt_2", "batch_a"))
        assert.strictEqual((yield* Fiber.join(waiting)).id, "evt_2")
        assert.strictEqual((yield* events.awaitEvent("batch_b")).id, "evt_1")
      }).pipe(Effect.provide(BatchEvents.layer)))

    it.effect("remembers the last 10,000 event ids and batches, no more", () =>
      Effect.gen(function*() {
        const events = yield* BatchEvents.BatchEvents
        for (let i = 0; i <= 10_000; i++) yield* events.publish(completed(`evt_${i}`, `batch_${i}`))
        assert.isFalse(yield* events.has("evt_0"))
        assert.isTrue(yield* events.has("evt_1"))
        assert.isTrue(Option.isNone(yield* events.latest("batch_0")))
        assert.isTrue(Option.isSome(yield* events.latest("batch_10000")))
      }).pipe(Effect.provide(BatchEvents.layer)))

    it.effect("wakeupsIfAny: the feed's wakeups when there is one, a stream that never ticks when there is none", () =>
      Effect.gen(function*() {
        const none = yield* Effect.fork(Stream.runCount(BatchEvents.wakeupsIfAny("batch_a").pipe(Stream.take(1))))
        yield* TestClock.adjust("1 day")
        assert.isNull(none.unsafePoll())
        yield* Fiber.interrupt(none)
        const withFeed = yield* Effect.gen(function*() {
          const events = yield* BatchEvents.BatchEvents
          yield* events.publish(completed("evt_1", "batch_a"))
          return yield* Stream.runCount(BatchEvents.wakeupsIfAny("batch_a").pipe(Stream.take(1)))
        }).pipe(Effect.provide(BatchEvents.layer))
        assert.strictEqual(withFeed, 1)
      }))
  })
})
