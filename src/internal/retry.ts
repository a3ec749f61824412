/**
 * Retrying one call on the caller's schedule, without paying for it when the first attempt succeeds.
 *
 * `Effect.retry` builds a schedule driver on every run; for a call that succeeds at once (nearly all of them) that
 * is pure overhead on the hot path. Here the first attempt runs bare, and only its failure starts `Effect.retry`,
 * whose first step is that same failure: the schedule sees exactly the inputs it would have seen.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as BatchError from "../BatchError.js"
import * as BatchSchedule from "../BatchSchedule.js"
import type * as OpenAiConfig from "../OpenAiConfig.js"

const logFailure = (error: BatchError.RequestError) =>
  Effect.logDebug(`effect-openai-batch: attempt failed: ${error.message}`)

/** @internal */
export const retry = <A>(
  effect: Effect.Effect<A, BatchError.RequestError>,
  schedule: BatchSchedule.RetrySchedule
): Effect.Effect<A, BatchError.RequestError> =>
  Effect.catchAll(effect, (first) => {
    let pending: BatchError.RequestError | undefined = first
    const again = Effect.tapError(effect, logFailure)
    return Effect.zipRight(
      logFailure(first),
      Effect.retry(
        Effect.suspend(() => {
          if (pending === undefined) return again
          const error = pending
          pending = undefined
          return Effect.fail(error)
        }),
        schedule
      )
    )
  })

/** The retry schedule a service uses when its layer is given none: the default policy with the config's limits. @internal */
export const fromConfig = (config: OpenAiConfig.Service): BatchSchedule.RetrySchedule =>
  BatchSchedule.retry({
    maxRetries: config.maxRetries,
    maxRetryAfter: config.maxRetryAfter,
    deadline: config.retryDeadline
  })
