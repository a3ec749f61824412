/**
 * What a job tells while it runs and when it ends: its events (a part planned, uploaded, queued for budget,
 * created, progressing, ended, re-sent; results delivered; the enqueued estimate against the budget), its summary
 * (per part: batches and attempts, counts, tokens used), and a progress view built from the events that a
 * terminal can draw (`progress`, `render`).
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"
import * as Batch from "./Batch.js"
import type * as JobBudget from "./JobBudget.js"

// ---------------------------------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------------------------------

/**
 * Tokens used, summed from the batches' `usage` (what the API bills).
 *
 * @since 0.2.0
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
 * @since 0.2.0
 * @category Models
 */
export interface TokenUsage extends Schema.Schema.Type<typeof TokenUsage> {}

/**
 * Nothing used yet.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const noUsage: TokenUsage = {
  input_tokens: 0,
  cached_tokens: 0,
  output_tokens: 0,
  reasoning_tokens: 0,
  total_tokens: 0
}

/**
 * The sum of two usages.
 *
 * @since 0.2.0
 * @category Combinators
 */
export const addUsage = (a: TokenUsage, b: TokenUsage): TokenUsage => ({
  input_tokens: a.input_tokens + b.input_tokens,
  cached_tokens: a.cached_tokens + b.cached_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
  reasoning_tokens: a.reasoning_tokens + b.reasoning_tokens,
  total_tokens: a.total_tokens + b.total_tokens
})

/**
 * A batch's usage (zero when the API did not report it).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const usageOf = (batch: Batch.Batch): TokenUsage =>
  batch.usage === undefined ? noUsage : {
    input_tokens: batch.usage.input_tokens,
    cached_tokens: batch.usage.input_tokens_details.cached_tokens,
    output_tokens: batch.usage.output_tokens,
    reasoning_tokens: batch.usage.output_tokens_details.reasoning_tokens,
    total_tokens: batch.usage.total_tokens
  }

/**
 * Why a part's batch was made: the part itself (`full`), or the requests an earlier batch left undone
 * (`missing`).
 *
 * @since 0.2.0
 * @category Schemas
 */
export const AttemptKind = Schema.Literal("full", "missing")

/**
 * @since 0.2.0
 * @category Models
 */
export type AttemptKind = typeof AttemptKind.Type

/**
 * One batch of a part: its status is the one it ended with (or had when the job stopped); `errorCode` is
 * `errors.data[0].code` of a failed batch (e.g. `token_limit_exceeded`); `resumed` says an earlier run of the job
 * made it.
 *
 * @since 0.2.0
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
 * @since 0.2.0
 * @category Models
 */
export interface Attempt extends Schema.Schema.Type<typeof Attempt> {}

/**
 * What became of one part. Results count each request once, by its last result; `missing` are requests left
 * without one (by expired or cancelled batches, after every allowed follow-up); `resends` are batches sent again
 * after failing on an enqueued limit, `followUps` batches of the requests an earlier batch left undone; `failure`
 * says why a part failed (with `onPartFailure: "continue"`).
 *
 * @since 0.2.0
 * @category Schemas
 */
export const PartSummary = Schema.Struct({
  part: Schema.Number,
  model: Schema.String,
  requests: Schema.Number,
  status: Schema.Literal("completed", "partial", "failed"),
  attempts: Schema.Array(Attempt),
  succeeded: Schema.Number,
  failed: Schema.Number,
  errored: Schema.Number,
  missing: Schema.Number,
  resends: Schema.Number,
  followUps: Schema.Number,
  usage: TokenUsage,
  failure: Schema.optional(Schema.String)
})

/**
 * @since 0.2.0
 * @category Models
 */
export interface PartSummary extends Schema.Schema.Type<typeof PartSummary> {}

/**
 * What a job did: its parts, and their sums.
 *
 * @since 0.2.0
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
  usage: TokenUsage
})

/**
 * @since 0.2.0
 * @category Models
 */
export interface JobSummary extends Schema.Schema.Type<typeof JobSummary> {}

/**
 * Sums part summaries into the job's.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const summarize = (jobId: string, parts: ReadonlyArray<PartSummary>): JobSummary => {
  const sorted = [...parts].sort((a, b) => a.part - b.part)
  const sum = (f: (part: PartSummary) => number) => sorted.reduce((n, part) => n + f(part), 0)
  return {
    jobId,
    parts: sorted,
    requests: sum((p) => p.requests),
    succeeded: sum((p) => p.succeeded),
    failed: sum((p) => p.failed),
    errored: sum((p) => p.errored),
    missing: sum((p) => p.missing),
    batches: sum((p) => p.attempts.length),
    resends: sum((p) => p.resends),
    followUps: sum((p) => p.followUps),
    usage: sorted.reduce((usage, part) => addUsage(usage, part.usage), noUsage)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------------------

/**
 * Everything a job reports while it runs, in order for each part.
 *
 * @since 0.2.0
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
  /** A part's batch ended. */
  PartEnded: { readonly part: number; readonly attempt: number; readonly batch: Batch.Batch }
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
 * @since 0.2.0
 * @category Constructors
 */
export const JobEvent = Data.taggedEnum<JobEvent>()

// ---------------------------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------------------------

/**
 * One part as the progress view sees it.
 *
 * @since 0.2.0
 * @category Models
 */
export interface PartProgress {
  readonly part: number
  readonly model: string
  readonly requests: number
  readonly attempt: number
  readonly state: "planned" | "uploaded" | "queued" | "running" | "done" | "failed"
  readonly status?: Batch.BatchStatus | undefined
  readonly completed: number
  readonly failed: number
}

/**
 * The state of a job drawn from its events: parts, requests done against the total known so far, and each model's
 * enqueued estimate against its budget.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Progress {
  readonly parts: ReadonlyMap<number, PartProgress>
  readonly budgets: ReadonlyMap<string, JobBudget.Usage>
  readonly requestsTotal: number
  readonly requestsDone: number
  readonly done: boolean
}

/**
 * Nothing happened yet.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const initialProgress: Progress = {
  parts: new Map(),
  budgets: new Map(),
  requestsTotal: 0,
  requestsDone: 0,
  done: false
}

const withPart = (progress: Progress, part: number, f: (current: PartProgress) => PartProgress): Progress => {
  const current = progress.parts.get(part)
  if (current === undefined) return progress
  const next = f(current)
  const parts = new Map(progress.parts).set(part, next)
  const done = [...parts.values()].reduce((n, p) => n + (p.state === "done" ? p.requests : p.completed + p.failed), 0)
  return { ...progress, parts, requestsDone: Math.min(done, progress.requestsTotal) }
}

/**
 * Folds one event into the progress.
 *
 * @since 0.2.0
 * @category Progress
 */
export const progress = (state: Progress, event: JobEvent): Progress => {
  switch (event._tag) {
    case "PartPlanned":
      return {
        ...state,
        requestsTotal: state.requestsTotal + event.requests,
        parts: new Map(state.parts).set(event.part, {
          part: event.part,
          model: event.model,
          requests: event.requests,
          attempt: 0,
          state: "planned",
          completed: 0,
          failed: 0
        })
      }
    case "PartUploaded":
      return withPart(state, event.part, (p) => ({ ...p, state: p.state === "planned" ? "uploaded" : p.state }))
    case "PartQueued":
      return withPart(
        { ...state, budgets: new Map(state.budgets).set(event.usage.model, event.usage) },
        event.part,
        (p) => ({ ...p, attempt: event.attempt, state: "queued" })
      )
    case "PartCreated":
    case "PartProgress":
    case "PartEnded": {
      const counts = event.batch.request_counts
      return withPart(state, event.part, (p) => ({
        ...p,
        attempt: event.attempt,
        state: "running",
        status: event.batch.status,
        // Follow-ups add to what earlier batches of the part did.
        completed: counts === undefined ? p.completed : Math.max(p.completed, counts.completed),
        failed: counts === undefined ? p.failed : Math.max(p.failed, counts.failed)
      }))
    }
    case "PartDone":
      return withPart(state, event.summary.part, (p) => ({
        ...p,
        state: event.summary.status === "failed" ? "failed" : "done",
        completed: event.summary.succeeded,
        failed: event.summary.failed + event.summary.errored
      }))
    case "BudgetChanged":
      return { ...state, budgets: new Map(state.budgets).set(event.usage.model, event.usage) }
    case "JobDone":
      return { ...state, done: true }
    default:
      return state
  }
}

const bar = (done: number, total: number, width = 20): string => {
  const filled = total === 0 ? 0 : Math.round((done / total) * width)
  return `[${"#".repeat(Math.min(width, filled))}${".".repeat(Math.max(0, width - filled))}]`
}

const count = (n: number) => (Number.isFinite(n) ? n.toLocaleString("en-US") : "∞")

/**
 * The progress as text lines: one for the job, one per model's budget, one per part (most recent first when there
 * are more than `maxParts`).
 *
 * @since 0.2.0
 * @category Progress
 */
export const render = (state: Progress, maxParts = 12): ReadonlyArray<string> => {
  const lines = [
    `job ${bar(state.requestsDone, state.requestsTotal)} ${count(state.requestsDone)}/${
      count(state.requestsTotal)
    } requests${state.done ? " — done" : ""}`
  ]
  for (const usage of state.budgets.values()) {
    const share = Number.isFinite(usage.tokenBudget) && usage.tokenBudget > 0
      ? ` (${Math.round((usage.tokens / usage.tokenBudget) * 100)}%)`
      : ""
    lines.push(
      `  ${usage.model}: ${count(usage.tokens)}/${
        count(usage.tokenBudget)
      } enqueued tokens${share}, ${usage.waiting} waiting`
    )
  }
  const parts = [...state.parts.values()].sort((a, b) => a.part - b.part)
  const active = parts.filter((p) => p.state !== "done" && p.state !== "planned")
  const shown = parts.length <= maxParts
    ? parts
    : [...active, ...parts.filter((p) => p.state === "done").slice(-2)].slice(0, maxParts)
  for (const p of shown) {
    lines.push(
      `  part ${String(p.part).padStart(3)} ${bar(p.completed + p.failed, p.requests, 12)} ${p.state.padEnd(8)} ${
        p.status ?? ""
      }${p.attempt > 1 ? ` (attempt ${p.attempt})` : ""}`
    )
  }
  if (shown.length < parts.length) lines.push(`  … ${parts.length - shown.length} more parts`)
  return lines
}
