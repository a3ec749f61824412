/**
 * A job (see `Job`) as an `@effect/workflow` Workflow, durable on an engine: the embedded default is one machine on
 * a SQLite file (`effect-openai-batch/durable/SqliteEngine`); several machines share a Postgres
 * (`effect-openai-batch/durable/PostgresEngine`); `WorkflowEngine.layerMemory` runs it in memory (tests).
 *
 * The engine keeps the journal, the leases and the timers; this module only says what the steps are. Every step
 * with an effect outside the process is its own activity, named by part and attempt so it is journaled once: the
 * plan, the listing of batches an earlier run made, each upload, each admission under the budget, each create, each
 * round of waiting (at most 30 minutes, so a crash loses at most a round and a replay stays short: no durable sleep
 * per poll), each delivery of results. Upload and create are separate activities: a create replayed after a crash
 * finds its batch by its idempotency key instead of making one from a new upload. Durable sleeps are used only to
 * back off before a re-send when the budget is full and nothing of the model is in flight.
 *
 * What a crash costs: the activity that was running runs again (activities are at least once; the create finds
 * its batch, a results delivery goes to an idempotent sink). Events (`onEvent`) are told from the workflow body, so
 * a replay tells them again.
 *
 * The input is a JSONL file that every runner can read; its parts' files are written under `workDir` (default
 * `<tmpdir>/effect-openai-batch/<jobId>`) and written again from the input by a runner that lacks them.
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Activity from "@effect/workflow/Activity"
import * as DurableClock from "@effect/workflow/DurableClock"
import * as Workflow from "@effect/workflow/Workflow"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { tmpdir } from "node:os"
import * as Batch from "../Batch.js"
import * as BatchApi from "../BatchApi.js"
import * as BatchError from "../BatchError.js"
import type * as BatchLine from "../BatchLine.js"
import type * as BatchSchedule from "../BatchSchedule.js"
import * as JobBatches from "../internal/jobBatches.js"
import * as JobPart from "../internal/jobPart.js"
import * as JobBudget from "../JobBudget.js"
import * as JobPlan from "../JobPlan.js"
import * as JobReport from "../JobReport.js"
import * as JobSink from "../JobSink.js"
import * as OpenAiFiles from "../OpenAiFiles.js"

// ---------------------------------------------------------------------------------------------------------------
// The payload
// ---------------------------------------------------------------------------------------------------------------

const Budget = Schema.Struct({ tokens: Schema.optional(Schema.Number), requests: Schema.optional(Schema.Number) })

/**
 * What a durable job is started with: everything that decides its parts and its batches (the rest, such as the
 * sink and the estimator, comes with the layer). The job id names the workflow execution too: starting the same
 * job again returns the first run's result, whatever else the payload says.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const Payload = Schema.Struct({
  jobId: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/)),
  /** A JSONL file of requests, readable by every runner. */
  input: Schema.String,
  endpoint: Batch.KnownEndpoint,
  /** Per model (`"*"` for every other model). */
  budget: Schema.optional(Schema.Record({ key: Schema.String, value: Budget })),
  safetyFactor: Schema.optional(Schema.Number),
  partFraction: Schema.optional(Schema.Number),
  maxRequestsPerPart: Schema.optional(Schema.Number),
  maxBytesPerPart: Schema.optional(Schema.Number),
  maxResends: Schema.optional(Schema.Number),
  maxFollowUps: Schema.optional(Schema.Number),
  resendBackoffMillis: Schema.optional(Schema.Number),
  onPartFailure: Schema.optional(Schema.Literal("fail", "continue")),
  concurrency: Schema.optional(Schema.Number),
  metadata: Schema.optional(Batch.Metadata),
  workDir: Schema.optional(Schema.String)
})

/**
 * @since 0.2.0
 * @category Models
 */
export interface Payload extends Schema.Schema.Type<typeof Payload> {}

/**
 * The workflow. Its result is the job's summary; its failure any `BatchError`.
 *
 * @since 0.2.0
 * @category Workflows
 */
export const JobWorkflow = Workflow.make({
  name: "effect-openai-batch/Job",
  payload: Payload,
  success: JobReport.JobSummary,
  error: BatchError.BatchError,
  idempotencyKey: (payload) => payload.jobId,
  // A caller waiting in `run` across a suspension (a durable backoff) hears of the end within 5 s, not 30 s.
  suspendedRetrySchedule: Schedule.exponential("200 millis", 1.5).pipe(Schedule.union(Schedule.spaced("5 seconds")))
})

// ---------------------------------------------------------------------------------------------------------------
// The steps as activities
// ---------------------------------------------------------------------------------------------------------------

/** How long one waiting activity lasts at most. */
const round = Duration.minutes(30)

const activities: JobPart.Steps<
  BatchError.BatchError,
  WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance
> = {
  step: (name, success, effect) =>
    Activity.make({
      name,
      success,
      error: BatchError.BatchError,
      // The journal keeps the library's errors; anything else is a defect.
      execute: Effect.catchAll(
        effect,
        (error) => BatchError.isBatchError(error) ? Effect.fail(error) : Effect.die(error)
      )
    }),
  admit: (name, ledger, claim) =>
    Effect.suspend(() => {
      // Run now, the activity waits for room; replayed, it returns at once and the claim is taken as it was then.
      let waited = false
      return Activity.make({
        name,
        execute: Effect.tap(ledger.reserve(claim), () => Effect.sync(() => (waited = true)))
      }).pipe(
        Effect.zipRight(Effect.suspend(() => waited ? Effect.void : ledger.reserveNow(claim)))
      )
    }),
  sleep: (name, duration) => DurableClock.sleep({ name, duration, inMemoryThreshold: Duration.zero }),
  round
}

const Part = Schema.Struct({
  index: Schema.Number,
  model: Schema.String,
  requests: Schema.Number,
  bytes: Schema.Number,
  tokens: Schema.Number,
  digest: Schema.String,
  file: Schema.String,
  firstLine: Schema.Number
})

const Tag = Schema.Struct({
  part: Schema.Number,
  attempt: Schema.Number,
  kind: JobReport.AttemptKind,
  digest: Schema.String
})
const History = Schema.Array(Schema.Tuple(Schema.Number, Schema.Array(Schema.Tuple(Tag, Batch.Batch))))

// ---------------------------------------------------------------------------------------------------------------
// The layer
// ---------------------------------------------------------------------------------------------------------------

/**
 * What a durable job takes that cannot travel in a payload: where results go (a sink whose failures are the
 * library's errors, e.g. `JobSink.jsonlFiles`), the estimator, events, the pace of polls, which results to re-send.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Hooks<R = never> {
  readonly sink?: JobSink.Sink<BatchError.BatchError, R> | undefined
  readonly estimate?: JobBudget.Estimator | undefined
  readonly onEvent?: ((event: JobReport.JobEvent) => Effect.Effect<void>) | undefined
  readonly poll?: BatchSchedule.PollSchedule | undefined
  readonly resendWhen?: ((result: BatchLine.BatchResult) => boolean) | undefined
}

/**
 * Registers the job workflow with an engine. It needs the Batch and Files services (e.g. `BatchJob.layerFromEnv`
 * over an `HttpClient`), a file system and path (`NodeContext.layer`), and whatever the sink needs.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = <R = never>(hooks: Hooks<R> = {}): Layer.Layer<
  never,
  never,
  WorkflowEngine.WorkflowEngine | BatchApi.BatchApi | OpenAiFiles.OpenAiFiles | FileSystem.FileSystem | Path.Path | R
> =>
  JobWorkflow.toLayer((payload) =>
    Effect.gen(function*() {
      const api = yield* BatchApi.BatchApi
      const files = yield* OpenAiFiles.OpenAiFiles
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = payload.workDir ?? path.join(tmpdir(), "effect-openai-batch", payload.jobId)
      const safetyFactor = payload.safetyFactor ?? JobBudget.defaults.safetyFactor
      const plan = JobPlan.plan({ path: payload.input }, {
        endpoint: payload.endpoint,
        dir,
        maxRequests: payload.maxRequestsPerPart,
        maxBytes: payload.maxBytesPerPart,
        budgets: payload.budget,
        safetyFactor,
        partFraction: payload.partFraction,
        estimate: hooks.estimate
      }).pipe(Stream.provideService(FileSystem.FileSystem, fs), Stream.provideService(Path.Path, path))
      const parts = yield* activities.step(
        "plan",
        Schema.Array(Part),
        Effect.map(Stream.runCollect(plan), Chunk.toReadonlyArray)
      )
      // A runner that lacks the parts' files (another machine, a cleaned temporary directory) writes them again.
      const replan = yield* Effect.makeSemaphore(1)
      const ensureFiles = replan.withPermits(1)(
        Effect.gen(function*() {
          for (const part of parts) {
            if (!(yield* Effect.orElseSucceed(fs.exists(part.file), () => false))) return yield* Stream.runDrain(plan)
          }
        })
      )
      const found = yield* activities.step(
        "history",
        History,
        Effect.map(JobBatches.list(api, payload.jobId), (byPart) => [...byPart.entries()])
      )
      const history = new Map(found)
      const env: JobPart.Env<
        BatchError.BatchError,
        R,
        BatchError.BatchError,
        WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance
      > = {
        jobId: payload.jobId,
        endpoint: payload.endpoint,
        metadata: payload.metadata ?? {},
        outputExpiresAfter: undefined,
        api,
        files,
        fs,
        ledger: yield* JobBudget.makeLedger(payload.budget, safetyFactor),
        sink: hooks.sink ?? JobSink.discard,
        emit: hooks.onEvent ?? (() => Effect.void),
        estimate: hooks.estimate ?? ((request) => JobBudget.estimateTokens(request)),
        uploads: yield* Effect.makeSemaphore(2),
        downloads: yield* Effect.makeSemaphore(1),
        maxResends: payload.maxResends ?? 8,
        maxFollowUps: payload.maxFollowUps ?? 2,
        resendBackoff: Duration.millis(payload.resendBackoffMillis ?? Duration.toMillis(Duration.minutes(10))),
        resendWhen: hooks.resendWhen,
        poll: hooks.poll,
        waitTimeout: undefined,
        cancelOnInterrupt: false,
        continueOnFailure: payload.onPartFailure === "continue",
        steps: activities,
        ensureFiles
      }
      for (const part of parts) {
        yield* env.emit(
          JobReport.JobEvent.PartPlanned({
            part: part.index,
            model: part.model,
            requests: part.requests,
            tokens: part.tokens
          })
        )
      }
      const summaries = yield* Effect.forEach(parts, (part) => JobPart.run(part, history.get(part.index) ?? [], env), {
        concurrency: payload.concurrency ?? "unbounded"
      })
      const summary = JobReport.summarize(payload.jobId, summaries)
      yield* env.emit(JobReport.JobEvent.JobDone({ summary }))
      return summary
    }).pipe(
      // What is left is the sink's or the engine's: only the library's errors are journaled.
      Effect.catchAll((error) => BatchError.isBatchError(error) ? Effect.fail(error) : Effect.die(error))
    )
  )

// ---------------------------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------------------------

/**
 * Runs a job on the engine and waits for its summary. The same job id again returns the stored result (or resumes
 * the run, if it is not over).
 *
 * @since 0.2.0
 * @category Running
 */
export const run = (
  payload: typeof Payload.Type
): Effect.Effect<JobReport.JobSummary, BatchError.BatchError, WorkflowEngine.WorkflowEngine> =>
  JobWorkflow.execute(payload)

/**
 * Starts a job and returns its execution id at once; any runner of the engine takes it on.
 *
 * @since 0.2.0
 * @category Running
 */
export const start = (payload: typeof Payload.Type): Effect.Effect<string, never, WorkflowEngine.WorkflowEngine> =>
  JobWorkflow.execute(payload, { discard: true })

/**
 * The execution id of a job (the workflow's, derived from the job id).
 *
 * @since 0.2.0
 * @category Running
 */
export const executionId = (jobId: string): Effect.Effect<string> =>
  JobWorkflow.executionId({ jobId, input: "", endpoint: "/v1/chat/completions" })

/**
 * A job's result, from any process on the engine: `undefined` while it has not ended.
 *
 * @since 0.2.0
 * @category Running
 */
export const result = (jobId: string) => Effect.flatMap(executionId(jobId), JobWorkflow.poll)

/**
 * Stops a job (its batches keep running; cancel them with `BatchWait.cancelBatchAndWait` if you want them gone).
 *
 * @since 0.2.0
 * @category Running
 */
export const interrupt = (jobId: string): Effect.Effect<void, never, WorkflowEngine.WorkflowEngine> =>
  Effect.flatMap(executionId(jobId), JobWorkflow.interrupt)
