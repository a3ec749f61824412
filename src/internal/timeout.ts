/**
 * A per-attempt timeout that costs little on the live clock.
 *
 * `Effect.timeoutFail` races the effect against a sleeping fiber: two forked fibers and a Clock sleep per call,
 * about 120 µs of CPU per request in the retrieve benchmark (a third of the official SDK's whole call). On the
 * default (live) clock this forks only the work and arms one `setTimeout`: about 18 µs. Under any other clock
 * (TestClock, an accelerated clock) it uses `Effect.timeoutFail`, so virtual time drives timeouts as before.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/** The clock of Effect's default services: the one every runtime has unless a test or a user replaces it. */
const liveClock = Effect.runSync(Effect.clock)

/** @internal */
export const timeoutFail = <A, E, E1>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E1
): Effect.Effect<A, E | E1> =>
  Effect.clockWith((clock) => {
    if (clock !== liveClock) return Effect.timeoutFail(self, { duration, onTimeout })
    const millis = Duration.toMillis(duration)
    return Effect.flatMap(Effect.fork(self), (fiber) =>
      Effect.async<A, E | E1>((resume) => {
        const timer = setTimeout(() => resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(onTimeout()))), millis)
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
