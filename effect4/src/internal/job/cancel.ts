/**
 * Cancelling a batch that nobody will wait for any more (an interrupted or failed job or run), bounded so that it
 * never holds up the interruption: transient failures retried briefly, `cancelTimeout` (10 s) in all, the check
 * below included. A refused cancel is checked against the batch: one that had already ended is told at INFO
 * ("already ended"); one that may still run is a WARN with its id, so its owner can cancel it by hand.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Batch from "../../Batch.js"
import type * as BatchApi from "../../BatchApi.js"
import * as BatchSchedule from "../../BatchSchedule.js"

/** @internal */
export const cancelTimeout: Duration.Duration = Duration.seconds(10)

/** What a cancel did: `cancelled` (or cancelling), `ended` (the batch had already ended), `failed`. @internal */
export type Outcome = "cancelled" | "ended" | "failed"

/**
 * The retries of a cancel and of the requests around it: a transient failure (a 429, a 5xx, a dropped connection)
 * is sent again after a short backoff, or after the server's `Retry-After` if it is short, while `cancelTimeout`
 * allows; one 500 must not leave a batch billing for a day.
 *
 * @internal
 */
export const retry: BatchSchedule.RetrySchedule = BatchSchedule.retry({
  maxRetries: 4,
  baseDelay: Duration.millis(250),
  maxDelay: Duration.seconds(2),
  maxRetryAfter: Duration.seconds(5),
  deadline: Duration.seconds(8)
})

/** Retried while transient (`retry`), each attempt timed out at `cancelTimeout`. */
const once = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  self.pipe(BatchSchedule.withRetry(retry), BatchSchedule.withTimeout(cancelTimeout))

/** Cancels `batchId` (see the module comment). @internal */
export const cancelAbandoned = (api: BatchApi.Service, batchId: string, why: string): Effect.Effect<Outcome> =>
  once(api.cancelBatch(batchId)).pipe(
    Effect.tap(() => Effect.logInfo(`effect-openai-batch: cancelled batch ${batchId}: ${why}`)),
    Effect.as<Outcome>("cancelled"),
    Effect.catch((error) =>
      once(api.retrieveBatch(batchId)).pipe(
        Effect.flatMap((batch) =>
          Batch.isTerminal(batch) || batch.status === "cancelling"
            ? Effect.as(
              Effect.logInfo(
                `effect-openai-batch: batch ${batchId} already ended (${batch.status}); nothing to cancel`
              ),
              "ended" as const
            )
            : Effect.fail(error)
        ),
        Effect.catch(() =>
          Effect.as(
            Effect.logWarning(
              `effect-openai-batch: could not cancel batch ${batchId} (${error._tag}); it may keep running: cancel it by hand`
            ),
            "failed" as const
          )
        )
      )
    ),
    Effect.timeoutOrElse({
      duration: cancelTimeout,
      orElse: () =>
        Effect.as(
          Effect.logWarning(
            `effect-openai-batch: cancelling batch ${batchId} took over ${
              Duration.format(cancelTimeout)
            }; it may keep running: cancel it by hand`
          ),
          "failed" as const
        )
    })
  )
