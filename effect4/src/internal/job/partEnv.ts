/**
 * What a part's runner (`./part.ts`) works with: how its steps are run (in-process, or journaled by a workflow
 * engine), and what every part of a job shares.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as Semaphore from "effect/Semaphore"
import type * as Batch from "../../Batch.js"
import type * as BatchApi from "../../BatchApi.js"
import type * as BatchError from "../../BatchError.js"
import type * as BatchLine from "../../BatchLine.js"
import type * as BatchSchedule from "../../BatchSchedule.js"
import type * as JobBudget from "../../JobBudget.js"
import type * as JobReport from "../../JobReport.js"
import type * as JobSink from "../../JobSink.js"
import type * as OpenAiFiles from "../../OpenAiFiles.js"
import type * as OpenAiUploads from "../../OpenAiUploads.js"
import type * as Pricing from "../../Pricing.js"
import type * as TokenEstimate from "../../TokenEstimate.js"
import type * as Machine from "./machine.js"
import type * as Spool from "./spool.js"
import type * as Tracker from "./tracker.js"

/**
 * How the steps of a part are run: in-process, or journaled by a workflow engine (which may fail a step with any
 * `X` and needs `RX`).
 *
 * @internal
 */
export interface Steps<X = never, RX = never> {
  /**
   * Runs `effect` as a step named `name` whose result `success` encodes (replayed from a journal if it has one). A
   * journal can keep the library's errors (`BatchError`); it makes any other failure a defect.
   */
  readonly step: <A, I, E, R>(
    name: string,
    success: Schema.Codec<A, I>,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | X, R | RX>
  /** Takes `claim` from the ledger, waiting for room; on a replay, takes it at once. */
  readonly admit: (
    name: string,
    ledger: JobBudget.LedgerService,
    claim: JobBudget.Claim,
    ceiling: JobBudget.Ceiling
  ) => Effect.Effect<JobBudget.Reservation, X, RX>
  /** A backoff (durable on an engine). */
  readonly sleep: (name: string, duration: Duration.Duration) => Effect.Effect<void, X, RX>
  /** How long one waiting step may last (`Infinity`: one step waits to the end). */
  readonly round: Duration.Duration
  /**
   * Runs `cancel` with the created batch if the job fails after the create (a workflow's compensation). In-process
   * it does nothing: the job's tracker cancels what may still run when the job ends.
   */
  readonly compensate: <E, R>(
    create: Effect.Effect<Batch.Batch, E, R>,
    cancel: (batch: Batch.Batch) => Effect.Effect<void>
  ) => Effect.Effect<Batch.Batch, E, R | RX>
}

/** Steps in-process: each runs as it is. @internal */
export const inProcess: Steps = {
  step: (_name, _success, effect) => effect,
  admit: (_name, ledger, claim, ceiling) => ledger.reserve(claim, ceiling),
  sleep: (_name, duration) => Effect.sleep(duration),
  round: Duration.infinity,
  compensate: (create) => create
}

/** What every part of a job shares. @internal */
export interface Env<E, R, X = never, RX = never> {
  /** The public operation that runs the job (`Job.run`, `DurableJob.run`, ...), named by its errors. */
  readonly operation: string
  readonly jobId: string
  readonly endpoint: Batch.KnownEndpoint
  readonly metadata: Batch.Metadata
  readonly outputExpiresAfter: Batch.CreateBatchParams["output_expires_after"]
  readonly fileExpiresAfter: OpenAiFiles.FileExpiresAfter | undefined
  readonly api: BatchApi.Service
  readonly files: OpenAiFiles.Service
  /** The Uploads API: a part's file larger than `uploadsAbove` bytes goes through it, in parts. */
  readonly uploadsApi: OpenAiUploads.Service
  /** The size (bytes) above which a part's file is sent through the Uploads API instead of one Files request. */
  readonly uploadsAbove: number
  readonly spool: Spool.Spool
  readonly ledger: JobBudget.LedgerService
  /** The usable ceilings of a model (the job's budget times its safety factor). */
  readonly ceiling: (model: string) => JobBudget.Ceiling
  readonly safetyFactor: number
  readonly tracker: Tracker.Tracker
  readonly sink: JobSink.JobSink<E, R>
  readonly emit: (event: JobReport.JobEvent) => Effect.Effect<void>
  readonly estimate: TokenEstimate.Estimator
  readonly uploads: Semaphore.Semaphore
  /**
   * Reading results is CPU work on the one JavaScript thread: several parts read at once go no faster, and hold more
   * memory in transit. Deliveries take turns.
   */
  readonly downloads: Semaphore.Semaphore
  readonly policy: Machine.Policy
  readonly resendBackoff: Duration.Duration
  /** How long an upload or a create goes on through failures that are not permanent (patience.ts). */
  readonly patience: Duration.Duration
  readonly resendWhen: ((result: BatchLine.BatchResult) => boolean) | undefined
  /** What a malformed result line does (see `BatchResults.decode`). */
  readonly malformed: "fail" | "skip"
  readonly onMalformed: ((error: BatchError.MalformedLineError) => Effect.Effect<void>) | undefined
  readonly poll: BatchSchedule.PollSchedule | undefined
  readonly waitTimeout: Duration.Input | undefined
  /** A failed part ends with a failed summary instead of failing the job. */
  readonly continueOnFailure: boolean
  /** The price table of the costs in events and summaries; none: tokens only. */
  readonly pricing?: Pricing.Pricing | undefined
  readonly steps: Steps<X, RX>
  /** Makes sure the part files exist before they are read (a durable job's runner may not have them). */
  readonly ensureFiles: Effect.Effect<void, BatchError.PlanError>
  /**
   * Creates use keys derived from (job, part, attempt), so a re-run finds its batches (default). A job id that is
   * new by construction (a one-batch run without a key) has nothing to find: its creates use fresh keys.
   */
  readonly derivedKeys?: boolean | undefined
}
