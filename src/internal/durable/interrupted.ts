/**
 * A durable job's stored end that is an interruption (`DurableJob.interrupt`, from any process) as the typed error
 * `JobInterruptedError` (the implementation side of `DurableJob`'s `run` and `result`). Handed back as it is, it
 * would interrupt the caller (under `NodeRuntime.runMain`: exit code 0 with nothing printed). It reaches the caller
 * as a failure whose cause holds only interrupts, which the caller can catch; the caller's own interruption (Ctrl-C
 * on the process that waits) cannot be caught, and stays an interruption. An interruption that is not the job's
 * stored end (the engine shutting down under a waiting `run`) stays one too: the job's end, as stored, tells them
 * apart, and an engine that cannot answer within 5 s (one shutting down) is not taken to say it was the job's.
 *
 * @internal
 */
import * as Workflow from "@effect/workflow/Workflow"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as BatchError from "../../BatchError.js"

const isInterruptedOnly = (cause: Cause.Cause<unknown>): boolean =>
  Cause.isInterrupted(cause) && Cause.isInterruptedOnly(cause)

const isInterrupted = (result: Workflow.Result<unknown, unknown> | undefined): boolean =>
  result?._tag === "Complete" && Exit.isFailure(result.exit) && isInterruptedOnly(result.exit.cause)

const interruptedJob = (jobId: string, operation: string) => new BatchError.JobInterruptedError({ jobId, operation })

/** `DurableJob.run`'s wait (`execute`), its job's stored interruption as `JobInterruptedError`. @internal */
export const run = <A, E, R, R2>(
  jobId: string,
  execute: Effect.Effect<A, E, R>,
  stored: Effect.Effect<Workflow.Result<unknown, unknown> | undefined, unknown, R2>
): Effect.Effect<A, E | BatchError.JobInterruptedError, R | R2> =>
  Effect.catchAllCause(execute, (cause): Effect.Effect<never, E | BatchError.JobInterruptedError, R2> => {
    const as = Effect.failCause(cause)
    if (!isInterruptedOnly(cause)) return as
    return Effect.flatMap(
      Effect.catchAllCause(Effect.timeout(Effect.map(stored, isInterrupted), "5 seconds"), () => Effect.succeed(false)),
      (interrupted): Effect.Effect<never, E | BatchError.JobInterruptedError> =>
        interrupted ? Effect.fail(interruptedJob(jobId, "DurableJob.run")) : as
    )
  })

/** `DurableJob.result`'s answer, a stored interruption as an exit failing with `JobInterruptedError`. @internal */
export const result = <A, E>(
  jobId: string,
  stored: Workflow.Result<A, E> | undefined
): Workflow.Result<A, E | BatchError.JobInterruptedError> | undefined =>
  isInterrupted(stored)
    ? new Workflow.Complete({ exit: Exit.fail(interruptedJob(jobId, "DurableJob.result")) })
    : stored
