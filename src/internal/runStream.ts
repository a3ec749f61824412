/**
 * Running a stream to an effect, with its failure raised in the caller's fiber.
 *
 * Why: Effect 3's channel executor runs a stream (`Stream.runDrain`, `runFold`, `runLast`, ...) in a fiber of its own
 * and fails that fiber with the stream's error, which the runtime then also logs at DEBUG as "Fiber terminated with an
 * unhandled error", however the caller handles the error. An operation of this library that is an effect over a
 * stream (`awaitBatch`, `BatchResults.toMap`, ...) would log that once per failure its caller handles. Here the
 * stream's error is caught inside the run, kept, and failed with after it: the same error, in the caller's fiber.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** `run(stream)`, failing with the stream's error after the run instead of inside it. @internal */
export const quietly = <A, E, R, B, E2, R2>(
  stream: Stream.Stream<A, E, R>,
  run: (stream: Stream.Stream<A, never, R>) => Effect.Effect<B, E2, R2>
): Effect.Effect<B, E | E2, R | R2> =>
  Effect.suspend(() => {
    let failure = Option.none<E>()
    const kept = Stream.catchAll(stream, (error) =>
      Stream.execute(Effect.sync(() => {
        failure = Option.some(error)
      })))
    return Effect.flatMap(
      run(kept),
      (result) => Option.isSome(failure) ? Effect.fail(failure.value) : Effect.succeed(result)
    )
  })
