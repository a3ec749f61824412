import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, type Duration, Effect, Fiber, Ref, TestClock } from "effect"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"

const fast = Effect.provide(FastTestClock.layer)

describe("FastTestClock", () => {
  it.effect("TestClock.adjust drives it: sleepers wake in order, each at its own instant", () =>
    Effect.gen(function*() {
      const woke = yield* Ref.make<ReadonlyArray<readonly [string, number]>>([])
      const sleeper = (name: string, duration: Duration.DurationInput) =>
        Effect.fork(Effect.zipRight(
          Effect.sleep(duration),
          Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Ref.update(woke, (all): ReadonlyArray<readonly [string, number]> => [...all, [name, now]])
          )
        ))
      const start = yield* Clock.currentTimeMillis
      yield* sleeper("b", "2 hours")
      yield* sleeper("a", "1 hour")
      yield* sleeper("c", "3 hours")
      yield* Effect.yieldNow()
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* TestClock.sleeps()), [
        start + 3_600_000,
        start + 7_200_000,
        start + 10_800_000
      ])
      yield* TestClock.adjust("150 minutes")
      assert.deepStrictEqual(yield* Ref.get(woke), [["a", start + 3_600_000], ["b", start + 7_200_000]])
      assert.strictEqual(yield* Clock.currentTimeMillis, start + 9_000_000)
      yield* TestClock.setTime(start + 20_000_000)
      assert.strictEqual((yield* Ref.get(woke)).length, 3)
      const restore = yield* TestClock.save()
      yield* TestClock.adjust("1 day")
      yield* restore
      assert.strictEqual(yield* Clock.currentTimeMillis, start + 20_000_000)
    }).pipe(fast))

  it.effect("starts at the replaced clock's time; an interrupted sleep leaves no wake behind", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      yield* Effect.gen(function*() {
        assert.strictEqual(yield* Clock.currentTimeMillis, 1_000_000)
        const fiber = yield* Effect.fork(Effect.sleep("1 hour"))
        yield* Effect.yieldNow()
        assert.strictEqual(Chunk.size(yield* TestClock.sleeps()), 1)
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(Chunk.size(yield* TestClock.sleeps()), 0)
      }).pipe(fast)
    }))

  it.effect("half a simulated day of polling on the simulator: every poll made, the batch seen completed", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.setDefaultScript({ inProgress: "11 hours" })
      const batch = yield* BatchApi.createBatch({
        input_file_id: "file-any",
        endpoint: "/v1/chat/completions",
        completion_window: "24h"
      })
      const fiber = yield* Effect.fork(BatchWait.awaitCompleted(batch.id))
      yield* TestClock.adjust("12 hours")
      const done = yield* Fiber.join(fiber)
      assert.strictEqual(done.status, "completed")
      const polls = (yield* simulator.requests).filter((r) => r.method === "GET").length
      // about one a minute once the pace reached its 60 s cap: as many as under TestClock
      assert.isAbove(polls, 640)
      assert.isBelow(polls, 760)
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ requireInputFile: false })), fast))
})
