/**
 * The engine that takes requests to results: a job of any size split into parts under the API's limits
 * (`JobPlan`), each part's batch created only when it fits its model's enqueued limit on the shared, adaptive
 * ledger (`JobBudget`), late limit failures re-sent once room frees up, the requests an expired or cancelled batch
 * left undone sent again, every part's results delivered to a sink as soon as it ends (`JobSink`), and progress
 * told as events (`JobReport`, `JobProgress`).
 *
 * Two front doors: `run` (and `stream`, `events`) for a job of any size, and `runBatch` for one batch whose results
 * come back joined to their requests in memory.
 *
 * Nothing is left billing: when a job is interrupted or fails, every batch it created or may have created (a
 * create in flight is looked up by its marker) is cancelled, each cancel bounded and reported; when it succeeds,
 * a last look cancels any duplicate batch.
 *
 * A job is resumable from the API alone: its batches carry the job id, part, attempt and the part's digest in
 * their metadata, and creates use idempotency keys derived from (job, part, attempt). Run the same job again (same
 * `jobId`, same input and options) in a fresh process after a crash: it finds the batches in flight and the
 * parts already done, waits for the first and re-delivers (or skips, if the sink has them) the results of the
 * second, adopts a batch a crashed create left behind, and creates no batch twice. Limits: it looks back
 * `lookback` (7 days) or `maxPages` pages of 100 batches (200: the organisation's newest 20,000 batches).
 *
 * For a job that must survive crashes without anyone re-running it, see the durable entry point
 * (`effect-openai-batch/durable`).
 *
 * @since 0.2.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import * as Batch from "./Batch.js"
import * as BatchApi from "./BatchApi.js"
import type * as BatchError from "./BatchError.js"
import type * as BatchLine from "./BatchLine.js"
import type * as BatchSchedule from "./BatchSchedule.js"
import * as Engine from "./internal/job/engine.js"
import * as History from "./internal/job/history.js"
import * as OneBatch from "./internal/job/oneBatch.js"
import * as JobOptions from "./internal/job/options.js"
import * as Params from "./internal/params.js"
import type * as JobBudget from "./JobBudget.js"
import type * as JobPlan from "./JobPlan.js"
import type * as JobReport from "./JobReport.js"
import * as JobSink from "./JobSink.js"
import type * as OpenAiFiles from "./OpenAiFiles.js"
import type * as OpenAiUploads from "./OpenAiUploads.js"
import type * as Pricing from "./Pricing.js"
import type * as TokenEstimate from "./TokenEstimate.js"

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

/**
 * How a job counts against the enqueued limits (see `JobBudget`).
 *
 * @since 0.3.0
 * @category Models
 */
export interface BudgetOptions {
  /**
   * Your organisation's enqueued limits per model (the "batch queue limit" column of the limits page): a ceiling.
   * The ledger learns less from the API's late failures when other jobs or programs use the same limit.
   */
  readonly limits?: JobBudget.Budgets | undefined
  /** The share of a limit the job may use; default 0.95. */
  readonly safetyFactor?: number | undefined
  /** Estimates a request's enqueued tokens; default `TokenEstimate.estimateTokens`. */
  readonly estimate?: TokenEstimate.Estimator | undefined
}

/**
 * How the input is split into parts (see `JobPlan`).
 *
 * @since 0.3.0
 * @category Models
 */
export interface PlanOptions {
  /** Requests per part; default 50,000 (the API's limit). */
  readonly maxRequestsPerPart?: number | undefined
  /** Bytes per part file; default 200,000,000 (the API's limit). */
  readonly maxBytesPerPart?: number | undefined
  /**
   * Embedding inputs per part of an `/v1/embeddings` job (an array input counts each item, an array of token arrays
   * each inner array); default 50,000 (the API's limit per batch). A request with more is refused before anything
   * is uploaded (`RequestTooLargeError`, `limit: "inputs"`).
   */
  readonly maxInputsPerPart?: number | undefined
  /** The largest share of a model's usable budget one part may claim; default 0.25. */
  readonly partFraction?: number | undefined
  /**
   * Where parts' files go: `"memory"`, `"files"` (a work directory), or `"auto"` (default): memory for an array of
   * up to 50,000 requests, files otherwise.
   */
  readonly spool?: "auto" | "memory" | "files" | undefined
  /** The work directory for `"files"`; default a temporary directory, removed when the job ends. */
  readonly workDir?: string | undefined
}

/**
 * Where results go.
 *
 * @since 0.3.0
 * @category Models
 */
export interface DeliveryOptions<E = never, R = never> {
  /** Default `JobSink.discard` (the summary still counts the results). */
  readonly sink?: JobSink.JobSink<E, R> | undefined
  /**
   * Results to send again in a follow-up instead of keeping (e.g. `(r) => r._tag === "FailedResponse" &&
   * r.response.status_code >= 500`). By default every line that ran is a result.
   */
  readonly resendWhen?: ((result: BatchLine.BatchResult) => boolean) | undefined
  /** What a malformed result line does: `"fail"` (default) fails the job; `"skip"` drops it and tells `onMalformed`. */
  readonly malformed?: "fail" | "skip" | undefined
  readonly onMalformed?: ((error: BatchError.MalformedLineError) => Effect.Effect<void>) | undefined
}

/**
 * How a job retries, waits and stops.
 *
 * @since 0.3.0
 * @category Models
 */
export interface PolicyOptions {
  /** How many times a batch failed on an enqueued limit is sent again; default 8. */
  readonly maxResends?: number | undefined
  /**
   * How long a re-send waits when nothing of its model is in flight (with batches in flight, it waits for one to
   * end instead); default 10 minutes.
   */
  readonly resendBackoff?: Duration.DurationInput | undefined
  /**
   * How long a part's upload or create goes on through an API that fails for a while (5xx, 429, a dropped
   * connection), trying again after the request policy (`BatchSchedule.withRetry`) gave up, backing off from 30
   * seconds to 5 minutes; default 30 minutes. A long job should not fail, and cancel its other parts' batches,
   * because of a few minutes' outage; a create sent again finds the batch an earlier attempt made. `0`: fail when
   * the request policy gives up.
   */
  readonly patience?: Duration.DurationInput | undefined
  /**
   * How many follow-ups of the requests an expired batch left undone; default 2. A cancelled batch's follow-up is
   * not counted (an interrupted run cancels its batches on exit; its re-run sends what they left undone).
   */
  readonly maxFollowUps?: number | undefined
  /** `"fail"` (default): a failed part fails the job. `"continue"`: the other parts go on. */
  readonly onPartFailure?: "fail" | "continue" | undefined
  /** How many parts run at once at most (the budget decides first); default: all. */
  readonly concurrency?: number | undefined
  /** How many uploads run at once; default 2. */
  readonly uploadConcurrency?: number | undefined
  /**
   * A part's file larger than this many bytes goes through the Uploads API (`OpenAiUploads.uploadStream`: parts of
   * 64 MiB, each retried on its own, so a reset costs one part, not the file) instead of one Files request; default
   * 64 MiB (one Uploads part: below it, one request does as well). `0`: always; `Infinity`: never.
   */
  readonly uploadsApiAbove?: number | undefined
  /** The pace of each batch's polls; default `BatchSchedule.poll()`. */
  readonly poll?: BatchSchedule.PollSchedule | undefined
  /** The deadline of each batch's wait; default its `expires_at` plus an hour. */
  readonly waitTimeout?: Duration.DurationInput | undefined
  /**
   * Cancel every batch of the job that may still run when the job is interrupted or fails (each cancel bounded:
   * 10 s, in parallel, reported as `BatchCancelled` events); default `true`.
   */
  readonly cancelOnExit?: boolean | undefined
  /** How far back a re-run looks for the job's batches; default 7 days. */
  readonly lookback?: Duration.DurationInput | undefined
  /** How many pages of 100 batches a re-run reads at most; default 200. */
  readonly maxPages?: number | undefined
}

/**
 * What every batch and input file of the job is created with (wire names, as the API has them).
 *
 * @since 0.3.0
 * @category Models
 */
export interface BatchOptions {
  /** More metadata for every batch (at most 10 pairs: the job uses 6). */
  readonly metadata?: Batch.Metadata | undefined
  readonly output_expires_after?: Batch.CreateBatchParams["output_expires_after"]
  /** The input files' `expires_after`; default 14 days after upload; `null`: they never expire. */
  readonly file_expires_after?: OpenAiFiles.FileExpiresAfter | null | undefined
}

/**
 * Options of `run`, by concern.
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
  readonly budget?: BudgetOptions | undefined
  readonly plan?: PlanOptions | undefined
  readonly delivery?: DeliveryOptions<E, R> | undefined
  readonly policy?: PolicyOptions | undefined
  readonly batches?: BatchOptions | undefined
  /**
   * Your prices per model (USD per 1M tokens) and the batch discount (default 50%): each batch's, part's and the
   * job's cost in the events and the summary, unpriced models listed with their tokens (see `Pricing`).
   */
  readonly pricing?: Pricing.Pricing | undefined
  /** Called with every event, in order per part (e.g. `JobProgress.layer`'s handler, or your own). */
  readonly onEvent?: ((event: JobReport.JobEvent) => Effect.Effect<void>) | undefined
}

/**
 * Defaults of the options.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaults = JobOptions.defaults

/**
 * What a job can fail with, besides its input's and its sink's errors.
 *
 * @since 0.2.0
 * @category Errors
 */
export type JobError = BatchError.JobError

/**
 * What a job needs: the Batch, Files and Uploads services and the shared ledger (the client layers provide them, e.g.
 * `BatchClient.layerFromEnv`), and a file system for its parts' files (`NodeContext.layer` from
 * `@effect/platform-node`, say).
 *
 * @since 0.2.0
 * @category Models
 */
export type Requirements =
  | BatchApi.BatchApi
  | OpenAiFiles.OpenAiFiles
  | OpenAiUploads.OpenAiUploads
  | JobBudget.Ledger
  | FileSystem.FileSystem
  | Path.Path

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
 *     plan: { maxRequestsPerPart: 100 },
 *     policy: { poll: BatchSchedule.every("10 minutes") }
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
export const run = <IE = never, IR = never, E = never, R = never>(
  input: JobPlan.Input<IE, IR>,
  options: Options<E, R>
): Effect.Effect<JobReport.JobSummary, JobError | IE | E, IR | R | Requirements> =>
  Engine.runInput("Job.run", input, options)

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
 * backpressure: a slow consumer holds the job's results reading, not its memory. Ending the stream early
 * interrupts the job (and cancels its batches, unless `policy.cancelOnExit` is `false`). A re-run streams every
 * ended batch's results again, those consumed before included (`run` with a sink's `stored` skips them).
 *
 * @since 0.2.0
 * @category Running
 */
export const stream = <IE = never, IR = never>(
  input: JobPlan.Input<IE, IR>,
  options: Omit<Options, "delivery"> & { readonly delivery?: Omit<DeliveryOptions, "sink"> | undefined }
): Stream.Stream<TaggedResult, JobError | IE, IR | Requirements> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(
      Queue.bounded<Take.Take<TaggedResult, JobError | IE>>(16),
      Queue.shutdown
    )
    const sink = JobSink.forEach((result, delivery) => Queue.offer(queue, Take.of({ ...delivery, result })))
    yield* Engine.runInput("Job.stream", input, { ...options, delivery: { ...options.delivery, sink } }).pipe(
      Effect.exit,
      Effect.flatMap((exit) => Queue.offer(queue, exit._tag === "Success" ? Take.end : Take.failCause(exit.cause))),
      Effect.forkScoped
    )
    return Stream.flattenTake(Stream.fromQueue(queue))
  }))

/**
 * Runs a job as the `Stream` of its events (`JobReport.JobEvent`), ending with `JobDone`; the job's failure fails
 * the stream. Fold it with `JobProgress` for a view, or into anything you keep.
 *
 * @since 0.3.0
 * @category Running
 */
export const events = <IE = never, IR = never, E = never, R = never>(
  input: JobPlan.Input<IE, IR>,
  options: Omit<Options<E, R>, "onEvent">
): Stream.Stream<JobReport.JobEvent, JobError | IE | E, IR | R | Requirements> =>
  Stream.asyncScoped<JobReport.JobEvent, JobError | IE | E, IR | R | Requirements>((emit) =>
    Engine.runInput("Job.events", input, { ...options, onEvent: (event) => Effect.promise(() => emit.single(event)) })
      .pipe(
        Effect.exit,
        Effect.flatMap((exit) => Effect.promise(() => exit._tag === "Success" ? emit.end() : emit.halt(exit.cause))),
        Effect.forkScoped
      )
  )

// ---------------------------------------------------------------------------------------------------------------
// One batch
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of `runBatch`.
 *
 * @since 0.3.0
 * @category Models
 */
export type RunBatchOptions = OneBatch.Options

/**
 * The outcome of `runBatch`: the final batch (completed, or expired/cancelled with partial results), its input
 * file's id, and the results joined to the requests.
 *
 * @since 0.3.0
 * @category Models
 */
export type BatchRun = OneBatch.BatchRun

/**
 * What `runBatch` can fail with.
 *
 * @since 0.3.0
 * @category Errors
 */
export type RunBatchError = OneBatch.RunError

/**
 * Runs one batch from requests to joined results: the job engine with one part, its requests spooled in memory
 * (no file system needed), no re-sends and no follow-ups. An expired or cancelled batch is not an error: its
 * partial results are returned and `batch.status` tells; a `failed` batch fails with `BatchFailedError`. If the
 * wait is interrupted or reaches its deadline, the batch is cancelled (unless `cancelOnInterrupt: false`).
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { BatchLine, Job } from "effect-openai-batch"
 *
 * const texts = ["a first document", "a second one"]
 * const requests = texts.map((input, i) => BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input }))
 *
 * const program = Effect.gen(function*() {
 *   const run = yield* Job.runBatch(requests, {
 *     endpoint: "/v1/embeddings",
 *     onProgress: (batch) => Console.log(`${batch.status} ${batch.request_counts?.completed ?? 0}/${texts.length}`),
 *     timeout: "26 hours"
 *   })
 *   for (const { input, result } of run.matched) { // in input order, joined by custom_id
 *     if (result._tag === "Succeeded") yield* Console.log(input.custom_id, result.response.status_code)
 *   }
 *   return run.missing.length // requests with no result (a cancelled or expired batch)
 * })
 * ```
 *
 * @since 0.3.0
 * @category Running
 */
export const runBatch: <E = never, R = never>(
  requests: Iterable<BatchLine.BatchRequestInput> | Stream.Stream<BatchLine.BatchRequestInput, E, R>,
  options: RunBatchOptions
) => Effect.Effect<BatchRun, RunBatchError | E, R | Engine.Services> = OneBatch.run

// ---------------------------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------------------------

/**
 * One batch of a job as the API knows it. `duplicates` are other batches made for the same attempt (the create
 * protocol's documented race): a job cancels them and never delivers their results.
 *
 * @since 0.2.0
 * @category Models
 */
export interface StatusBatch {
  readonly attempt: number
  readonly kind: JobReport.AttemptKind
  readonly batch: Batch.Batch
  readonly duplicates: ReadonlyArray<Batch.Batch>
}

/**
 * A job as the API knows it: the batches made for each part, newest attempt last.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Status {
  readonly jobId: string
  readonly parts: ReadonlyArray<{ readonly part: number; readonly batches: ReadonlyArray<StatusBatch> }>
  /** Batches not yet ended (duplicates included). */
  readonly inFlight: number
  /** Duplicate batches found. */
  readonly duplicates: number
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
    const issue = JobOptions.jobIdIssue(jobId)
    if (issue !== undefined) return yield* Effect.fail(Params.invalid("Job.status", issue, "jobId"))
    const byPart = yield* History.list(yield* BatchApi.BatchApi, jobId, options)
    const parts = [...byPart.entries()].sort(([a], [b]) => a - b).map(([part, found]) => ({
      part,
      batches: found.map(({ batch, duplicates, tag }) => ({ attempt: tag.attempt, kind: tag.kind, batch, duplicates }))
    }))
    let inFlight = 0
    let duplicates = 0
    for (const part of parts) {
      for (const { batch, duplicates: extra } of part.batches) {
        inFlight += [batch, ...extra].filter((b) => !Batch.isTerminal(b)).length
        duplicates += extra.length
      }
    }
    return { jobId, parts, inFlight, duplicates }
  }
)
