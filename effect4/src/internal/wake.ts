/**
 * A poll loop that a signal can cut short: `effect` repeated on `schedule`, as `Stream.fromEffectSchedule` does,
 * except that a tick of `wakeups` ends the current wait at once (the next run comes immediately, and the schedule
 * goes on from where it was). What lets a wait end moments after a webhook says its batch ended, while the schedule
 * stays as the safety net.
 *
 * The Effect 4 edition: the schedule is stepped with `Schedule.toStepWithSleep` (Effect 3: `Schedule.driver`), the
 * stream built with `Stream.fromPull`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

/** @internal */
export const repeatOrWake = <A, E, R, X, R2>(
  effect: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<X, A, never, R2>,
  wakeups: Stream.Stream<void>
): Stream.Stream<A, E, R | R2> =>
  Stream.unwrap(Effect.gen(function*() {
    // Ticks that come during a run are kept (one is enough): the next wait then ends at once.
    const woken = yield* Queue.sliding<void>(1)
    yield* Effect.forkScoped(Stream.runForEach(wakeups, () => Queue.offer(woken, undefined)))
    const step = yield* Schedule.toStepWithSleep(schedule)
    let last: Option.Option<A> = Option.none()
    const pull = Effect.gen(function*() {
      if (Option.isSome(last)) {
        const goOn = yield* Effect.raceFirst(
          step(last.value).pipe(Effect.as(true), Effect.catchCause(() => Effect.succeed(false))),
          Effect.as(Queue.take(woken), true)
        )
        if (!goOn) return yield* Cause.done()
      }
      const value = yield* effect
      last = Option.some(value)
      return [value] as const
    })
    return Stream.fromPull(Effect.succeed(pull))
  }))
