/**
 * A job of any size: its requests split into parts under the API's limits (`JobPlan`), each part's batch created
 * only when it fits the model's enqueued budget (`JobBudget`), late limit failures re-sent, the requests an
 * expired or cancelled batch left undone sent again, every part's results delivered to a sink as soon as it ends
 * (`JobSink`), and progress told as events (`JobReport`).
 *
 * A job is resumable from the API alone: its batches carry the job id, part, attempt and the part's digest in
 * their metadata, and creates use idempotency keys derived from (job, part, attempt). Run the same job again (same
 * `jobId`, same input and options) in a fresh process after a crash: it finds the batches in flight and the
 * parts already done, waits for the first and re-delivers (or skips, if the sink has them) the results of the
 * second, and creates no batch twice. Limits: it looks back `lookback` (7 days) or `maxPages` pages of 100 batches
 * (200: the organisation's newest 20,000 batches); a create also looks for its key among the batches of the last 24
 * hours.
 *
 * For a job that must survive crashes without anyone re-running it, see the durable entry point
 * (`effect-openai-batch/durable`).
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import * as Batch from "./Batch.js"
import * as BatchApi from "./BatchApi.js"
import * as BatchError from "./BatchError.js"
import type * as BatchLine from "./BatchLine.js"
import type * as BatchSchedule from "./BatchSchedule.js"
import * as JobBatches from "./internal/jobBatches.js"
import * as JobPart from "./internal/jobPart.js"
import * as Params from "./internal/params.js"
import * as JobBudget from "./JobBudget.js"
import * as JobPlan from "./JobPlan.js"
import * as JobReport from "./JobReport.js"
import * as JobSink from "./JobSink.js"
import * as OpenAiFiles from "./OpenAiFiles.js"

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of `run`.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Options<E = never, R = never> {
  /**
   * Names the job: its batches carry it, and a re-run with the same id resumes it. 1 to 64 characters among
   * letters, digits, `.`, `_` and `-` (e.g. `embed-docs-2026-11-30`).
   */
  readonly jobId: string
  /** The endpoint every request targets. */
  readonly endpoint: Batch.KnownEndpoint
  /** Enqueued limits per model (see `JobBudget.Budgets`); none by default. */
  readonly budget?: JobBudget.Budgets | undefined
  /** Default 0.95. */
  readonly safetyFactor?: number | undefined
  /** The largest share of a model's usable budget one part may claim; default 0.25. */
  readonly partFraction?: number | undefined
  /** Estimates a request's enqueued tokens; default `JobBudget.estimateTokens` (3 characters per token). */
  readonly estimate?: JobBudget.Estimator | undefined
  /** Requests per part; default 50,000. */
  readonly maxRequestsPerPart?: number | undefined
  /** Bytes per part file; default 200,000,000. */
  readonly maxBytesPerPart?: number | undefined
  /** Where results go; default `JobSink.discard` (the summary still counts them). */
  readonly sink?: JobSink.Sink<E, R> | undefined
  /** Called with every event, in order per part (e.g. to draw `JobReport.render`). */
  readonly onEvent?: ((event: JobReport.JobEvent) => Effect.Effect<void>) | undefined
  /** How many times a batch failed on an enqueued limit is sent again; default 8. */
  readonly maxResends?: number | undefined
  /** How long a re-send waits when nothing of its model is in flight; default 10 minutes. */
  readonly resendBackoff?: Duration.DurationInput | undefined
  /** How many follow-ups of the requests an expired or cancelled batch left undone; default 2. */
  readonly maxFollowUps?: number | undefined
  /**
   * Results to send again in a follow-up instead of keeping (e.g. `(r) => r._tag === "FailedResponse" &&
   * r.response.status_code >= 500`). By default every line that ran is a result.
   */
  readonly resendWhen?: ((result: BatchLine.BatchResult) => boolean) | undefined
  /** `"fail"` (default): a failed part fails the job. `"continue"`: the other parts go on. */
  readonly onPartFailure?: "fail" | "continue" | undefined
  /** How many parts run at once at most (the budget decides first); default: all. */
  readonly concurrency?: number | undefined
  /** How many uploads run at once; default 2. */
  readonly uploadConcurrency?: number | undefined
  /** The pace of each batch's polls; default `BatchSchedule.poll()`. */
  readonly poll?: BatchSchedule.PollSchedule | undefined
  /** The deadline of each batch's wait; default its `expires_at` plus an hour. */
  readonly waitTimeout?: Duration.DurationInput | undefined
  /** Cancel the job's batches in flight when it is interrupted (bounded: 10 s per batch, in parallel); default `true`. */
  readonly cancelOnInterrupt?: boolean | undefined
  /** More metadata for every batch (at most 10 pairs: the job uses 6). */
  readonly metadata?: Batch.Metadata | undefined
  readonly output_expires_after?: Batch.CreateBatchParams["output_expires_after"]
  /** Where the parts' files are written; default a temporary directory, removed when the job ends. */
  readonly workDir?: string | undefined
  /** How far back a re-run looks for the job's batches; default 7 days. */
  readonly lookback?: Duration.DurationInput | undefined
  /** How many pages of 100 batches a re-run reads at most; default 200. */
  readonly maxPages?: number | undefined
}

/**
 * Defaults of the options.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaults = {
  maxResends: 8,
  resendBackoff: Duration.minutes(10),
  maxFollowUps: 2,
  uploadConcurrency: 2
} as const

/**
 * What a job can fail with, besides its input's and its sink's errors.
 *
 * @since 0.2.0
 * @category Errors
 */
export type JobError = BatchError.JobError

/**
 * What a job needs: the Batch and Files services, and a file system for its parts' files (`NodeContext.layer`
 * from `@effect/platform-node`, say).
 *
 * @since 0.2.0
 * @category Models
 */
export type Requirements = BatchApi.BatchApi | OpenAiFiles.OpenAiFiles | FileSystem.FileSystem | Path.Path

const jobIdPattern = /^[A-Za-z0-9._-]{1,64}$/

const check = (options: Options<unknown, unknown>): BatchError.InvalidParamsError | undefined => {
  const invalid = (field: string, issue: string) => Params.invalid("Job.run", issue, field)
  if (!jobIdPattern.test(options.jobId)) return invalid("jobId", "must be 1 to 64 letters, digits, '.', '_' or '-'")
  const metadata = Object.keys(options.metadata ?? {})
  if (metadata.length > 10) {
    return invalid("metadata", `holds at most 10 pairs for a job (it uses 6), got ${metadata.length}`)
  }
  if (metadata.some((key) => key.startsWith("eob_"))) {
    return invalid("metadata", "keys starting with eob_ are the library's")
  }
  for (const [field, value] of [["maxResends", options.maxResends], ["maxFollowUps", options.maxFollowUps]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      return invalid(field, "must be a whole number >= 0")
    }
  }
  for (
    const [field, value] of [["concurrency", options.concurrency], [
      "uploadConcurrency",
      options.uploadConcurrency
    ]] as const
  ) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      return invalid(field, "must be a whole number >= 1")
    }
  }
  return undefined
}

/** Whether the whole input can be checked before anything is sent (it is in memory, or can be read twice). */
const checkFirst = <E, R>(input: JobPlan.Input<E, R>) => !Predicate.hasProperty(input, Stream.StreamTypeId)

// ---------------------------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------------------------

/**
 * Runs a job to its end and returns its summary. See the module comment; every option is in `Options`.
 *
 * An input that breaks a rule (a duplicate `custom_id` anywhere in the job, a `url` that is not the endpoint, a
 * request larger than a part may be) fails with a typed error naming its line: before anything is uploaded for an
 * array or a file, at the first violation for a stream (nothing is created for the part it falls in).
 *
 * @example
 * ```ts
 * import { Effect, Fiber, Layer, TestClock, TestContext } from "effect"
 * import { BatchLine, BatchSchedule, Job } from "effect-openai-batch"
 * import { BatchApiSimulator, MemoryFileSystem } from "effect-openai-batch/testing"
 *
 * const requests = Array.from({ length: 250 }, (_, i) =>
 *   BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input: `document number ${i}` }))
 *
 * const program = Effect.gen(function*() {
 *   const job = yield* Effect.fork(Job.run(requests, {
 *     jobId: "embed-docs",
 *     endpoint: "/v1/embeddings",
 *     maxRequestsPerPart: 100,
 *     poll: BatchSchedule.every("10 minutes")
 *   }))
 *   // On the simulator under TestClock: move time until the job ends.
 *   while ((yield* Fiber.poll(job))._tag === "None") yield* TestClock.adjust("10 minutes")
 *   return yield* Fiber.join(job)
 * })
 *
 * const TestLive = Layer.merge(BatchApiSimulator.layerBatchApi(), MemoryFileSystem.layer)
 * Effect.runPromise(program.pipe(Effect.provide(TestLive), Effect.provide(TestContext.TestContext))).then((summary) => {
 *   assert.strictEqual(summary.succeeded, 250)
 *   assert.deepStrictEqual(summary.parts.map((part) => part.requests), [100, 100, 50])
 * })
 * ```
 *
 * @since 0.2.0
 * @category Running
 */
export const run: <IE = never, IR = never, E = never, R = never>(
  input: JobPlan.Input<IE, IR>,
  options: Options<E, R>
) => Effect.Effect<JobReport.JobSummary, JobError | IE | E, IR | R | Requirements> = Effect.fn("Job.run")(
  function*<IE, IR, E, R>(input: JobPlan.Input<IE, IR>, options: Options<E, R>) {
    const invalid = check(options)
    if (invalid !== undefined) return yield* Effect.fail(invalid)
    yield* Effect.annotateCurrentSpan("job.id", options.jobId)
    const api = yield* BatchApi.BatchApi
    const files = yield* OpenAiFiles.OpenAiFiles
    const fs = yield* FileSystem.FileSystem
    const dir = options.workDir ?? (yield* Effect.mapError(
      fs.makeTempDirectoryScoped({ prefix: `eob-${options.jobId}-` }),
      (cause) =>
        new BatchError.LocalFileError({
          path: "(temporary directory)",
          cause,
          message: `could not create a work directory: ${String(cause)}`
        })
    ))
    const emit = options.onEvent ?? (() => Effect.void)
    const safetyFactor = options.safetyFactor ?? JobBudget.defaults.safetyFactor
    const ledger = yield* JobBudget.makeLedger(options.budget, safetyFactor)
    const history = yield* JobBatches.list(api, options.jobId, {
      lookback: options.lookback,
      maxPages: options.maxPages
    })
    const env: JobPart.Env<E, R> = {
      jobId: options.jobId,
      endpoint: options.endpoint,
      metadata: options.metadata ?? {},
      outputExpiresAfter: options.output_expires_after,
      api,
      files,
      fs,
      ledger,
      sink: options.sink ?? (JobSink.discard as JobSink.Sink<E, R>),
      emit,
      estimate: options.estimate ?? ((request) => JobBudget.estimateTokens(request)),
      uploads: yield* Effect.makeSemaphore(options.uploadConcurrency ?? defaults.uploadConcurrency),
      downloads: yield* Effect.makeSemaphore(1),
      maxResends: options.maxResends ?? defaults.maxResends,
      maxFollowUps: options.maxFollowUps ?? defaults.maxFollowUps,
      resendBackoff: Duration.decode(options.resendBackoff ?? defaults.resendBackoff),
      resendWhen: options.resendWhen,
      poll: options.poll,
      waitTimeout: options.waitTimeout,
      cancelOnInterrupt: options.cancelOnInterrupt ?? true,
      continueOnFailure: options.onPartFailure === "continue",
      steps: JobPart.inProcess,
      ensureFiles: Effect.void
    }
    const planned = JobPlan.plan(input, {
      endpoint: options.endpoint,
      dir,
      maxRequests: options.maxRequestsPerPart,
      maxBytes: options.maxBytesPerPart,
      budgets: options.budget,
      safetyFactor,
      partFraction: options.partFraction,
      estimate: options.estimate
    }).pipe(
      Stream.tap((part) =>
        emit(
          JobReport.JobEvent.PartPlanned({
            part: part.index,
            model: part.model,
            requests: part.requests,
            tokens: part.tokens
          })
        )
      )
    )
    // An array or a file is checked whole before anything is sent; a stream is checked as it is read.
    const parts = checkFirst(input) ? Stream.fromIterable(yield* Stream.runCollect(planned)) : planned
    const summaries = yield* parts.pipe(
      Stream.mapEffect((part) => JobPart.run(part, history.get(part.index) ?? [], env), {
        concurrency: options.concurrency ?? "unbounded",
        unordered: true
      }),
      Stream.runCollect
    )
    const summary = JobReport.summarize(options.jobId, Chunk.toReadonlyArray(summaries))
    yield* emit(JobReport.JobEvent.JobDone({ summary }))
    return summary
  },
  Effect.scoped
)

/**
 * One result of a job, tagged with where it came from.
 *
 * @since 0.2.0
 * @category Models
 */
export interface TaggedResult extends JobSink.Delivery {
  readonly result: BatchLine.BatchResult
}

/**
 * Runs a job as a `Stream` of its results, tagged with their part, attempt and batch, as each part's batch ends;
 * the stream ends when the job does (its summary goes to `onEvent` as `JobDone`). The results are pulled with
 * backpressure: a slow consumer holds the job's results reading, not its memory.
 *
 * @since 0.2.0
 * @category Running
 */
export const stream = <IE = never, IR = never>(
  input: JobPlan.Input<IE, IR>,
  options: Omit<Options, "sink">
): Stream.Stream<TaggedResult, JobError | IE, IR | Requirements> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(
      Queue.bounded<Take.Take<TaggedResult, JobError | IE>>(16),
      Queue.shutdown
    )
    const sink: JobSink.Sink = {
      deliver: (delivery, results) =>
        Stream.runForEach(Stream.grouped(results, 256), (chunk) =>
          Queue.offer(queue, Take.chunk(Chunk.map(chunk, (result): TaggedResult => ({ ...delivery, result })))))
    }
    yield* run(input, { ...options, sink }).pipe(
      Effect.exit,
      Effect.flatMap((exit) =>
        Queue.offer(queue, exit._tag === "Success" ? Take.end : Take.failCause(exit.cause))
      ),
      Effect.forkScoped
    )
    return Stream.flattenTake(Stream.fromQueue(queue))
  }))

// ---------------------------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------------------------

/**
 * A job as the API knows it: the batches made for each part, newest attempt last.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Status {
  readonly jobId: string
  readonly parts: ReadonlyArray<{
    readonly part: number
    readonly batches: ReadonlyArray<
      { readonly attempt: number; readonly kind: JobReport.AttemptKind; readonly batch: Batch.Batch }
    >
  }>
  /** Batches not yet ended. */
  readonly inFlight: number
}

/**
 * How far back `status` looks for a job's batches: `lookback` (default 7 days), `maxPages` pages of 100 (default 200).
 *
 * @since 0.2.0
 * @category Models
 */
export interface StatusOptions {
  readonly lookback?: Duration.DurationInput | undefined
  readonly maxPages?: number | undefined
}

/**
 * Reads a job's status from the API alone, from any process: its batches, by part. Parts not created yet are
 * unknown to the API, so they are not listed. See the module comment for how far back it looks.
 *
 * @since 0.2.0
 * @category Status
 */
export const status: (
  jobId: string,
  options?: StatusOptions
) => Effect.Effect<Status, BatchError.RequestError | BatchError.InvalidParamsError, BatchApi.BatchApi> = Effect.fn(
  "Job.status"
)(
  function*(jobId: string, options: StatusOptions = {}) {
    yield* Effect.annotateCurrentSpan("job.id", jobId)
    if (!jobIdPattern.test(jobId)) {
      return yield* Effect.fail(
        Params.invalid("Job.status", "must be 1 to 64 letters, digits, '.', '_' or '-'", "jobId")
      )
    }
    const byPart = yield* JobBatches.list(yield* BatchApi.BatchApi, jobId, options)
    const parts = [...byPart.entries()].sort(([a], [b]) => a - b).map(([part, batches]) => ({
      part,
      batches: batches.map(([tag, batch]) => ({ attempt: tag.attempt, kind: tag.kind, batch }))
    }))
    const inFlight = parts.reduce((n, part) => n + part.batches.filter((b) => !Batch.isTerminal(b.batch)).length, 0)
    return { jobId, parts, inFlight }
  }
)
