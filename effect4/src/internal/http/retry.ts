/**
 * Retrying one call on the retry policy in effect (`BatchSchedule.currentRetry`), without paying for it when the
 * first attempt succeeds.
 *
 * `Effect.retry` builds a schedule driver on every run; for a call that succeeds at once (nearly all of them) that
 * is pure overhead on the hot path. Here the first attempt runs bare, and only its failure reads the policy and
 * starts `Effect.retry`, whose first step is that same failure: the schedule sees exactly the inputs it would have
 * seen.
 *
 * The Effect 4 edition: the policy is read from the `currentRetry` reference; `final` stops it through
 * `Schedule.while` (Effect 3: `whileInput`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as BatchError from "../../BatchError.js"
import * as BatchSchedule from "../../BatchSchedule.js"

const logFailure = (error: BatchError.RequestError) =>
  Effect.logDebug(`effect-openai-batch: attempt failed: ${error.message}`)

/** @internal */
export const retry = <A, E extends BatchError.RequestError>(
  effect: Effect.Effect<A, E>,
  /** Errors never to retry, whatever the policy says. */
  final?: (error: E) => boolean
): Effect.Effect<A, E> =>
  Effect.catch(effect, (first) => {
    if (final !== undefined && final(first)) return Effect.fail(first)
    let pending: E | undefined = first
    const again = Effect.tapError(effect, logFailure)
    const retried = (policy: BatchSchedule.RetrySchedule) =>
      Effect.retry(
        Effect.suspend(() => {
          if (pending === undefined) return again
          const error = pending
          pending = undefined
          return Effect.fail(error)
        }),
        final === undefined
          ? policy
          : Schedule.while(Schedule.setInputType<E>()(policy), ({ input }) => !final(input))
      )
    return Effect.andThen(logFailure(first), Effect.flatMap(Effect.service(BatchSchedule.currentRetry), retried))
  })
