/**
 * The attempt's timeout on the `HttpClient` path, on the fiber's `Clock` (the `Transport` exchanges of the lean
 * transports enforce it with a timer of their own: see transport/Transport.ts).
 *
 * The attempt runs in a fiber of its own: that is what lets the timeout stop it even when the caller is
 * uninterruptible (a finalizer that cancels a batch must not hang on a request that never answers), and what an
 * interruption of the caller interrupts. The timer's fiber is interruptible too: forked from an uninterruptible
 * caller it would otherwise inherit that, and the caller, which waits for its children, would wait the whole
 * timeout after an attempt that answered (every job's closing checks run in such a region). The timer is a second fiber sleeping on the `Clock`, started only when the
 * attempt is still running after one yield: an in-memory client (the simulator, a test's fake) answers without
 * suspending, and a sleep registered with `TestClock` would stay in its queue, to be woken later like any other
 * (a timer per request doubled the wakeups of every wait on the simulator).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

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
  Effect.withUnhandledErrorLogLevel(Effect.fork(self), Option.none())

/** @internal */
export const timeoutFail = <A, E, E1>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E1
): Effect.Effect<A, E | E1> => {
  if (timerMillis(duration) === undefined) return self
  return Effect.flatMap(forkObserved(Effect.interruptible(self)), (attempt) =>
    Effect.flatMap(Effect.yieldNow(), () => {
      const ended = attempt.unsafePoll()
      if (ended !== null) return ended
      return Effect.clockWith((clock) =>
        Effect.flatMap(forkObserved(Effect.interruptible(clock.sleep(duration))), (timer) =>
          Effect.async<A, E | E1>((resume) => {
            let done = false
            const settle = (effect: Effect.Effect<A, E | E1>) => {
              if (done) {
                return
              }
              done = true
              resume(effect)
            }
            attempt.addObserver((exit) => {
              timer.unsafeInterruptAsFork(attempt.id())
              settle(exit)
            })
            timer.addObserver((exit) => {
              if (Exit.isSuccess(exit)) {
                attempt.unsafeInterruptAsFork(timer.id())
                settle(Effect.fail(onTimeout()))
              }
            })
            // Interrupting the caller interrupts the attempt and its timer.
            return Effect.suspend(() => {
              done = true
              return Effect.zipRight(Fiber.interrupt(timer), Fiber.interrupt(attempt))
            })
          }))
      )
    }))
}
