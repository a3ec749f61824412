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
 * `crypto.subtle.digest` is waited for: while `layer` is in use, the global `crypto.subtle.digest` is wrapped (the
 * original called, its promise watched; put back when the last such layer closes), because `@effect/workflow`
 * hashes every execution id and activity name with it before a workflow arms a durable sleep: one
 * `TestClock.adjust("24 hours")` ends a workflow's `DurableClock.sleep` or a `DurableJob.run` on `layerMemory`.
 *
 * The trade: other work that waits on real I/O longer than one event-loop turn (a socket, a file, other Web Crypto
 * calls under load) may see virtual time move on meanwhile, where `TestClock`'s 3 ms often (not always) hide it.
 * Keep `TestClock` for tests that do real I/O; use this one for the in-memory simulator.
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
import type * as Scope from "effect/Scope"
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

/** `crypto.subtle.digest` calls in flight while a `layer` is in use (see `trackDigests`). */
const digests = new Set<Promise<void>>()
const digestsInFlight = Effect.promise(() => Promise.all(digests))
let tracking = 0
let untrack: (() => void) | undefined

/**
 * While in scope, `crypto.subtle.digest` is counted in `digests` until it settles. `@effect/workflow` hashes every
 * execution id and activity name with it, straight from `globalThis.crypto` (no service to replace), and the digest
 * resolves off the main thread, often after more than one macrotask turn: a clock that took the quiet turn for the
 * end of the work moved on without the durable sleep the workflow was about to arm. The wrapper calls the original
 * and only watches its promise; the last scope to close puts the original back.
 */
const trackDigests: Effect.Effect<void, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => {
    const subtle = globalThis.crypto?.subtle
    if (++tracking > 1 || subtle === undefined) return
    const own = Object.getOwnPropertyDescriptor(subtle, "digest")
    untrack = () => {
      if (own === undefined) Reflect.deleteProperty(subtle, "digest")
      else Object.defineProperty(subtle, "digest", own)
    }
    const digest = subtle.digest
    subtle.digest = (algorithm, data) => {
      const result = digest.call(subtle, algorithm, data)
      const settled: Promise<void> = result.then(() => void digests.delete(settled), () => void digests.delete(settled))
      digests.add(settled)
      return result
    }
  }),
  () =>
    Effect.sync(() => {
      if (--tracking > 0) return
      untrack?.()
      untrack = undefined
    })
)

/**
 * A clock at `start` (milliseconds) and the scheduler whose queue tells it when the program has settled: install
 * both (`layer` does; it also waits for `crypto.subtle.digest` calls in flight, for `@effect/workflow`'s hashes).
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

  /**
   * Returns once no fiber has work queued, across a yield and then across a macrotask turn, and no digest is in
   * flight (none is counted outside a `layer`).
   */
  const settle = Effect.gen(function*() {
    for (;;) {
      const before = tasks
      yield* Effect.yieldNow()
      // Our own resumption is the one task a quiet program schedules.
      if (tasks - before > 1) continue
      if (digests.size > 0) {
        yield* digestsInFlight
        continue
      }
      const beforeTurn = tasks
      yield* turn
      if (tasks - beforeTurn <= 1 && digests.size === 0) return
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
export const layer: Layer.Layer<never> = Layer.unwrapScoped(
  Effect.map(Effect.zipRight(trackDigests, Clock.currentTimeMillis), (now) => {
    const { clock, scheduler } = make(now)
    return Layer.merge(Layer.setClock(clock), Layer.setScheduler(scheduler))
  })
)
