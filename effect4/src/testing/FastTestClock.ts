/**
 * A `TestClock` that moves as fast as the work it wakes, and waits for that work to settle: for simulator tests
 * that let hours or days of batch time pass. Effect 4's `TestClock` lets pending fibers run one round before it
 * moves the clock, so a wait whose next sleep is armed after a promise resolves (a response body read, Web Crypto)
 * is left behind: its `adjust("12 hours")` sees one poll of a batch's half day. This clock tells that the program
 * has settled from the scheduler itself (no fiber has work queued), then lets one macrotask turn pass
 * (`setImmediate`, or a `MessageChannel` message: no timer floor) for work resolved by a promise, before each
 * sleeper it wakes and before it returns. Half a day of polling every minute takes well under a second.
 *
 * It is the `TestClock` of the code under it: `TestClock.adjust` and `setTime` drive it, so tests do not change.
 * Provide it outermost (after the layers it must drive: a layer built outside it sleeps on the other clock):
 *
 * ```ts
 * program.pipe(Effect.provide(BatchApiSimulator.layerBatchApi()), Effect.provide(FastTestClock.layer))
 * ```
 *
 * Web Crypto is waited for: the layer also installs effect's `WebCrypto` reference, a `crypto` whose `subtle` calls
 * the clock counts until they settle, so a durable workflow (`effect/workflow` hashes every execution id and
 * activity name with `crypto.subtle.digest`, off the main thread) arms its next durable sleep before the clock moves
 * on, and one `TestClock.adjust("24 hours")` ends a `DurableJob.run` on `layerMemory`.
 *
 * The trade: other work that waits on real I/O longer than one event-loop turn (a socket, a file, `crypto.subtle`
 * called directly rather than through the `WebCrypto` reference) may see virtual time move on meanwhile. Keep
 * `TestClock` for tests that do real I/O; use this one for the in-memory simulator.
 *
 * The Effect 4 edition: the clock is the `Clock.Clock` reference and the scheduler the `Scheduler.Scheduler`
 * reference (Effect 3's `Layer.setClock`, `Layer.setScheduler`); Effect 4's `TestClock` has no `sleeps` or `save`,
 * so `make` answers the pending wake times beside the clock (`sleeps`).
 *
 * @since 4.0.0
 */
import * as Clock from "effect/Clock"
import * as WebCrypto from "effect/crypto/WebCrypto"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scheduler from "effect/Scheduler"
import type * as TestClock from "effect/testing/TestClock"
import * as SimulatorClock from "./internal/clock.js"

interface Sleeper {
  readonly at: number
  readonly deferred: Deferred.Deferred<void>
}

/**
 * One macrotask turn, without a timer's 1 ms floor: `setImmediate` where there is one (Node, Bun: the cheapest),
 * else a `MessageChannel` message (browsers, Deno).
 */
const turn: Effect.Effect<void> = typeof globalThis.setImmediate === "function"
  ? Effect.callback<void>((resume) => {
    const handle = globalThis.setImmediate(() => resume(Effect.void))
    return Effect.sync(() => globalThis.clearImmediate(handle))
  })
  : Effect.suspend(() => {
    const channel = new MessageChannel()
    const close = () => {
      channel.port1.close()
      channel.port2.close()
    }
    return Effect.callback<void>((resume) => {
      channel.port1.onmessage = () => {
        close()
        resume(Effect.void)
      }
      channel.port2.postMessage(null)
      return Effect.sync(close)
    })
  })

type Crypto = typeof globalThis.crypto

/**
 * `crypto` whose `subtle` operations are kept in `pending` until they settle. `effect/workflow` hashes every
 * execution id and activity name with `crypto.subtle.digest` (through the `WebCrypto` reference), which resolves
 * off the main thread, often after more than one macrotask turn: a clock that took the quiet turn for the end of the
 * work moved on without the sleep the workflow was about to arm.
 */
const tracked = (crypto: Crypto, pending: Set<Promise<void>>): Crypto => {
  if (crypto?.subtle === undefined) return crypto
  const subtle = new Proxy(crypto.subtle, {
    get: (target, key) => {
      const value: unknown = Reflect.get(target, key, target)
      if (typeof value !== "function") return value
      return (...args: Array<unknown>): unknown => {
        const result: unknown = Reflect.apply(value, target, args)
        if (result instanceof Promise) {
          const settled: Promise<void> = result.then(
            () => void pending.delete(settled),
            () => void pending.delete(settled)
          )
          pending.add(settled)
        }
        return result
      }
    }
  })
  return new Proxy(crypto, {
    get: (target, key) => {
      if (key === "subtle") return subtle
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === "function"
        ? (...args: Array<unknown>): unknown => Reflect.apply(value, target, args)
        : value
    }
  })
}

/** The real clock, for `withLive`. */
const live = SimulatorClock.accelerated(1)

/**
 * A clock at `start` (milliseconds), the scheduler whose queue tells it when the program has settled, `crypto` (the
 * given one, default `globalThis.crypto`) whose `subtle` calls it waits for (install the three, the last as
 * `WebCrypto.layer(crypto)`: `layer` does), and the instants of the sleeps still pending, soonest first.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make = (start = 0, crypto: Crypto = globalThis.crypto): {
  readonly clock: TestClock.TestClock
  readonly scheduler: Scheduler.Scheduler
  readonly crypto: Crypto
  readonly sleeps: Effect.Effect<ReadonlyArray<number>>
} => {
  let instant = start
  // Web Crypto calls in flight, through `crypto` below.
  const pending = new Set<Promise<void>>()
  const inFlight = Effect.promise(() => Promise.all(pending))
  // Sorted by wake time, then by arrival.
  let sleepers: Array<Sleeper> = []
  // Tasks handed to the scheduler so far: no new task during a yield of ours means no fiber has work queued.
  let tasks = 0
  const base = new Scheduler.MixedScheduler()
  const scheduler: Scheduler.Scheduler = {
    executionMode: base.executionMode,
    shouldYield: (fiber) => base.shouldYield(fiber),
    makeDispatcher: () => {
      const dispatcher = base.makeDispatcher()
      return {
        scheduleTask: (task, priority) => {
          tasks++
          dispatcher.scheduleTask(task, priority)
        },
        flush: () => dispatcher.flush()
      }
    }
  }

  /**
   * Returns once no fiber has work queued, across a yield and then across a macrotask turn, and no Web Crypto call
   * is in flight.
   */
  const settle = Effect.gen(function*() {
    for (;;) {
      const before = tasks
      yield* Effect.yieldNow
      // Our own resumption is the one task a quiet program schedules.
      if (tasks - before > 1) continue
      if (pending.size > 0) {
        yield* inFlight
        continue
      }
      const beforeTurn = tasks
      yield* turn
      if (tasks - beforeTurn <= 1 && pending.size === 0) return
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

  const sleep = (duration: Duration.Duration): Effect.Effect<void> =>
    Effect.suspend(() => {
      const at = instant + Duration.toMillis(duration)
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
    currentTimeMillisUnsafe: () => instant,
    currentTimeMillis: Effect.sync(() => instant),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: nanos,
    monotonicTimeNanos: Effect.sync(nanos),
    sleep,
    adjust: (duration) => Effect.suspend(() => run(instant + Duration.toMillis(Duration.fromInputUnsafe(duration)))),
    setTime: (time) => run(time),
    withLive: (effect) => SimulatorClock.withClock(effect, live)
  }
  return {
    clock,
    scheduler,
    crypto: tracked(crypto, pending),
    sleeps: Effect.sync(() => sleepers.map((sleeper) => sleeper.at))
  }
}

/**
 * Installs a fast test clock (starting at the time of the clock it replaces: `TestClock`'s, in `it.effect`), its
 * scheduler and its `WebCrypto` (the replaced one, with its `subtle` calls waited for) for everything built and run
 * under it.
 *
 * @example
 * ```ts
 * import { Effect, Fiber } from "effect"
 * import { TestClock } from "effect/testing"
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
 *   const fiber = yield* Effect.forkChild(BatchWait.awaitCompleted(batch.id)) // polls about every minute
 *   yield* TestClock.adjust("24 hours") // some 1,400 polls
 *   return (yield* Fiber.join(fiber)).status // "completed"
 * }).pipe(
 *   Effect.provide(BatchApiSimulator.layerBatchApi({ requireInputFile: false })),
 *   Effect.provide(FastTestClock.layer) // outermost: the simulator's layers run on it
 * )
 * ```
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer: Layer.Layer<never> = Layer.unwrap(
  Effect.gen(function*() {
    const { clock, crypto, scheduler } = make(yield* Clock.currentTimeMillis, yield* WebCrypto.WebCrypto)
    return Layer.mergeAll(
      Layer.succeed(Clock.Clock, clock),
      Layer.succeed(Scheduler.Scheduler, scheduler),
      WebCrypto.layer(crypto)
    )
  })
)
