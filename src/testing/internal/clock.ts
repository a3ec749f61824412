/**
 * An accelerated `Clock`, for serving the simulator with hours of batch time passing in minutes of real time.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * A `Clock` running `speed` times faster than the real one from `origin` on (its time starts at the real time).
 * Sleeps are shortened by the same factor, so a client's polling keeps pace with the batches.
 *
 * @internal
 */
export const accelerated = (speed: number, origin: number = Date.now()): Clock.Clock => {
  const now = () => origin + (Date.now() - origin) * speed
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => BigInt(Math.floor(now() * 1_000_000)),
    currentTimeNanos: Effect.sync(() => BigInt(Math.floor(now() * 1_000_000))),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), Duration.toMillis(duration) / speed)
        return Effect.sync(() => clearTimeout(timer))
      })
  }
}
