/**
 * The attempt's timeout on the `HttpClient` path, on the fiber's `Clock` (the `Transport` exchanges of the lean
 * transports enforce it with a timer of their own: see transport/Transport.ts).
 *
 * The attempt runs in a fiber of its own: that is what lets the timeout stop it even when the caller is
 * uninterruptible (a finalizer that cancels a batch must not hang on a request that never answers), and what an
 * interruption of the caller interrupts. The timer is a second fiber sleeping on the `Clock`, started only when the
 * attempt is still running after one yield: an in-memory client (the simulator, a test's fake) answers without
 * suspending, and a sleep registered with `TestClock` would stay in its queue, to be woken later like any other
 * (a timer per request doubled the wakeups of every wait on the simulator).
 *
 * The Effect 4 edition: the same two fibers, through Effect 4's fiber API (`pollUnsafe`, `addObserver`,
 * `interruptUnsafe`, `Effect.callback`); the runtime's report of the attempt's failure is silenced with the
 * `References.UnhandledLogLevel` reference.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as References from "effect/References"

/** Effect's scheduler treats a longer sleep as never ending. */
const maxTimerMillis = 2 ** 31 - 1

/** The timeout in milliseconds, or `undefined` when it is none (infinite, or beyond what a timer can hold). @internal */
export const timerMillis = (duration: Duration.Duration): number | undefined => {
  const millis = Duration.toMillis(duration)
  return Number.isFinite(millis) && millis <= maxTimerMillis ? millis : undefined
}

/**
 * A fiber whose failure is observed by its parent: the runtime must not also log it as an unhandled fiber
 * failure ("Fiber terminated with an unhandled error", at DEBUG, once per failed attempt).
 */
const forkObserved = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.forkChild(Effect.provideService(self, References.UnhandledLogLevel, undefined))

/** @internal */
export const timeoutFail = <A, E, E1>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E1
): Effect.Effect<A, E | E1> => {
  if (timerMillis(duration) === undefined) return self
  return Effect.flatMap(forkObserved(Effect.interruptible(self)), (attempt) =>
    Effect.flatMap(Effect.yieldNow, () => {
      const ended = attempt.pollUnsafe()
      if (ended !== undefined) return ended
      return Effect.clockWith((clock) =>
        Effect.flatMap(forkObserved(clock.sleep(duration)), (timer) =>
          Effect.callback<A, E | E1>((resume) => {
            let done = false
            const settle = (effect: Effect.Effect<A, E | E1>) => {
              if (done) return
              done = true
              resume(effect)
            }
            // Settle before interrupting the other fiber: Effect 4 may end a suspended fiber, and run its
            // observers, within `interruptUnsafe`.
            attempt.addObserver((exit) => {
              settle(exit)
              timer.interruptUnsafe(attempt.id)
            })
            timer.addObserver((exit) => {
              if (Exit.isSuccess(exit)) {
                settle(Effect.fail(onTimeout()))
                attempt.interruptUnsafe(timer.id)
              }
            })
            // Interrupting the caller interrupts the attempt and its timer.
            return Effect.suspend(() => {
              done = true
              return Effect.andThen(Fiber.interrupt(timer), Fiber.interrupt(attempt))
            })
          }))
      )
    }))
}
