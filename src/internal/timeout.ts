/**
 * A per-attempt timeout that costs little on the live clock.
 *
 * `Effect.timeoutFail` races the effect against a sleeping fiber: two forked fibers and a Clock sleep per call,
 * about 100 µs of CPU per request in the retrieve benchmark. On the default (live) clock this forks only the work
 * and arms one `setTimeout`: about 20 µs. Under any other clock (TestClock, an accelerated clock) virtual time
 * drives the timeout (`Effect.timeoutFail`), but only for an attempt still running after one yield: under
 * TestClock a sleep, once registered, stays in the clock's queue after the attempt ends and is woken later like any
 * other, so a timer per request doubled the wakeups of every wait on an in-memory transport (the simulator, a
 * test's fake), whose attempts end without suspending. A 7-hour wait on the simulator: 3.1 s before, 1.6 s after.
 *
 * The attempt always runs interruptibly, so a timeout fires even when the caller is uninterruptible (a finalizer
 * that cancels a batch, say): a request that never answers must not hang it.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

/** The clock of Effect's default services: the one every runtime has unless a test or a user replaces it. */
const liveClock = Effect.runSync(Effect.clock)

/** `setTimeout` clamps longer delays to 1 ms; Effect's scheduler treats them as never. */
const maxTimerMillis = 2 ** 31 - 1

/** Whether `clock` is the live one (a transport may then time an attempt with its own timer). @internal */
export const isLive = (clock: Clock.Clock): boolean => clock === liveClock

/** The timeout in milliseconds for a timer, or `undefined` when it is no timeout (infinite, or beyond a timer). @internal */
export const timerMillis = (duration: Duration.Duration): number | undefined => {
  const millis = Duration.toMillis(duration)
  return Number.isFinite(millis) && millis <= maxTimerMillis ? millis : undefined
}

/** @internal */
export const timeoutFail = <A, E, E1>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E1
): Effect.Effect<A, E | E1> => {
  const millis = Duration.toMillis(duration)
  // An infinite timeout, or one beyond what a timer can hold, is no timeout.
  if (!Number.isFinite(millis) || millis > maxTimerMillis) return self
  const attempt = Effect.interruptible(self)
  return Effect.clockWith((clock) => {
    // The attempt's failure is observed below: the runtime must not also log it as an unhandled fiber failure.
    const forked = Effect.withUnhandledErrorLogLevel(Effect.fork(attempt), Option.none())
    if (clock !== liveClock) {
      return Effect.flatMap(forked, (fiber) =>
        Effect.flatMap(Effect.yieldNow(), () => {
          const ended = fiber.unsafePoll()
          if (ended !== null) return ended
          return Effect.timeoutFail(Effect.interruptible(Fiber.join(fiber)), { duration, onTimeout }).pipe(
            Effect.ensuring(Fiber.interrupt(fiber))
          )
        }))
    }
    return Effect.flatMap(forked, (fiber) =>
      Effect.async<A, E | E1>((resume) => {
        const timer = setTimeout(
          () => resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(onTimeout()))),
          millis
        )
        fiber.addObserver((exit) => {
          clearTimeout(timer)
          resume(exit)
        })
        // Interrupting the caller interrupts the attempt too.
        return Effect.suspend(() => {
          clearTimeout(timer)
          return Fiber.interrupt(fiber)
        })
      }))
  })
}
