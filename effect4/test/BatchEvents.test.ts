/**
 * BatchEvents on Effect 4: the events' schema (the four batch events, any other type kept as `UnknownEvent`, a batch
 * event of the wrong shape refused), the feed (duplicates dropped, the latest event per batch, `awaitEvent`,
 * `wakeups`), and the waits it wakes: `awaitBatch` polls as soon as its batch's event arrives instead of at its next
 * scheduled poll, with the schedule as the safety net.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Result, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as BatchEvents from "../src/BatchEvents.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchWait from "../src/BatchWait.js"
import * as Fake from "./support/FakeHttp.js"

const decode = Schema.decodeUnknownResult(BatchEvents.WebhookEvent)
const event = (id: string, type: "batch.completed" | "batch.failed", batchId: string): BatchEvents.BatchEvent =>
  type === "batch.completed"
    ? new BatchEvents.BatchCompletedEvent({ id, created_at: 1, type, data: { id: batchId } })
    : new BatchEvents.BatchFailedEvent({ id, created_at: 1, type, data: { id: batchId } })

describe("BatchEvents: the events", () => {
  it("the four batch events decode to their classes; another type is kept as UnknownEvent", () => {
    for (const type of BatchEvents.batchEventTypes) {
      const decoded = decode({ id: "evt_1", object: "event", created_at: 1, type, data: { id: "batch_abc" } })
      if (Result.isFailure(decoded)) return assert.fail(`${type}: ${decoded.failure.message}`)
      assert.strictEqual(decoded.success.type, type)
      assert.isTrue(BatchEvents.isBatchEvent(decoded.success))
      assert.strictEqual(BatchEvents.isBatchEvent(decoded.success) ? decoded.success.data.id : "", "batch_abc")
    }
    const other = decode({ id: "evt_2", object: null, created_at: 1, type: "response.completed", data: { x: 1 } })
    if (Result.isFailure(other)) return assert.fail(other.failure.message)
    assert.instanceOf(other.success, BatchEvents.UnknownEvent)
    assert.isFalse(BatchEvents.isBatchEvent(other.success))
    assert.isUndefined(other.success.object)
  })

  it("a batch event of the wrong shape is refused, not kept as an UnknownEvent", () => {
    const wrong = decode({ id: "evt_3", created_at: 1, type: "batch.completed", data: { nope: true } })
    assert.isTrue(Result.isFailure(wrong))
  })
})

describe("BatchEvents: the feed", () => {
  it.effect("a repeated event id is dropped; the latest event per batch is kept; awaitEvent answers at once after it", () =>
    Effect.gen(function*() {
      const events = yield* BatchEvents.BatchEvents
      assert.isTrue(yield* events.publish(event("evt_1", "batch.failed", "batch_1")))
      assert.isFalse(yield* events.publish(event("evt_1", "batch.failed", "batch_1")))
      assert.isTrue(yield* events.has("evt_1"))
      assert.isFalse(yield* events.has("evt_9"))
      assert.isTrue(yield* events.publish(event("evt_2", "batch.completed", "batch_1")))
      const latest = yield* events.latest("batch_1")
      assert.isTrue(Option.isSome(latest) && latest.value.type === "batch.completed")
      assert.isTrue(Option.isNone(yield* events.latest("batch_2")))
      assert.strictEqual((yield* BatchEvents.awaitEvent("batch_1")).id, "evt_2")
    }).pipe(Effect.provide(BatchEvents.layer)))

  it.effect("awaitEvent and wakeups wait for the batch's event, and ignore other batches'", () =>
    Effect.gen(function*() {
      const events = yield* BatchEvents.BatchEvents
      const awaited = yield* Effect.forkChild(BatchEvents.awaitEvent("batch_1"))
      const woken = yield* Effect.forkChild(BatchEvents.wakeups("batch_1").pipe(Stream.take(1), Stream.runDrain))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow
      yield* events.publish(event("evt_1", "batch.completed", "batch_other"))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow
      assert.isUndefined(awaited.pollUnsafe())
      assert.isUndefined(woken.pollUnsafe())
      yield* events.publish(event("evt_2", "batch.completed", "batch_1"))
      assert.strictEqual((yield* Fiber.join(awaited)).id, "evt_2")
      yield* Fiber.join(woken)
    }).pipe(Effect.provide(BatchEvents.layer)))
})

describe("waits woken by BatchEvents", () => {
  const minute = 60_000
  // in progress for 6 minutes, then completed
  const responder: Fake.Responder = (request) =>
    Fake.json(
      200,
      Fake.batchJson({
        id: "batch_1",
        status: request.at >= 6 * minute ? "completed" : "in_progress",
        expires_at: 86_400
      })
    )
  const hourly = BatchSchedule.every("1 hour")
  const polls = Effect.map(Fake.requests, (log) => log.map((request) => request.at))

  /** Starts a wait, lets its first poll arm the hourly sleep, and lets 10 minutes pass. */
  const waitTenMinutes = Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(BatchWait.awaitBatch("batch_1", { schedule: hourly }))
    for (let i = 0; i < 10_000 && (yield* Fake.requests).length < 1; i++) yield* Effect.yieldNow
    for (let i = 0; i < 50; i++) yield* Effect.yieldNow
    yield* TestClock.adjust("10 minutes")
    return fiber
  })

  it.effect("awaitBatch polls when the batch's event arrives, not at its next scheduled poll", () =>
    Effect.gen(function*() {
      const fiber = yield* waitTenMinutes
      assert.deepStrictEqual(yield* polls, [0])
      yield* BatchEvents.BatchEvents.pipe(
        Effect.flatMap((events) => events.publish(event("evt_1", "batch.completed", "batch_1")))
      )
      // no more virtual time passes: the wait ends on the event alone
      const batch = yield* Fiber.join(fiber)
      assert.strictEqual(batch.status, "completed")
      assert.deepStrictEqual(yield* polls, [0, 10 * minute])
    }).pipe(Effect.provide([Fake.layer(responder), BatchEvents.layer])))

  it.effect("an event that arrived before the wait began wakes it right after its first poll", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(7 * minute)
      const events = yield* BatchEvents.BatchEvents
      yield* events.publish(event("evt_1", "batch.completed", "batch_1"))
      const batch = yield* BatchWait.awaitBatch("batch_1", { schedule: hourly })
      assert.strictEqual(batch.status, "completed")
    }).pipe(Effect.provide([Fake.layer(responder), BatchEvents.layer])))

  it.effect("another batch's event does not wake it; without an event the schedule is the safety net", () =>
    Effect.gen(function*() {
      const fiber = yield* waitTenMinutes
      yield* BatchEvents.BatchEvents.pipe(
        Effect.flatMap((events) => events.publish(event("evt_1", "batch.completed", "batch_other")))
      )
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow
      assert.isUndefined(fiber.pollUnsafe())
      assert.deepStrictEqual(yield* polls, [0])
      yield* TestClock.adjust("51 minutes")
      assert.strictEqual((yield* Fiber.join(fiber)).status, "completed")
      assert.deepStrictEqual(yield* polls, [0, 60 * minute])
    }).pipe(Effect.provide([Fake.layer(responder), BatchEvents.layer])))

  it.effect("without a feed the same wait waits for its schedule", () =>
    Effect.gen(function*() {
      const fiber = yield* waitTenMinutes
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("51 minutes")
      assert.strictEqual((yield* Fiber.join(fiber)).status, "completed")
      assert.deepStrictEqual(yield* polls, [0, 60 * minute])
    }).pipe(Effect.provide(Fake.layer(responder))))
})
