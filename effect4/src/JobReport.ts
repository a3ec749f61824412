/**
 * What a job tells while it runs and when it ends: its events (a part planned, uploaded, queued for budget,
 * created, progressing, ended, re-sent; results delivered; batches cancelled and duplicates found; the enqueued
 * estimate against the limit) and its summary (per part: batches and attempts, counts, tokens used and, with a
 * price table, their cost). `JobProgress`
 * folds the events into a view.
 *
 * @since 4.0.0
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"
import * as Batch from "./Batch.js"
import type * as JobBudget from "./JobBudget.js"
import * as Pricing from "./Pricing.js"

// ---------------------------------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------------------------------

/**
 * Tokens used, summed from the batches' `usage` (what the API bills).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const TokenUsage = Schema.Struct({
  input_tokens: Schema.Number,
  cached_tokens: Schema.Number,
  output_tokens: Schema.Number,
  reasoning_tokens: Schema.Number,
  total_tokens: Schema.Number
})

/**
 * @since 4.0.0
 * @category Models
 */
export interface TokenUsage extends Schema.Schema.Type<typeof TokenUsage> {}

/**
 * Why a part's batch was made: the part itself (`full`), or the requests an earlier batch left undone
 * (`missing`).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const AttemptKind = Schema.Literals(["full", "missing"])

/**
 * @since 4.0.0
 * @category Models
 */
export type AttemptKind = typeof AttemptKind.Type

/**
 * One batch of a part: its status is the one it ended with (or had when the job stopped); `errorCode` is
 * `errors.data[0].code` of a failed batch (e.g. `token_limit_exceeded`); `resumed` says an earlier run of the job
 * made it.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const Attempt = Schema.Struct({
  attempt: Schema.Number,
  kind: AttemptKind,
  batchId: Schema.String,
  status: Batch.BatchStatus,
  requests: Schema.Number,
  errorCode: Schema.optional(Schema.String),
  resumed: Schema.Boolean
})

/**
 * @since 4.0.0
 * @category Models
 */
export interface Attempt extends Schema.Schema.Type<typeof Attempt> {}

/**
 * What became of one part. Results count each request once, by its last result; `missing` are requests left
 * without one (by expired or cancelled batches, after every allowed follow-up); `resends` are batches sent again
 * after failing on an enqueued limit, `followUps` batches of the requests an earlier batch left undone; `failure`
 * says why a part failed (with `onPartFailure: "continue"`).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const PartSummary = Schema.Struct({
  part: Schema.Number,
  model: Schema.String,
  requests: Schema.Number,
  status: Schema.Literals(["completed", "partial", "failed"]),
  attempts: Schema.Array(Attempt),
  succeeded: Schema.Number,
  failed: Schema.Number,
  errored: Schema.Number,
  missing: Schema.Number,
  resends: Schema.Number,
  followUps: Schema.Number,
  usage: TokenUsage,
  /**
   * Batches of the part that ran requests but reported no `usage` (the API reports it only on batches created
   * after September 7, 2025): their tokens are not in `usage`, and the part has no `cost` (unknown, not $0).
   */
  usageUnreported: Schema.optional(Schema.Number),
  /**
   * What `usage` cost (with a `pricing` option that prices the part's model, and every batch's usage reported; see
   * `Pricing`).
   */
  cost: Schema.optional(Pricing.Cost),
  failure: Schema.optional(Schema.String)
})

/**
 * @since 4.0.0
 * @category Models
 */
export interface PartSummary extends Schema.Schema.Type<typeof PartSummary> {}

/**
 * The tokens a model used that the price table does not price (`JobSummary.unpriced`).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const UnpricedUsage = Schema.Struct({ model: Schema.String, usage: TokenUsage })

/**
 * @since 4.0.0
 * @category Models
 */
export interface UnpricedUsage extends Schema.Schema.Type<typeof UnpricedUsage> {}

/**
 * What a job did: its parts, and their sums. With a `pricing` option: `cost` is what the priced models' tokens
 * cost (summed as tokens, priced once: exact), and `unpriced` lists the models without a price with their tokens
 * (no cost is guessed for them, so `cost` leaves them out). A part with a batch that reported no usage
 * (`usageUnreported`) has an unknown cost, and `cost` leaves it out too.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const JobSummary = Schema.Struct({
  jobId: Schema.String,
  parts: Schema.Array(PartSummary),
  requests: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  errored: Schema.Number,
  missing: Schema.Number,
  batches: Schema.Number,
  resends: Schema.Number,
  followUps: Schema.Number,
  usage: TokenUsage,
  /** Batches that ran requests but reported no `usage` (see `PartSummary`): `cost` leaves their parts out. */
  usageUnreported: Schema.optional(Schema.Number),
  cost: Schema.optional(Pricing.Cost),
  unpriced: Schema.optional(Schema.Array(UnpricedUsage))
})

/**
 * @since 4.0.0
 * @category Models
 */
export interface JobSummary extends Schema.Schema.Type<typeof JobSummary> {}

// ---------------------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------------------

/**
 * Everything a job reports while it runs, in order for each part.
 *
 * @since 4.0.0
 * @category Models
 */
export type JobEvent = Data.TaggedEnum<{
  /** A part was cut from the input. */
  PartPlanned: { readonly part: number; readonly model: string; readonly requests: number; readonly tokens: number }
  /** A batch input file was uploaded for a part. */
  PartUploaded: { readonly part: number; readonly attempt: number; readonly fileId: string; readonly requests: number }
  /** A part waits for room in its model's enqueued budget. */
  PartQueued: {
    readonly part: number
    readonly attempt: number
    readonly tokens: number
    readonly usage: JobBudget.Usage
  }
  /** A part's batch exists: made now, or found made by an earlier run (`resumed`). */
  PartCreated: {
    readonly part: number
    readonly attempt: number
    readonly kind: AttemptKind
    readonly batch: Batch.Batch
    readonly resumed: boolean
  }
  /** A new snapshot of a part's batch (status or counts changed). */
  PartProgress: { readonly part: number; readonly attempt: number; readonly batch: Batch.Batch }
  /** A part's batch ended; `cost`: what its usage cost (with a `pricing` option that prices the part's model). */
  PartEnded: {
    readonly part: number
    readonly attempt: number
    readonly batch: Batch.Batch
    readonly cost?: Pricing.Cost | undefined
  }
  /** A part is sent again: after failing on an enqueued limit, or for the requests its batch left undone. */
  PartResent: {
    readonly part: number
    readonly attempt: number
    readonly reason: "token_limit_exceeded" | "request_limit_exceeded" | "missing"
    readonly requests: number
  }
  /** A batch's results went to the sink (`skipped`: the sink already had them). */
  ResultsDelivered: {
    readonly part: number
    readonly attempt: number
    readonly batchId: string
    readonly results: number
    readonly skipped: boolean
  }
  /** A part is over. */
  PartDone: { readonly summary: PartSummary }
  /** The input is split: every part is known (`JobProgress` shows "planning" until then). */
  PlanDone: { readonly parts: number; readonly requests: number }
  /**
   * A second batch for one part attempt (the create protocol's documented race): it is cancelled if it may still
   * run (`outcome`), and its results are never delivered; `keptBatchId` is the attempt's batch.
   */
  DuplicateFound: {
    readonly part: number
    readonly attempt: number
    readonly batchId: string
    readonly keptBatchId: string
    readonly outcome: "cancelled" | "ended" | "failed"
  }
  /**
   * A batch of the job was cancelled because the job was interrupted or failed (`outcome`: `cancelled`; `ended`: it
   * had already ended; `failed`: the cancel failed and the batch may keep running: the log has its id).
   */
  BatchCancelled: {
    readonly part: number
    readonly attempt: number
    readonly batchId: string
    readonly outcome: "cancelled" | "ended" | "failed"
  }
  /** A model's estimated in-flight total changed. */
  BudgetChanged: { readonly usage: JobBudget.Usage }
  /** The job is over. */
  JobDone: { readonly summary: JobSummary }
}>

/**
 * Constructors of `JobEvent`s.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const JobEvent = Data.taggedEnum<JobEvent>()
