/**
 * How a durable job stops (the implementation side of `DurableJob`'s `interrupt` and its compensation's rule).
 *
 * - `endedFor`: the engine closes a workflow's scope both when it ended for good and when its runner stopped (a
 *   shutdown, a shard moving to another runner); only the first may cancel batches. The second is resumed from the
 *   journal by the next runner, its batches still running.
 * - `Stops`: `@effect/cluster`'s engine acts on an `interrupt` only when a workflow suspends, and a job lives inside
 *   activities. So `interrupt` signals a job running in its own process at once, and records the request in
 *   `JobInterrupts` for a runner in another; the job races its body against `until`, which ends with an
 *   interruption once it is asked, after marking the workflow instance interrupted: the engine then stores the end as
 *   the job's result, and `endedFor` lets its compensation cancel the batches.
 *
 * The Effect 4 edition of the root's src/internal/durable/stop.ts.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import * as JobInterrupts from "../../durable/JobInterrupts.js"

type Instance = WorkflowEngine.WorkflowInstance["Service"]

/**
 * Whether the workflow ended for good (failed, or interrupted by `interrupt`), not stopped with its runner. (Effect
 * 3's `Cause.isInterruptedOnly`, true for an empty cause: every reason an interruption.) @internal
 */
export const endedFor = (instance: Instance, cause: Cause.Cause<unknown>): boolean =>
  instance.interrupted || !cause.reasons.every(Cause.isInterruptReason)

/** @internal */
export interface Stops {
  /** Ends with an interruption once the job of `executionId` is asked to stop (to race against its body). */
  readonly until: (instance: Instance, executionId: string, every: Duration.Duration) => Effect.Effect<never>
  /** Asks the job of `executionId` to stop: the one running in this process at once, one in another by the record. */
  readonly request: (executionId: string) => Effect.Effect<void>
}

/** The stops of one workflow: the signals of its jobs running in this process, by execution id. @internal */
export const make = (): Stops => {
  const running = new Map<string, { readonly instance: Instance; readonly signal: Deferred.Deferred<void> }>()

  const until = (instance: Instance, executionId: string, every: Duration.Duration): Effect.Effect<never> =>
    Effect.flatMap(Effect.serviceOption(JobInterrupts.JobInterrupts), (interrupts) =>
      Effect.acquireUseRelease(
        Effect.tap(
          Deferred.make<void>(),
          (signal) => Effect.sync(() => running.set(executionId, { instance, signal }))
        ),
        (signal) => {
          // A run resumed after an `interrupt` on the in-memory engine, which sets the flag.
          if (instance.interrupted) return Effect.void
          if (Option.isNone(interrupts)) return Deferred.await(signal)
          const recorded = Effect.catch(interrupts.value.requested(executionId), (error) =>
            Effect.as(
              Effect.logWarning("effect-openai-batch: could not read the job's interrupt record", error),
              false
            ))
          return Effect.raceFirst(
            Deferred.await(signal),
            Effect.asVoid(Effect.repeat(recorded, { schedule: Schedule.spaced(every), until: (yes) => yes }))
          )
        },
        (signal) =>
          Effect.sync(() => {
            if (running.get(executionId)?.signal === signal) running.delete(executionId)
          })
      ).pipe(
        Effect.andThen(Effect.sync(() => {
          instance.interrupted = true
        })),
        Effect.andThen(Effect.interrupt)
      ))

  const request = (executionId: string): Effect.Effect<void> =>
    Effect.andThen(
      // For a runner in another process (read by the job within its `interruptCheck`).
      Effect.flatMap(
        Effect.serviceOption(JobInterrupts.JobInterrupts),
        (interrupts) => Option.isSome(interrupts) ? Effect.orDie(interrupts.value.request(executionId)) : Effect.void
      ),
      // For the job running in this process: marked first, so however it ends now, it ended interrupted.
      Effect.suspend(() => {
        const job = running.get(executionId)
        if (job === undefined) return Effect.void
        job.instance.interrupted = true
        return Deferred.succeed(job.signal, undefined)
      })
    )

  return { until, request }
}
