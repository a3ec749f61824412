/**
 * Cancelling a batch that nobody will wait for any more (an interrupted run or job), bounded so that it never holds
 * up the interruption: one attempt, at most `cancelTimeout` in all. If it fails, the batch keeps running and the
 * log says so with its id.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as BatchApi from "../BatchApi.js"
import * as BatchSchedule from "../BatchSchedule.js"

/** @internal */
export const cancelTimeout: Duration.Duration = Duration.seconds(10)

/** @internal */
export const cancelAbandoned = (api: BatchApi.Service, batchId: string, why: string): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.logInfo(`effect-openai-batch: cancelling batch ${batchId}: ${why}`),
    api.cancelBatch(batchId, { retry: BatchSchedule.noRetry, timeout: cancelTimeout })
  ).pipe(
    Effect.timeout(cancelTimeout),
    Effect.catchAllCause((cause) =>
      Effect.logWarning(`effect-openai-batch: could not cancel batch ${batchId}; it keeps running`, cause)
    )
  )
