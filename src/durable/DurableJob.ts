/**
 * A job (see `Job`) as an `@effect/workflow` Workflow, durable on an engine: the embedded default is one machine on
 * a SQLite file (`effect-openai-batch/durable/SqliteEngine`); several machines share a Postgres
 * (`effect-openai-batch/durable/PostgresEngine`); `WorkflowEngine.layerMemory` runs it in memory (tests).
 *
 * The engine keeps the journal, the leases and the timers; this module only says what the steps are, with the
 * workflow's own tools:
 * - Every step with an effect outside the process is an activity, named by part and attempt so it is journaled
 *   once: the plan, the listing of batches an earlier run made, each upload, each admission under the budget, each
 *   create, each round of waiting, each delivery of results. Upload and create are separate activities: a create
 *   replayed after a crash finds its batch by its idempotency key instead of making one from a new upload.
 * - A wait is one activity per batch and round (`round`, 30 minutes by default), not a durable sleep per poll, so
 *   a replay stays short; durable sleeps (`DurableClock`) are the re-send backoffs when nothing of the model is in
 *   flight.
 * - Compensation: when the workflow fails or is interrupted (`interrupt`), every batch it created is cancelled,
 *   and one listing of the job's batches finds any whose create was in flight (unless `policy.cancelOnExit` is
 *   `false`).
 * - The payload is the serializable subset of `Job.Options`, with the same defaults and the same checks as
 *   `Job.run`; what cannot travel (the sink, the estimator, events, the poll schedule) comes with the layer.
 * - The ledger is the runner's `JobBudget.Ledger` (from the client layer): every job on a runner shares it, and
 *   each learns from the API's late failures what other runners and programs use.
 *
 * What a crash costs: the activity that was running runs again (activities are at least once; the create finds
 * its batch, a results delivery goes to an idempotent sink). Events (`onEvent`) are told from the workflow body, so
 * a replay tells them again.
 *
 * The input is a JSONL file that every runner can read; its parts' files are written under `plan.workDir` (default
 * `<tmpdir>/effect-openai-batch/<jobId>`) and written again from the input by a runner that lacks them.
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Activity from "@effect/workflow/Activity"
import * as DurableClock from "@effect/workflow/DurableClock"
import * as Workflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { tmpdir } from "node:os"
import * as Batch from "../Batch.js"
import * as BatchApi from "../BatchApi.js"
import * as BatchError from "../BatchError.js"
import type * as BatchLine from "../BatchLine.js"
import type * as BatchSchedule from "../BatchSchedule.js"
import * as Interrupted from "../internal/durable/interrupted.js"
import * as Stop from "../internal/durable/stop.js"
import * as DurationOption from "../internal/durationOption.js"
import * as Operation from "../internal/http/operation.js"
import * as Engine from "../internal/job/engine.js"
import * as History from "../internal/job/history.js"
import { requestsOf } from "../internal/job/input.js"
import * as JobOptions from "../internal/job/options.js"
import * as JobPart from "../internal/job/part.js"
import * as Planner from "../internal/job/planner.js"
import * as Spool from "../internal/job/spool.js"
import * as Summary from "../internal/job/summary.js"
import * as Tracker from "../internal/job/tracker.js"
import * as JobBudget from "../JobBudget.js"
import * as JobReport from "../JobReport.js"
import type * as JobSink from "../JobSink.js"
import * as OpenAiFiles from "../OpenAiFiles.js"
import * as OpenAiUploads from "../OpenAiUploads.js"
import type * as TokenEstimate from "../TokenEstimate.js"

// ---------------------------------------------------------------------------------------------------------------
// The payload
// ---------------------------------------------------------------------------------------------------------------

/**
 * What a durable job is started with: the serializable options of `Job.run` (the same groups, defaults and checks)
 * and its input, a JSONL file every runner can read. The job id names the workflow execution too: starting the
 * same job again returns the first run's result, whatever else the payload says.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const Payload = Schema.Struct({
  ...JobOptions.Serializable.fields,
  /** A JSONL file of requests, readable by every runner. */
  input: Schema.String
})

/**
 * @since 0.2.0
 * @category Models
 */
export interface Payload extends Schema.Schema.Type<typeof Payload> {}

/**
 * What a durable job takes that cannot travel in a payload: where results go (a sink whose failures the workflow's
 * error schema can hold: the library's errors, or your `sinkError` given to `make`), the estimator, events, the
 * pace of polls, which results to re-send, and how long one waiting activity lasts.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Hooks<SE = never, R = never> {
  readonly sink?: JobSink.JobSink<BatchError.BatchError | SE, R> | undefined
  readonly estimate?: TokenEstimate.Estimator | undefined
  readonly onEvent?: ((event: JobReport.JobEvent) => Effect.Effect<void>) | undefined
  readonly poll?: BatchSchedule.PollSchedule | undefined
  readonly resendWhen?: ((result: BatchLine.BatchResult) => boolean) | undefined
  /**
   * How long one waiting activity lasts at most (a replay re-reads one activity per round); default 30 minutes. It
   * must be a duration > 0, as `interruptCheck`: `layer` throws a `RangeError` naming a hook out of range (nothing
   * is started, so nothing is journaled).
   */
  readonly round?: Duration.DurationInput | undefined
  /**
   * How often a running job reads the `JobInterrupts` record, where its engine provides one (the SQL engines), to
   * learn of an `interrupt` asked in another process; default 1 second. One asked in this process reaches it at once.
   */
  readonly interruptCheck?: Duration.DurationInput | undefined
}

/**
 * Defaults of the hooks.
 *
 * @since 0.3.0
 * @category Constants
 */
export const defaults = { round: Duration.minutes(30), interruptCheck: Duration.seconds(1) } as const

/**
 * The hooks that pace a loop, refused when the layer is made (a `RangeError`, as the `BatchSchedule` constructors
 * throw) rather than when a job starts: a job's failure is journaled, so a job id started under a bad hook would keep
 * its failure after the hook is fixed. A `round` of zero journals waiting activities in a busy loop, an
 * `interruptCheck` of zero reads the `JobInterrupts` record in one.
 */
const checkHooks = (hooks: Pick<Hooks, "round" | "interruptCheck">): void => {
  for (const hook of ["round", "interruptCheck"] as const) {
    const value = hooks[hook]
    if (value !== undefined) DurationOption.orThrow("DurableJob.layer", hook, value, "> 0")
  }
}

const PartSchema = Schema.Struct({
  index: Schema.Number,
  model: Schema.String,
  requests: Schema.Number,
  bytes: Schema.Number,
  tokens: Schema.Number,
  digest: Schema.String,
  file: Schema.String,
  firstLine: Schema.Number,
  lines: Schema.Array(Schema.Tuple(Schema.Number, Schema.Number))
})

const Planned = Schema.Struct({ startedAt: Schema.Number, parts: Schema.Array(PartSchema) })

const Tag = Schema.Struct({
  part: Schema.Number,
  attempt: Schema.Number,
  kind: JobReport.AttemptKind,
  digest: Schema.String
})
const Found = Schema.Struct({ tag: Tag, batch: Batch.Batch, duplicates: Schema.Array(Batch.Batch) })
const HistorySchema = Schema.Array(Schema.Tuple(Schema.Number, Schema.Array(Found)))

/**
 * The durable job, as a workflow with its operations; `make` builds one whose error schema also holds your sink's
 * errors.
 *
 * @since 0.3.0
 * @category Models
 */
export interface DurableJobs<SE, SI = never> {
  readonly workflow: Workflow.Workflow<
    "effect-openai-batch/Job",
    typeof Payload,
    typeof JobReport.JobSummary,
    Schema.Union<[typeof BatchError.BatchError, Schema.Schema<SE, SI> | typeof Schema.Never]>
  >
  /**
   * Registers the job workflow with an engine. It needs the client services (e.g. `BatchClient.layerFromEnv` over
   * an `HttpClient`: its ledger is shared by every job of the runner), a file system and path (`NodeContext.layer`),
   * and whatever the sink needs.
   */
  readonly layer: <R = never>(hooks?: Hooks<SE, R>) => Layer.Layer<
    never,
    never,
    WorkflowEngine.WorkflowEngine | Engine.Services | FileSystem.FileSystem | Path.Path | R
  >
  /**
   * Runs a job on the engine and waits for its summary (the same job id again: the stored result). A job that was
   * interrupted (`interrupt`), before or while this waits, fails it with `JobInterruptedError`; the caller's own
   * interruption stays an interruption.
   */
  readonly run: (payload: Payload) => Effect.Effect<
    JobReport.JobSummary,
    BatchError.BatchError | SE,
    WorkflowEngine.WorkflowEngine
  >
  /** Starts a job and returns its execution id at once; any runner of the engine takes it on. */
  readonly start: (payload: Payload) => Effect.Effect<string, never, WorkflowEngine.WorkflowEngine>
  /**
   * A job's result, from any process on the engine: `undefined` while it has not ended. The exit of a job that was
   * interrupted is a failure with `JobInterruptedError`.
   */
  readonly result: (jobId: string) => Effect.Effect<
    Workflow.Result<JobReport.JobSummary, BatchError.BatchError | SE> | undefined,
    never,
    WorkflowEngine.WorkflowEngine
  >
  /** Stops a job; its compensation cancels the batches it made (unless `policy.cancelOnExit` is `false`). */
  readonly interrupt: (jobId: string) => Effect.Effect<void, never, WorkflowEngine.WorkflowEngine>
  /** The execution id of a job (the workflow's, derived from the job id). */
  readonly executionId: (jobId: string) => Effect.Effect<string>
}

type DurableEnv = WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance | Scope.Scope

/**
 * The durable job whose workflow error is `BatchError` or `sinkError` (a sink's typed failure is journaled and
 * returned like the library's own).
 *
 * @since 0.3.0
 * @category Constructors
 */
export const make = <SE = never, SI = never>(
  options: { readonly sinkError?: Schema.Schema<SE, SI> | undefined } = {}
): DurableJobs<SE, SI> => {
  const error = Schema.Union(BatchError.BatchError, options.sinkError ?? Schema.Never)
  const isJournaled = Schema.is(error)

  const workflow = Workflow.make({
    name: "effect-openai-batch/Job",
    payload: Payload,
    success: JobReport.JobSummary,
    error,
    idempotencyKey: (payload) => payload.jobId,
    // A caller waiting in `run` across a suspension (a durable backoff) hears of the end within 5 s, not 30 s.
    suspendedRetrySchedule: Schedule.exponential("200 millis", 1.5).pipe(Schedule.union(Schedule.spaced("5 seconds")))
  })

  const stops = Stop.make()

  const activities = (
    round: Duration.Duration,
    instance: WorkflowEngine.WorkflowInstance["Type"]
  ): JobPart.Steps<BatchError.BatchError | SE, DurableEnv> => ({
    step: (name, success, effect) =>
      Activity.make({
        name,
        success,
        error,
        // The journal keeps what the error schema holds; anything else is a defect.
        execute: Effect.catchAll(effect, (e) => isJournaled(e) ? Effect.fail(e) : Effect.die(e))
      }),
    admit: (name, ledger, claim, ceiling) =>
      Effect.suspend(() => {
        // Run now, the activity waits for room; replayed, it returns at once and the claim is taken as it was then.
        let taken: JobBudget.Reservation | undefined
        return Activity.make({ name, execute: Effect.map(ledger.reserve(claim, ceiling), (r) => void (taken = r)) })
          .pipe(
            Effect.zipRight(
              Effect.suspend(() => taken === undefined ? ledger.reserveNow(claim, ceiling) : Effect.succeed(taken))
            )
          )
      }),
    sleep: (name, duration) => DurableClock.sleep({ name, duration, inMemoryThreshold: Duration.zero }),
    round,
    compensate: (create, cancel) =>
      Workflow.withCompensation(create, (batch, cause) => Stop.endedFor(instance, cause) ? cancel(batch) : Effect.void)
  })

  const layer = <R = never>(hooks: Hooks<SE, R> = {}) => {
    checkHooks(hooks)
    return workflow.toLayer((payload, executionId) =>
      Effect.gen(function*() {
        const { input, ...serializable } = payload
        const resolved = yield* Engine.resolveOrFail("DurableJob.run", {
          ...serializable,
          budget: { ...serializable.budget, estimate: hooks.estimate },
          delivery: { sink: hooks.sink, resendWhen: hooks.resendWhen },
          policy: { ...serializable.policy, poll: hooks.poll },
          onEvent: hooks.onEvent
        })
        const api = yield* BatchApi.BatchApi
        const files = yield* OpenAiFiles.OpenAiFiles
        const uploadsApi = yield* OpenAiUploads.OpenAiUploads
        const ledger = yield* JobBudget.Ledger
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const instance = yield* WorkflowEngine.WorkflowInstance
        const steps = activities(Duration.decode(hooks.round ?? defaults.round), instance)
        const spool = Spool.files(
          fs,
          path,
          resolved.workDir ?? path.join(tmpdir(), "effect-openai-batch", resolved.jobId)
        )
        const plan = Planner.plan(
          requestsOf<never, never>({ path: input }),
          Engine.planOptions(resolved, "DurableJob.run"),
          spool
        ).pipe(
          Stream.provideService(FileSystem.FileSystem, fs)
        )
        const planned = yield* steps.step(
          "plan",
          Planned,
          Effect.all({
            startedAt: Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000)),
            parts: Effect.map(Stream.runCollect(plan), Chunk.toReadonlyArray)
          })
        )
        const parts = planned.parts
        // A runner that lacks the parts' files (another machine, a cleaned temporary directory) writes them again.
        const replan = yield* Effect.makeSemaphore(1)
        const ensureFiles = replan.withPermits(1)(
          Effect.gen(function*() {
            for (const part of parts) {
              if (!(yield* spool.exists(part.file))) return yield* Stream.runDrain(plan)
            }
          })
        )
        const found = yield* steps.step(
          "history",
          HistorySchema,
          Effect.map(
            History.list(api, resolved.jobId, { lookback: resolved.lookback, maxPages: resolved.maxPages }),
            (byPart) => [...byPart.entries()]
          )
        )
        const history = new Map(found)
        const since = Math.min(
          planned.startedAt,
          ...found.flatMap(([, attempts]) => attempts.map((attempt) => attempt.batch.created_at))
        )
        const tracker = yield* Tracker.make(api, resolved.jobId, since)
        if (resolved.cancelOnExit) {
          // A create in flight when the workflow fails has no compensation of its own: one listing finds it.
          yield* Workflow.addFinalizer((exit) =>
            exit._tag === "Success" || !Stop.endedFor(instance, exit.cause)
              ? Effect.void
              : Effect.asVoid(tracker.cancelAll(`job ${resolved.jobId} failed or was interrupted`))
          )
        }
        const env = yield* Engine.makeEnv(
          "DurableJob.run",
          resolved,
          { api, files, uploadsApi, ledger, spool, tracker },
          resolved.cancelOnExit ? steps : { ...steps, compensate: (create) => create },
          ensureFiles
        )
        const unbudgeted = Engine.warnUnbudgeted(resolved.limits)
        for (const part of parts) {
          yield* unbudgeted(part.model)
          yield* env.emit(
            JobReport.JobEvent.PartPlanned({
              part: part.index,
              model: part.model,
              requests: part.requests,
              tokens: part.tokens
            })
          )
        }
        yield* env.emit(
          JobReport.JobEvent.PlanDone({
            parts: parts.length,
            requests: parts.reduce((n, part) => n + part.requests, 0)
          })
        )
        const summaries = yield* Effect.forEach(
          parts,
          (part) => JobPart.run(part, history.get(part.index) ?? [], env),
          {
            concurrency: resolved.concurrency
          }
        )
        const summary = Summary.summarize(resolved.jobId, summaries, resolved.pricing)
        yield* env.emit(JobReport.JobEvent.JobDone({ summary }))
        return summary
      }).pipe(
        (body) =>
          Effect.flatMap(WorkflowEngine.WorkflowInstance, (instance) =>
            Effect.raceFirst(
              body,
              stops.until(instance, executionId, Duration.decode(hooks.interruptCheck ?? defaults.interruptCheck))
            )),
        // What is left is the engine's or a sink's error the schema cannot hold: a defect.
        Effect.catchAll((e) => isJournaled(e) ? Effect.fail(e) : Effect.die(e)),
        // The errors of the requests the job sends name the operation the user called.
        Operation.named("DurableJob.run")
      )
    )
  }

  const executionId = (jobId: string) => workflow.executionId({ jobId, input: "", endpoint: "/v1/chat/completions" })

  const stored = (jobId: string) => Effect.flatMap(executionId(jobId), workflow.poll)

  return {
    workflow,
    layer,
    run: (payload) => Interrupted.run(payload.jobId, workflow.execute(payload), stored(payload.jobId)),
    start: (payload) => workflow.execute(payload, { discard: true }),
    result: (jobId) => Effect.map(stored(jobId), (result) => Interrupted.result(jobId, result)),
    interrupt: (jobId) =>
      Effect.flatMap(executionId(jobId), (id) =>
        // The engine's own, for a job that is suspended (a durable backoff) or not started.
        Effect.zipRight(stops.request(id), workflow.interrupt(id))),
    executionId
  }
}

const standard = make()

/**
 * The workflow of the standard durable job (errors: the library's).
 *
 * @since 0.2.0
 * @category Workflows
 */
export const JobWorkflow = standard.workflow

/**
 * Registers the standard durable job with an engine (see `DurableJobs.layer`).
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer: <R = never>(hooks?: Hooks<never, R>) => Layer.Layer<
  never,
  never,
  WorkflowEngine.WorkflowEngine | Engine.Services | FileSystem.FileSystem | Path.Path | R
> = standard.layer

/**
 * Runs a job on the engine and waits for its summary. The same job id again returns the stored result (or resumes
 * the run, if it is not over). A job that was interrupted (`interrupt`, from any process), before or while this
 * waits, fails it with `JobInterruptedError` (its batches were cancelled; a new job id runs its requests again); the
 * caller's own interruption stays an interruption.
 *
 * @since 0.2.0
 * @category Running
 */
export const run: (payload: Payload) => Effect.Effect<
  JobReport.JobSummary,
  BatchError.BatchError,
  WorkflowEngine.WorkflowEngine
> = standard.run

/**
 * Starts a job and returns its execution id at once; any runner of the engine takes it on.
 *
 * @since 0.2.0
 * @category Running
 */
export const start: (payload: Payload) => Effect.Effect<string, never, WorkflowEngine.WorkflowEngine> = standard.start

/**
 * The execution id of a job (the workflow's, derived from the job id).
 *
 * @since 0.2.0
 * @category Running
 */
export const executionId: (jobId: string) => Effect.Effect<string> = standard.executionId

/**
 * A job's result, from any process on the engine: `undefined` while it has not ended. The exit of a job that was
 * interrupted is a failure with `JobInterruptedError` (not an interruption, which would interrupt whoever runs it).
 *
 * @since 0.2.0
 * @category Running
 */
export const result = standard.result

/**
 * Stops a job; its compensation cancels every batch it made that may still run (unless `policy.cancelOnExit` is
 * `false`), each cancel bounded and logged.
 *
 * @since 0.2.0
 * @category Running
 */
export const interrupt: (jobId: string) => Effect.Effect<void, never, WorkflowEngine.WorkflowEngine> =
  standard.interrupt
