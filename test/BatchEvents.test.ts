import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Option, Stream, TestClock } from "effect"
import * as BatchEvents from "../src/BatchEvents.js"

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
