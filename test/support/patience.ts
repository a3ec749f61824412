/**
 * Waiting in tests that run real processes, servers and sockets, on machines that may be loaded (2 cores, other
 * runs beside this one, CI): a wait gives up when nothing moved for a while, not after a fixed time. A quiet
 * machine waits as before; a loaded one waits longer for a sign of life (`slowdown`), and as long as the awaited
 * thing keeps moving.
 *
 * Every wait here still fails when what it awaits is stuck: only its patience follows the machine. Time is read
 * from the monotonic clock (`performance.now()`): a wall clock set forward meanwhile (a virtual machine's clock
 * catching up) is not a wait.
 */
import { Effect } from "effect"
import * as os from "node:os"

/**
 * How much slower than a quiet machine this one runs now: its 1-minute load average over two per core, at least 1.
 * Two per core is what `npm test` itself makes (two workers, their children, the type-check before them): up to
 * there nothing waits longer than on a quiet machine; at load 10 on 2 cores the waits are 2.5 times as long.
 */
export const slowdown = (): number => Math.max(1, (os.loadavg()[0] ?? 0) / (2 * os.availableParallelism()))

/** `millis` on a quiet machine, stretched by the current `slowdown`. */
export const scaled = (millis: number): number => Math.round(millis * slowdown())

/**
 * Runs `effect` while watching `progress` (a value that changes while the awaited thing gets on: lines a child
 * printed, requests a server answered). Fails with `what()` when it has not changed for `idleMillis` (scaled by the
 * machine's load, measured afresh on every look), however long the whole takes: the caller's test timeout is the
 * only cap on the total.
 */
export const whileProgressing = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: {
    readonly progress: () => unknown
    readonly idleMillis: number
    readonly what: (idleMillis: number) => string
  }
): Effect.Effect<A, E | Error, R> => {
  const watchdog = Effect.gen(function*() {
    let last = options.progress()
    let since = performance.now()
    let overdue = false
    for (;;) {
      yield* Effect.sleep("100 millis")
      const now = options.progress()
      if (now !== last) {
        last = now
        since = performance.now()
        overdue = false
        continue
      }
      const limit = scaled(options.idleMillis)
      if (performance.now() - since > limit) {
        // One more turn first: after a stall of this process, output waiting in its pipes is read after the timers.
        if (overdue) return yield* Effect.fail(new Error(options.what(limit)))
        overdue = true
      }
    }
  })
  return Effect.raceFirst(effect, watchdog)
}

/** Polls `condition` every few milliseconds (real time) until it holds, for at most `millis` (scaled). */
export const eventually = (condition: () => boolean, millis = 2_000): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const start = performance.now()
    while (!condition()) {
      if (performance.now() - start > scaled(millis)) return condition()
      yield* Effect.sleep("5 millis")
    }
    return true
  })
