/**
 * A job's patience with an API that fails for a while.
 *
 * The request policy in effect (`BatchSchedule.withRetry`; by default 2 retries within 2 minutes) suits a call that
 * someone waits on. A job runs for hours: it must not fail, and cancel the batches of its other parts, because the
 * API answered 5xx or 429 for a few minutes while one part was starting. So the two steps that start a part's work
 * (its upload, its create) go on through a failure that is not permanent (`BatchError.transience`), each time after
 * the request policy gave up, backing off from 30 seconds to 5 minutes, for up to 30 minutes in all. A create sent
 * again is safe: its idempotency key, or the marker the library looks for after an ambiguous attempt, finds the batch
 * an earlier attempt made; an upload likewise finds its file. A permanent failure fails at once, as before.
 *
 * The Effect 4 edition: the same, with Effect 4's names (`Schedule.min` for Effect 3's `union`,
 * `Schedule.upTo({ duration })`, `Schedule.tap` over the step's `input` for `tapInput`).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as BatchError from "../../BatchError.js"

/** The backoff between two tries of a step. @internal */
export const backoff = { first: Duration.seconds(30), longest: Duration.minutes(5) } as const

const isTransportError = Schema.is(BatchError.TransportError)

const isStatusError = (u: unknown): u is BatchError.StatusError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && BatchError.isStatusError({ _tag: u._tag })

/** A failure of the API that a later attempt may get past. */
const passing = (error: unknown): error is BatchError.RequestError =>
  (isTransportError(error) || isStatusError(error)) && BatchError.transience(error) !== "permanent"

/** `self` again after a failure that is not permanent, for up to `patience`; `what` names it in the log. @internal */
export const patiently =
  (what: string, patience: Duration.Duration) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Duration.toMillis(patience) <= 0 ? self : Effect.retry(self, {
      schedule: Schedule.min([Schedule.exponential(backoff.first, 2), Schedule.spaced(backoff.longest)]).pipe(
        Schedule.setInputType<E>(),
        Schedule.upTo({ duration: patience }),
        Schedule.tap(({ input }) =>
          Effect.logWarning(
            `effect-openai-batch: ${what} failed for now, trying again: ${
              passing(input) ? input.message : String(input)
            }`
          )
        )
      ),
      while: (error: E) => passing(error)
    })
