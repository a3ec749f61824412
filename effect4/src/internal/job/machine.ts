/**
 * One part of a job as a fold: `(state, event) → (state, decision)`, over immutable state, with no effects. The
 * runner (`./part.ts`) carries out each decision (upload, create, await, deliver) and feeds back what happened; a
 * test can feed events by hand.
 *
 * The rules, the same in every run (so a re-run that replays the batches an earlier run made decides the same):
 * - A part starts with an upload of its whole file, then a create.
 * - A `completed`, `expired` or `cancelled` batch gives its results (delivered), then a follow-up of the requests
 *   still without one, up to `maxFollowUps`; a follow-up's results may be replaced by a later follow-up (`final`
 *   says when none may follow). The follow-up of a `cancelled` batch is not counted: an interrupted run cancels
 *   its batches on exit (`cancelOnExit`), so if it were, each interrupt and re-run would spend one follow-up, and
 *   after `maxFollowUps` of them the rest of the part would never be sent. The rule reads only the batches'
 *   statuses, never which run made or watched them, so a re-run that replays a chain counts it, and marks its
 *   deliveries `final`, as the run that made it did. A batch nobody in the job cancelled (from the dashboard) is
 *   followed up the same way: a job is stopped by interrupting it.
 * - A batch that failed late on an enqueued limit is created again from the same input file, up to `maxResends`
 *   (when and after what wait is the ledger's and the runner's business).
 * - A batch that failed for any other reason, or a create the API refused, fails the part.
 * - Batches an earlier run made (`found`) are taken first, attempt by attempt, in place of the ones this run would
 *   make: one made from other requests (another digest) fails the part.
 *
 * @internal
 */
import type * as Batch from "../../Batch.js"
import type * as JobBudget from "../../JobBudget.js"
import type * as JobReport from "../../JobReport.js"
import type * as History from "./history.js"
import * as Summary from "./summary.js"

/** What the machine knows of its part. @internal */
export interface PartInfo {
  readonly index: number
  readonly model: string
  readonly requests: number
  readonly tokens: number
  readonly digest: string
}

/** @internal */
export interface Policy {
  readonly maxResends: number
  readonly maxFollowUps: number
}

/** The enqueued-limit codes: the batch is sent again. @internal */
export type LimitCode = "token_limit_exceeded" | "request_limit_exceeded"

const isLimitCode = (code: string | undefined): code is LimitCode =>
  code === "token_limit_exceeded" || code === "request_limit_exceeded"

/** The enqueued-limit code a failed batch failed with, if that is why it failed. @internal */
export const limitCodeOf = (batch: Batch.Batch): LimitCode | undefined => {
  if (batch.status !== "failed") return undefined
  const code = batch.errors?.data?.[0]?.code
  return isLimitCode(code) ? code : undefined
}

/** @internal */
export interface Counts {
  readonly succeeded: number
  readonly failed: number
  readonly errored: number
}

interface Current {
  readonly attempt: number
  readonly kind: JobReport.AttemptKind
  readonly claim: JobBudget.Claim
  readonly resumed: boolean
}

/** @internal */
export interface State {
  readonly part: PartInfo
  readonly policy: Policy
  /** Batches of an earlier run not taken yet. */
  readonly found: ReadonlyArray<History.Found>
  readonly current: Current | undefined
  /** The last batch that ended, and the claim it was made under. */
  readonly ended: { readonly batch: Batch.Batch; readonly current: Current } | undefined
  readonly attempts: ReadonlyArray<JobReport.Attempt>
  /** The batches whose results were delivered, in order (a follow-up leaves out what they answered). */
  readonly delivered: ReadonlyArray<Batch.Batch>
  readonly counts: Counts
  readonly resends: number
  readonly followUps: number
  readonly usage: JobReport.TokenUsage
  /** Batches that ran requests without reporting their usage (`Summary.unreported`). */
  readonly unreported: number
}

/** @internal */
export type Event =
  | { readonly _tag: "Uploaded"; readonly fileId: string; readonly requests: number; readonly tokens: number }
  | { readonly _tag: "Created"; readonly batch: Batch.Batch }
  | { readonly _tag: "Rejected"; readonly message: string }
  | { readonly _tag: "Ended"; readonly batch: Batch.Batch }
  | { readonly _tag: "Delivered"; readonly counts: Counts }

/** Why a part failed. @internal */
export type FailureReason = "failed" | "limits" | "rejected"

/** @internal */
export type Decision =
  | {
    readonly _tag: "Upload"
    readonly attempt: number
    readonly kind: JobReport.AttemptKind
    readonly missing: number
  }
  | {
    readonly _tag: "Create"
    readonly attempt: number
    readonly kind: JobReport.AttemptKind
    readonly fileId: string
    readonly claim: JobBudget.Claim
    /** Set for a re-send: the limit its previous batch failed on. */
    readonly resend: LimitCode | undefined
  }
  | {
    readonly _tag: "Await"
    readonly attempt: number
    readonly kind: JobReport.AttemptKind
    readonly batch: Batch.Batch
    readonly claim: JobBudget.Claim
    readonly resumed: boolean
  }
  | { readonly _tag: "Deliver"; readonly attempt: number; readonly batch: Batch.Batch; readonly final: boolean }
  | { readonly _tag: "Done"; readonly summary: JobReport.PartSummary }
  | {
    readonly _tag: "Fail"
    readonly reason: FailureReason
    readonly message: string
    readonly batch: Batch.Batch | undefined
    readonly summary: JobReport.PartSummary
  }
  | {
    readonly _tag: "Changed"
    readonly batch: Batch.Batch
    readonly found: string
    readonly summary: JobReport.PartSummary
  }

/** What a part's requests still lack: no result yet. @internal */
export const missing = (state: State): number =>
  Math.max(0, state.part.requests - state.counts.succeeded - state.counts.failed - state.counts.errored)

/** The part's summary so far; `failure` for a failed part. @internal */
export const summary = (state: State, failure?: string): JobReport.PartSummary => {
  const left = missing(state)
  return {
    part: state.part.index,
    model: state.part.model,
    requests: state.part.requests,
    status: failure !== undefined ? "failed" : left === 0 ? "completed" : "partial",
    attempts: state.attempts,
    ...state.counts,
    missing: left,
    resends: state.resends,
    followUps: state.followUps,
    usage: state.usage,
    ...(state.unreported > 0 ? { usageUnreported: state.unreported } : {}),
    ...(failure === undefined ? {} : { failure })
  }
}

const fail = (
  state: State,
  reason: FailureReason,
  message: string,
  batch?: Batch.Batch
): readonly [State, Decision] => [
  state,
  { _tag: "Fail", reason, message, batch, summary: summary(state, message) }
]

/** The machine before anything happened; `found` are the part's batches an earlier run made. @internal */
export const start = (
  part: PartInfo,
  found: ReadonlyArray<History.Found>,
  policy: Policy
): readonly [State, Decision] =>
  next({
    part,
    policy,
    found,
    current: undefined,
    ended: undefined,
    attempts: [],
    delivered: [],
    counts: { succeeded: 0, failed: 0, errored: 0 },
    resends: 0,
    followUps: 0,
    usage: Summary.noUsage,
    unreported: 0
  })

const fullClaim = (part: PartInfo): JobBudget.Claim => ({
  model: part.model,
  tokens: part.tokens,
  requests: part.requests
})

/** Whether the follow-up of `ended` is free of `maxFollowUps`: a cancelled batch's (see above). */
const freeFollowUp = (ended: State["ended"]): boolean => ended !== undefined && ended.batch.status === "cancelled"

/** The next attempt: an earlier run's batch if there is one, else what the last ended batch calls for. */
const next = (state: State): readonly [State, Decision] => {
  const [found, ...rest] = state.found
  const resending = state.ended !== undefined && limitCodeOf(state.ended.batch) !== undefined
  if (found !== undefined) {
    if (found.tag.digest !== state.part.digest) {
      return [state, { _tag: "Changed", batch: found.batch, found: found.tag.digest, summary: summary(state) }]
    }
    const claim = found.tag.kind === "full" || state.ended === undefined
      ? fullClaim(state.part)
      : resending
      ? state.ended.current.claim
      : {
        model: state.part.model,
        tokens: state.part.tokens,
        requests: found.batch.request_counts?.total || missing(state)
      }
    const current: Current = { attempt: found.tag.attempt, kind: found.tag.kind, claim, resumed: true }
    const taken: State = {
      ...state,
      found: rest,
      current,
      resends: state.resends + (resending ? 1 : 0),
      followUps: state.followUps + (!resending && found.tag.kind === "missing" && !freeFollowUp(state.ended) ? 1 : 0)
    }
    return [taken, {
      _tag: "Await",
      attempt: current.attempt,
      kind: current.kind,
      batch: found.batch,
      claim,
      resumed: true
    }]
  }
  const last = state.ended
  if (last === undefined) {
    const current: Current = { attempt: 1, kind: "full", claim: fullClaim(state.part), resumed: false }
    return [{ ...state, current }, { _tag: "Upload", attempt: 1, kind: "full", missing: state.part.requests }]
  }
  const attempt = last.current.attempt + 1
  const code = limitCodeOf(last.batch)
  if (code !== undefined) {
    if (state.resends >= state.policy.maxResends) {
      return fail(state, "limits", `its batches kept failing with ${code} after ${state.resends} re-sends`, last.batch)
    }
    const current: Current = { ...last.current, attempt, resumed: false }
    return [
      { ...state, current, resends: state.resends + 1 },
      {
        _tag: "Create",
        attempt,
        kind: current.kind,
        fileId: last.batch.input_file_id,
        claim: current.claim,
        resend: code
      }
    ]
  }
  const left = missing(state)
  const free = freeFollowUp(last)
  if (left > 0 && (free || state.followUps < state.policy.maxFollowUps)) {
    const current: Current = { attempt, kind: "missing", claim: fullClaim(state.part), resumed: false }
    return [
      { ...state, current, followUps: state.followUps + (free ? 0 : 1) },
      { _tag: "Upload", attempt, kind: "missing", missing: left }
    ]
  }
  return [state, { _tag: "Done", summary: summary(state) }]
}

const ended = (state: State, batch: Batch.Batch): readonly [State, Decision] => {
  const current = state.current
  if (current === undefined) return [state, { _tag: "Done", summary: summary(state) }]
  const code = batch.errors?.data?.[0]?.code
  const recorded: State = {
    ...state,
    ended: { batch, current },
    attempts: [
      ...state.attempts,
      {
        attempt: current.attempt,
        kind: current.kind,
        batchId: batch.id,
        status: batch.status,
        requests: batch.request_counts?.total || current.claim.requests,
        ...(batch.status === "failed" && code !== undefined ? { errorCode: code } : {}),
        resumed: current.resumed
      }
    ],
    usage: Summary.addUsage(state.usage, Summary.usageOf(batch)),
    unreported: state.unreported + (Summary.unreported(batch) ? 1 : 0)
  }
  if (batch.status === "failed") {
    if (limitCodeOf(batch) !== undefined) return next(recorded)
    const first = batch.errors?.data?.[0]
    const why = first === undefined
      ? ""
      : `: ${first.code ?? "error"}${first.message === undefined ? "" : `: ${first.message}`}${
        first.line === undefined ? "" : ` (line ${first.line} of its input file)`
      }`
    return fail(recorded, "failed", `batch ${batch.id} failed${why}`, batch)
  }
  return [
    recorded,
    {
      _tag: "Deliver",
      attempt: current.attempt,
      batch,
      final: state.followUps >= state.policy.maxFollowUps && !freeFollowUp(recorded.ended)
    }
  ]
}

/** Folds one event into the state and decides what comes next. @internal */
export const step = (state: State, event: Event): readonly [State, Decision] => {
  switch (event._tag) {
    case "Uploaded": {
      if (state.current === undefined) return [state, { _tag: "Done", summary: summary(state) }]
      const claim: JobBudget.Claim = { model: state.part.model, tokens: event.tokens, requests: event.requests }
      const current: Current = { ...state.current, claim }
      return [
        { ...state, current },
        { _tag: "Create", attempt: current.attempt, kind: current.kind, fileId: event.fileId, claim, resend: undefined }
      ]
    }
    case "Created": {
      const current = state.current
      if (current === undefined) return [state, { _tag: "Done", summary: summary(state) }]
      return [
        state,
        {
          _tag: "Await",
          attempt: current.attempt,
          kind: current.kind,
          batch: event.batch,
          claim: current.claim,
          resumed: false
        }
      ]
    }
    case "Rejected":
      return fail(state, "rejected", `the API refused its batch: ${event.message}`)
    case "Ended":
      return ended(state, event.batch)
    case "Delivered":
      return next({
        ...state,
        delivered: state.ended === undefined ? state.delivered : [...state.delivered, state.ended.batch],
        counts: {
          succeeded: state.counts.succeeded + event.counts.succeeded,
          failed: state.counts.failed + event.counts.failed,
          errored: state.counts.errored + event.counts.errored
        }
      })
  }
}

/** The limit a failure message names ("… Limit: 2,000,000 enqueued tokens …"), if any. @internal */
export const namedLimit = (batch: Batch.Batch): number | undefined => {
  const message = batch.errors?.data?.[0]?.message
  const match = message === undefined ? null : /Limit:\s*([\d,]+)\s*enqueued/i.exec(message)
  const value = match === null ? NaN : Number(match[1]!.replace(/,/g, ""))
  return Number.isFinite(value) && value > 0 ? value : undefined
}

/** How a batch's end releases its reservation. @internal */
export const releaseOutcome = (batch: Batch.Batch, safetyFactor: number): JobBudget.ReleaseOutcome => {
  const code = limitCodeOf(batch)
  if (code !== undefined) {
    const named = namedLimit(batch)
    return {
      _tag: "LimitReached",
      dimension: code === "token_limit_exceeded" ? "tokens" : "requests",
      named: named === undefined ? undefined : Math.floor(named * safetyFactor)
    }
  }
  return batch.status === "failed" ? { _tag: "Withdrawn" } : { _tag: "Ended" }
}
