/**
 * A `TestClock` that moves as fast as the work it wakes: for simulator tests that let hours or days of batch time
 * pass. Effect's `TestClock` waits for the program to settle before each sleeper it wakes by giving the event loop
 * three `setTimeout(0)` turns (at least 3 ms, a timer's floor): a day of a wait polling every minute is 1,440
 * wakes, 5 s of mostly idle waiting. This clock tells that the program has settled from the scheduler itself (no
 * fiber has work queued), then lets one macrotask turn pass (`setImmediate`, or a `MessageChannel` message: no timer floor) for work resolved
 * by a promise. The same day takes under a second (bench/simulatorDay.ts, bench/RESULTS.md).
 *
 * It is the `TestClock` of the code under it: `TestClock.adjust`, `setTime`, `sleeps` and `save` drive it, so
 * tests do not change. Provide it outermost (after the layers it must drive: a layer built outside it sleeps on
 * the other clock):
 *
 * ```ts
 * program.pipe(Effect.provide(BatchApiSimulator.layerBatchApi()), Effect.provide(FastTestClock.layer))
 * ```
 *
 * The trade: work that waits on real I/O longer than one event-loop turn (a socket, a file, Web Crypto under
 * load) may see virtual time move on meanwhile, where `TestClock`'s 3 ms often (not always) hide it. Keep
 * `TestClock` for tests that do real I/O; use this one for the in-memory simulator.
 *
 * @since 0.3.0
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scheduler from "effect/Scheduler"
import type * as TestClock from "effect/TestClock"

interface Sleeper {
  readonly at: number
  readonly deferred: Deferred.Deferred<void>
}

/**
 * One macrotask turn, without a timer's 1 ms floor: `setImmediate` where there is one (Node, Bun: the cheapest),
 * else a `MessageChannel` message (browsers, Deno).
 */
const turn: Effect.Effect<void> = typeof globalThis.setImmediate === "function"
  ? Effect.async<void>((resume) => {
    const handle = globalThis.setImmediate(() => resume(Effect.void))
    return Effect.sync(() => globalThis.clearImmediate(handle))
  })
  : Effect.suspend(() => {
    const channel = new MessageChannel()
    const close = () => {
      channel.port1.close()
      channel.port2.close()
    }
    return Effect.async<void>((resume) => {
      channel.port1.onmessage = () => {
        close()
        resume(Effect.void)
      }
      channel.port2.postMessage(null)
      return Effect.sync(close)
    })
  })

/**
 * A clock at `start` (milliseconds) and the scheduler whose queue tells it when the program has settled: install
 * both (`layer` does).
 *
 * @since 0.3.0
 * @category Constructors
 */
export const make = (start = 0): { readonly clock: TestClock.TestClock; readonly scheduler: Scheduler.Scheduler } => {
  let instant = start
  // Sorted by wake time, then by arrival.
  let sleepers: Array<Sleeper> = []
  // Tasks handed to the scheduler so far: no new task during a yield of ours means no fiber has work queued.
  let tasks = 0
  const scheduler: Scheduler.Scheduler = {
    shouldYield: (fiber) => Scheduler.defaultScheduler.shouldYield(fiber),
    scheduleTask: (task, priority, fiber) => {
      tasks++
      Scheduler.defaultScheduler.scheduleTask(task, priority, fiber)
    }
  }

  /** Returns once no fiber has work queued, across a yield and then across a macrotask turn. */
  const settle = Effect.gen(function*() {
    for (;;) {
      const before = tasks
      yield* Effect.yieldNow()
      // Our own resumption is the one task a quiet program schedules.
      if (tasks - before > 1) continue
      const beforeTurn = tasks
      yield* turn
      if (tasks - beforeTurn <= 1) return
    }
  })

  const run = (end: number): Effect.Effect<void> =>
    Effect.gen(function*() {
      for (;;) {
        yield* settle
        const next = sleepers[0]
        if (next === undefined || next.at > end) break
        sleepers = sleepers.slice(1)
        instant = Math.max(instant, next.at)
        yield* Deferred.succeed(next.deferred, undefined)
      }
      instant = Math.max(instant, end)
    })

  const sleep = (duration: Duration.DurationInput): Effect.Effect<void> =>
    Effect.suspend(() => {
      const at = instant + Duration.toMillis(Duration.decode(duration))
      if (!(at > instant)) return Effect.void
      return Effect.flatMap(Deferred.make<void>(), (deferred) => {
        const sleeper: Sleeper = { at, deferred }
        let index = sleepers.length
        while (index > 0 && sleepers[index - 1]!.at > at) index--
        sleepers.splice(index, 0, sleeper)
        // An interrupted sleep leaves no wake behind.
        return Effect.onInterrupt(Deferred.await(deferred), () =>
          Effect.sync(() => {
            sleepers = sleepers.filter((s) => s !== sleeper)
          }))
      })
    })

  const nanos = () => BigInt(Math.floor(instant * 1_000_000))
  const clock: TestClock.TestClock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => instant,
    unsafeCurrentTimeNanos: nanos,
    currentTimeMillis: Effect.sync(() => instant),
    currentTimeNanos: Effect.sync(nanos),
    sleep,
    adjust: (duration) => Effect.suspend(() => run(instant + Duration.toMillis(Duration.decode(duration)))),
    adjustWith: (duration) => (effect) =>
      Effect.zipLeft(
        effect,
        Effect.suspend(() => run(instant + Duration.toMillis(Duration.decode(duration)))),
        { concurrent: true }
      ),
    save: Effect.sync(() => {
      const saved = instant
      return Effect.sync(() => {
        instant = saved
      })
    }),
    setTime: (time) => run(time),
    sleeps: Effect.sync(() => Chunk.unsafeFromArray(sleepers.map((sleeper) => sleeper.at)))
  }
  return { clock, scheduler }
}

/**
 * Installs a fast test clock (starting at the time of the clock it replaces: `TestClock`'s, in `it.effect`) and its
 * scheduler for everything built and run under it.
 *
 * @example
 * ```ts
 * import { Effect, Fiber, TestClock, TestContext } from "effect"
 * import { BatchApi, BatchWait } from "effect-openai-batch"
 * import { BatchApiSimulator, FastTestClock } from "effect-openai-batch/testing"
 *
 * const program = Effect.gen(function*() {
 *   const simulator = yield* BatchApiSimulator.BatchApiSimulator
 *   yield* simulator.setDefaultScript({ inProgress: "23 hours" })
 *   const batch = yield* BatchApi.createBatch({
 *     input_file_id: "file-any",
 *     endpoint: "/v1/chat/completions",
 *     completion_window: "24h"
 *   })
 *   const fiber = yield* Effect.fork(BatchWait.awaitCompleted(batch.id)) // polls about every minute
 *   yield* TestClock.adjust("24 hours") // some 1,400 polls
 *   return (yield* Fiber.join(fiber)).status
 * })
 *
 * program.pipe(
 *   Effect.provide(BatchApiSimulator.layerBatchApi({ requireInputFile: false })),
 *   Effect.provide(FastTestClock.layer), // outermost: the simulator's layers run on it
 *   Effect.provide(TestContext.TestContext),
 *   Effect.runPromise
 * ).then((status) => assert.strictEqual(status, "completed"))
 * ```
 *
 * @since 0.3.0
 * @category Layers
 */
export const layer: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.map(Clock.currentTimeMillis, (now) => {
    const { clock, scheduler } = make(now)
    return Layer.merge(Layer.setClock(clock), Layer.setScheduler(scheduler))
  })
)
