/**
 * FastTestClock (ported from the root's test/testing/FastTestClock.test.ts). Effect 4's `TestClock` has no `sleeps`
 * or `save`: the pending wakes are read from `make`'s `sleeps`, and the root's save/restore check has nothing to
 * check here.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, type Duration, Effect, Fiber, Ref, Scheduler } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"

const fast = Effect.provide(FastTestClock.layer)

/** A fast clock from `make`, installed by hand: its `sleeps` are in reach. */
const installed = (start: number) => {
  const made = FastTestClock.make(start)
  const install = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provideService(Clock.Clock, made.clock),
      Effect.provideService(Scheduler.Scheduler, made.scheduler)
    )
  return { install, sleeps: made.sleeps }
}

describe("FastTestClock", () => {
  it.effect("TestClock.adjust and setTime drive it: sleepers wake in order, each at its own instant", () => {
    const start = 1_000_000
    const { install, sleeps } = installed(start)
    return install(Effect.gen(function*() {
      const woke = yield* Ref.make<ReadonlyArray<readonly [string, number]>>([])
      const sleeper = (name: string, duration: Duration.Input) =>
        Effect.forkChild(Effect.andThen(
          Effect.sleep(duration),
          Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Ref.update(woke, (all): ReadonlyArray<readonly [string, number]> => [...all, [name, now]])
          )
        ))
      yield* sleeper("b", "2 hours")
      yield* sleeper("a", "1 hour")
      yield* sleeper("c", "3 hours")
      yield* Effect.yieldNow
      assert.deepStrictEqual(yield* sleeps, [start + 3_600_000, start + 7_200_000, start + 10_800_000])
      yield* TestClock.adjust("150 minutes")
      assert.deepStrictEqual(yield* Ref.get(woke), [["a", start + 3_600_000], ["b", start + 7_200_000]])
      assert.strictEqual(yield* Clock.currentTimeMillis, start + 9_000_000)
      yield* TestClock.setTime(start + 20_000_000)
      assert.deepStrictEqual((yield* Ref.get(woke))[2], ["c", start + 10_800_000])
      assert.strictEqual(yield* Clock.currentTimeMillis, start + 20_000_000)
    }))
  })

  it.effect("the layer starts at the replaced clock's time; an interrupted sleep leaves no wake behind", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      yield* Effect.gen(function*() {
        assert.strictEqual(yield* Clock.currentTimeMillis, 1_000_000)
      }).pipe(fast)
      const { install, sleeps } = installed(0)
      yield* install(Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Effect.sleep("1 hour"))
        yield* Effect.yieldNow
        assert.strictEqual((yield* sleeps).length, 1)
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(yield* sleeps, [])
      }))
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
      const fiber = yield* Effect.forkChild(BatchWait.awaitCompleted(batch.id))
      yield* TestClock.adjust("12 hours")
      const done = yield* Fiber.join(fiber)
      assert.strictEqual(done.status, "completed")
      const polls = (yield* simulator.requests).filter((r) => r.method === "GET").length
      // about one a minute once the pace reached its 60 s cap
      assert.isAbove(polls, 640)
      assert.isBelow(polls, 760)
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ requireInputFile: false })), fast))
})
