/**
 * A job's summary: token usage summed from its batches, and its parts' summaries summed into the job's; with a
 * price table, the cost of a batch, of a part and of the job (`Pricing`).
 *
 * @internal
 */
import * as Option from "effect/Option"
import type * as Batch from "../../Batch.js"
import type * as JobReport from "../../JobReport.js"
import * as Pricing from "../../Pricing.js"

/** Nothing used yet. @internal */
export const noUsage: JobReport.TokenUsage = {
  input_tokens: 0,
  cached_tokens: 0,
  output_tokens: 0,
  reasoning_tokens: 0,
  total_tokens: 0
}

/** The sum of two usages. @internal */
export const addUsage = (a: JobReport.TokenUsage, b: JobReport.TokenUsage): JobReport.TokenUsage => ({
  input_tokens: a.input_tokens + b.input_tokens,
  cached_tokens: a.cached_tokens + b.cached_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
  reasoning_tokens: a.reasoning_tokens + b.reasoning_tokens,
  total_tokens: a.total_tokens + b.total_tokens
})

/** A batch's usage (zero when the API did not report it). @internal */
export const usageOf = (batch: Batch.Batch): JobReport.TokenUsage =>
  batch.usage === undefined ? noUsage : {
    input_tokens: batch.usage.input_tokens,
    cached_tokens: batch.usage.input_tokens_details.cached_tokens,
    output_tokens: batch.usage.output_tokens,
    reasoning_tokens: batch.usage.output_tokens_details.reasoning_tokens,
    total_tokens: batch.usage.total_tokens
  }

/**
 * Whether a batch ran requests without reporting its usage (the API populates `usage` only on batches created after
 * September 7, 2025): its tokens are unknown, not 0. A batch that ran nothing (one that failed before running, or
 * ended with no request done) has nothing unknown. @internal
 */
export const unreported = (batch: Batch.Batch): boolean => {
  if (batch.usage !== undefined) return false
  const counts = batch.request_counts
  return counts === undefined ? batch.status !== "failed" : counts.completed + counts.failed > 0
}

/**
 * What a batch of `model` cost, with a price table that prices the model. A batch the API reported no usage for
 * (an older batch, another deployment) has no cost: unknown, not $0.
 *
 * @internal
 */
export const batchCost = (
  pricing: Pricing.Pricing | undefined,
  model: string,
  batch: Batch.Batch
): Pricing.Cost | undefined =>
  pricing === undefined || batch.usage === undefined
    ? undefined
    : Option.getOrUndefined(Pricing.cost(pricing, model, usageOf(batch)))

/**
 * A part's summary with its cost, with a price table that prices its model, and when every batch of the part that
 * ran reported its usage (else the cost is unknown, not the cost of the tokens reported). @internal
 */
export const withCost = (
  pricing: Pricing.Pricing | undefined,
  summary: JobReport.PartSummary
): JobReport.PartSummary => {
  const cost = pricing === undefined || summary.usageUnreported !== undefined
    ? Option.none()
    : Pricing.cost(pricing, summary.model, summary.usage)
  return Option.isSome(cost) ? { ...summary, cost: cost.value } : summary
}

/**
 * The job's cost and its unpriced models' usage: priced from the parts' summed tokens, once; the parts with a batch
 * that did not report its usage are left out (their cost is unknown; `usageUnreported` counts those batches).
 */
const costs = (pricing: Pricing.Pricing, parts: ReadonlyArray<JobReport.PartSummary>) => {
  const { unpriced } = Pricing.costOfAll(pricing, parts)
  const { cost } = Pricing.costOfAll(pricing, parts.filter((part) => part.usageUnreported === undefined))
  return {
    cost,
    unpriced: unpriced.map((model) => ({
      model,
      usage: parts.filter((part) => part.model === model).reduce((usage, part) => addUsage(usage, part.usage), noUsage)
    }))
  }
}

/** Sums part summaries into the job's (with its cost, given a price table). @internal */
export const summarize = (
  jobId: string,
  parts: ReadonlyArray<JobReport.PartSummary>,
  pricing?: Pricing.Pricing | undefined
): JobReport.JobSummary => {
  const sorted = [...parts].sort((a, b) => a.part - b.part)
  const sum = (f: (part: JobReport.PartSummary) => number) => sorted.reduce((n, part) => n + f(part), 0)
  const unreported = sum((p) => p.usageUnreported ?? 0)
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
    usage: sorted.reduce((usage, part) => addUsage(usage, part.usage), noUsage),
    ...(unreported > 0 ? { usageUnreported: unreported } : {}),
    ...(pricing === undefined ? {} : costs(pricing, sorted))
  }
}
