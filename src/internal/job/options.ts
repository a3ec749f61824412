/**
 * A job's options, resolved once for `Job.run`, `Job.stream` and the durable entry: one defaults object, one
 * validation (every rule in one place, each failure an `InvalidParamsError` naming the option), and the schema of
 * the serializable subset a durable job is started with.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Batch from "../../Batch.js"
import type * as BatchError from "../../BatchError.js"
import type * as BatchLine from "../../BatchLine.js"
import type * as BatchSchedule from "../../BatchSchedule.js"
import * as JobBudget from "../../JobBudget.js"
import type * as JobReport from "../../JobReport.js"
import * as JobSink from "../../JobSink.js"
import * as OpenAiFiles from "../../OpenAiFiles.js"
import * as Pricing from "../../Pricing.js"
import * as TokenEstimate from "../../TokenEstimate.js"
import { negativeOrNaN } from "../durationSign.js"
import * as Params from "../params.js"
import * as Budgets from "./budgets.js"
import * as PartUpload from "./partUpload.js"
import * as Planner from "./planner.js"

/** @internal */
export const defaults = {
  safetyFactor: JobBudget.defaults.safetyFactor,
  partFraction: JobBudget.defaults.partFraction,
  maxRequestsPerPart: Planner.defaultLimits.maxRequests,
  maxBytesPerPart: Planner.defaultLimits.maxBytes,
  maxInputsPerPart: Planner.defaultLimits.maxInputs,
  maxResends: 8,
  resendBackoff: Duration.minutes(10),
  /** How long a part's upload or create goes on through an API that fails for a while (see patience.ts). */
  patience: Duration.minutes(30),
  maxFollowUps: 2,
  uploadConcurrency: 2,
  /** Part files above 64 MiB go through the Uploads API (one of its parts; below it, one Files request does as well). */
  uploadsApiAbove: PartUpload.defaultUploadsAbove,
  lookback: Duration.days(7),
  maxPages: 200,
  /** A job's input files expire after 14 days (its lookback, the 24-hour window and a margin). */
  fileExpiresAfter: { anchor: "created_at", seconds: 14 * 24 * 3600 } as OpenAiFiles.FileExpiresAfter,
  /** Arrays up to this many requests are split in memory; more (or a stream or a file) into a work directory. */
  memorySpoolRequests: 50_000
} as const

const jobIdPattern = /^[A-Za-z0-9._-]{1,64}$/

/** A job id, checked. @internal */
export const JobId = Schema.String.pipe(
  Schema.pattern(jobIdPattern, { message: () => "must be 1 to 64 letters, digits, '.', '_' or '-'" })
)

/** Why a job id cannot be one, or `undefined`. @internal */
export const jobIdIssue = (jobId: string): string | undefined =>
  jobIdPattern.test(jobId) ? undefined : "must be 1 to 64 letters, digits, '.', '_' or '-'"

/** A duration a payload can carry: milliseconds, or a string such as "10 minutes". @internal */
export const DurationInput = Schema.Union(
  Schema.Number.pipe(Schema.nonNegative({ message: () => "must be a duration in milliseconds >= 0" })),
  Schema.String.pipe(
    Schema.filter((text) => !negativeOrNaN(text) && Option.isSome(Duration.decodeUnknown(text)), {
      message: () => "must be a duration >= 0 such as \"10 minutes\""
    })
  )
)

const Budget = Schema.Struct({ tokens: Schema.optional(Schema.Number), requests: Schema.optional(Schema.Number) })

/**
 * The options that can travel in a durable job's payload: everything but functions and services.
 *
 * @internal
 */
export const Serializable = Schema.Struct({
  jobId: JobId,
  endpoint: Batch.KnownEndpoint,
  budget: Schema.optional(Schema.Struct({
    // Per model first: a struct of optional fields would take a record as an empty budget (excess keys ignored).
    limits: Schema.optional(Schema.Union(Schema.Record({ key: Schema.String, value: Budget }), Budget)),
    safetyFactor: Schema.optional(Schema.Number)
  })),
  plan: Schema.optional(Schema.Struct({
    maxRequestsPerPart: Schema.optional(Schema.Number),
    maxBytesPerPart: Schema.optional(Schema.Number),
    maxInputsPerPart: Schema.optional(Schema.Number),
    partFraction: Schema.optional(Schema.Number),
    workDir: Schema.optional(Schema.String)
  })),
  policy: Schema.optional(Schema.Struct({
    maxResends: Schema.optional(Schema.Number),
    resendBackoff: Schema.optional(DurationInput),
    patience: Schema.optional(DurationInput),
    maxFollowUps: Schema.optional(Schema.Number),
    onPartFailure: Schema.optional(Schema.Literal("fail", "continue")),
    concurrency: Schema.optional(Schema.Number),
    uploadConcurrency: Schema.optional(Schema.Number),
    uploadsApiAbove: Schema.optional(Schema.Number),
    waitTimeout: Schema.optional(DurationInput),
    cancelOnExit: Schema.optional(Schema.Boolean),
    lookback: Schema.optional(DurationInput),
    maxPages: Schema.optional(Schema.Number)
  })),
  batches: Schema.optional(Schema.Struct({
    metadata: Schema.optional(Batch.Metadata),
    output_expires_after: Schema.optional(Batch.OutputExpiresAfter),
    file_expires_after: Schema.optional(Schema.NullOr(OpenAiFiles.FileExpiresAfter))
  })),
  pricing: Schema.optional(Pricing.Pricing)
})

/** @internal */
export interface Serializable extends Schema.Schema.Type<typeof Serializable> {}

/** Everything a job's options say, with every default applied. @internal */
export interface Resolved<E, R> {
  readonly jobId: string
  readonly endpoint: Batch.KnownEndpoint
  readonly limits: JobBudget.Budgets | undefined
  readonly safetyFactor: number
  readonly estimate: TokenEstimate.Estimator
  readonly maxRequestsPerPart: number
  readonly maxBytesPerPart: number
  readonly maxInputsPerPart: number
  readonly partFraction: number
  readonly workDir: string | undefined
  readonly spool: "auto" | "memory" | "files"
  readonly sink: JobSink.JobSink<E, R>
  readonly resendWhen: ((result: BatchLine.BatchResult) => boolean) | undefined
  readonly malformed: "fail" | "skip"
  readonly onMalformed: ((error: BatchError.MalformedLineError) => Effect.Effect<void>) | undefined
  /** At most this many parts (a one-batch run); default any number. */
  readonly maxParts?: number | undefined
  /** A job id never used before (a one-batch run without a key): nothing to find, so nothing is looked up. */
  readonly fresh?: boolean | undefined
  readonly maxResends: number
  readonly resendBackoff: Duration.Duration
  readonly patience: Duration.Duration
  readonly maxFollowUps: number
  readonly continueOnFailure: boolean
  readonly concurrency: number | "unbounded"
  readonly uploadConcurrency: number
  readonly uploadsApiAbove: number
  readonly poll: BatchSchedule.PollSchedule | undefined
  readonly waitTimeout: Duration.Duration | undefined
  readonly cancelOnExit: boolean
  readonly lookback: Duration.Duration
  readonly maxPages: number
  readonly metadata: Batch.Metadata
  readonly outputExpiresAfter: Batch.CreateBatchParams["output_expires_after"]
  readonly fileExpiresAfter: OpenAiFiles.FileExpiresAfter | undefined
  /** The price table costs are reported with; none: tokens only. */
  readonly pricing?: Pricing.Pricing | undefined
  readonly onEvent: (event: JobReport.JobEvent) => Effect.Effect<void>
}

/** What `resolve` reads: the shape of `Job.Options` (the serializable subset plus functions and services). @internal */
export interface Input<E, R> {
  readonly jobId: string
  readonly endpoint: Batch.KnownEndpoint
  readonly budget?: {
    readonly limits?: JobBudget.Budgets | undefined
    readonly safetyFactor?: number | undefined
    readonly estimate?: TokenEstimate.Estimator | undefined
  } | undefined
  readonly plan?: {
    readonly maxRequestsPerPart?: number | undefined
    readonly maxBytesPerPart?: number | undefined
    readonly maxInputsPerPart?: number | undefined
    readonly partFraction?: number | undefined
    readonly workDir?: string | undefined
    readonly spool?: "auto" | "memory" | "files" | undefined
  } | undefined
  readonly delivery?: {
    readonly sink?: JobSink.JobSink<E, R> | undefined
    readonly resendWhen?: ((result: BatchLine.BatchResult) => boolean) | undefined
    readonly malformed?: "fail" | "skip" | undefined
    readonly onMalformed?: ((error: BatchError.MalformedLineError) => Effect.Effect<void>) | undefined
  } | undefined
  readonly policy?: {
    readonly maxResends?: number | undefined
    readonly resendBackoff?: Duration.DurationInput | string | undefined
    readonly patience?: Duration.DurationInput | string | undefined
    readonly maxFollowUps?: number | undefined
    readonly onPartFailure?: "fail" | "continue" | undefined
    readonly concurrency?: number | undefined
    readonly uploadConcurrency?: number | undefined
    readonly uploadsApiAbove?: number | undefined
    readonly poll?: BatchSchedule.PollSchedule | undefined
    readonly waitTimeout?: Duration.DurationInput | string | undefined
    readonly cancelOnExit?: boolean | undefined
    readonly lookback?: Duration.DurationInput | string | undefined
    readonly maxPages?: number | undefined
  } | undefined
  readonly batches?: {
    readonly metadata?: Batch.Metadata | undefined
    readonly output_expires_after?: Batch.CreateBatchParams["output_expires_after"]
    readonly file_expires_after?: OpenAiFiles.FileExpiresAfter | null | undefined
  } | undefined
  readonly pricing?: Pricing.Pricing | undefined
  readonly onEvent?: ((event: JobReport.JobEvent) => Effect.Effect<void>) | undefined
}

const wholeAtLeast = (value: number | undefined, min: number) =>
  value === undefined || (Number.isSafeInteger(value) && value >= min)

/** A duration option, or `None` if it is not one or is negative or NaN somewhere (Effect 3 reads those as zero). */
const duration = <A>(input: Duration.DurationInput | string | undefined, fallback: A) =>
  input === undefined
    ? Option.some(fallback)
    : negativeOrNaN(input)
    ? Option.none()
    : Duration.decodeUnknown(input)

/** Resolves and checks a job's options; `operation` names the public call in errors. @internal */
export const resolve = <E, R>(
  operation: string,
  options: Input<E, R>
): Either.Either<Resolved<E, R>, BatchError.InvalidParamsError> => {
  const invalid = (field: string, issue: string) => Either.left(Params.invalid(operation, issue, field))
  const { batches = {}, budget = {}, delivery = {}, plan = {}, policy = {} } = options
  const idIssue = jobIdIssue(options.jobId)
  if (idIssue !== undefined) return invalid("jobId", idIssue)
  const safetyFactor = budget.safetyFactor ?? defaults.safetyFactor
  const safetyIssue = Budgets.safetyFactorIssue(safetyFactor)
  if (safetyIssue !== undefined) return invalid("budget.safetyFactor", safetyIssue)
  if (budget.limits !== undefined && typeof budget.limits !== "function") {
    const limits = budget.limits
    const entries: ReadonlyArray<readonly [string, JobBudget.Budget]> = Budgets.isBudget(limits)
      ? [["", limits]]
      : Object.entries(limits)
    for (const [model, limit] of entries) {
      const issue = Budgets.budgetIssue(limit, safetyFactor)
      if (issue !== undefined) return invalid(model === "" ? "budget.limits" : `budget.limits[${model}]`, issue)
    }
  }
  const partFraction = plan.partFraction ?? defaults.partFraction
  if (!(partFraction > 0 && partFraction <= 1)) return invalid("plan.partFraction", "must be in (0, 1]")
  const maxRequestsPerPart = plan.maxRequestsPerPart ?? defaults.maxRequestsPerPart
  if (!wholeAtLeast(maxRequestsPerPart, 1) || maxRequestsPerPart > Planner.defaultLimits.maxRequests) {
    return invalid("plan.maxRequestsPerPart", `must be a whole number from 1 to ${Planner.defaultLimits.maxRequests}`)
  }
  const maxBytesPerPart = plan.maxBytesPerPart ?? defaults.maxBytesPerPart
  if (!wholeAtLeast(maxBytesPerPart, 1) || maxBytesPerPart > Planner.defaultLimits.maxBytes) {
    return invalid("plan.maxBytesPerPart", `must be a whole number from 1 to ${Planner.defaultLimits.maxBytes}`)
  }
  const maxInputsPerPart = plan.maxInputsPerPart ?? defaults.maxInputsPerPart
  if (!wholeAtLeast(maxInputsPerPart, 1) || maxInputsPerPart > Planner.defaultLimits.maxInputs) {
    return invalid("plan.maxInputsPerPart", `must be a whole number from 1 to ${Planner.defaultLimits.maxInputs}`)
  }
  for (const [field, value] of [["maxResends", policy.maxResends], ["maxFollowUps", policy.maxFollowUps]] as const) {
    if (!wholeAtLeast(value, 0)) return invalid(`policy.${field}`, "must be a whole number >= 0")
  }
  for (
    const [field, value] of [
      ["concurrency", policy.concurrency],
      ["uploadConcurrency", policy.uploadConcurrency],
      ["maxPages", policy.maxPages]
    ] as const
  ) {
    if (!wholeAtLeast(value, 1)) return invalid(`policy.${field}`, "must be a whole number >= 1")
  }
  const uploadsApiAbove = policy.uploadsApiAbove ?? defaults.uploadsApiAbove
  if (!wholeAtLeast(uploadsApiAbove, 0)) return invalid("policy.uploadsApiAbove", "must be a whole number >= 0")
  const resendBackoff = duration(policy.resendBackoff, defaults.resendBackoff)
  if (Option.isNone(resendBackoff)) return invalid("policy.resendBackoff", "must be a duration >= 0")
  const patience = duration(policy.patience, defaults.patience)
  if (Option.isNone(patience)) return invalid("policy.patience", "must be a duration >= 0")
  const lookback = duration(policy.lookback, defaults.lookback)
  if (Option.isNone(lookback)) return invalid("policy.lookback", "must be a duration >= 0")
  const waitTimeout = duration(policy.waitTimeout, undefined)
  // Zero would create a batch only to fail its wait at once (and cancel it): refused before anything is sent.
  if (Option.isNone(waitTimeout) || (waitTimeout.value !== undefined && Duration.isZero(waitTimeout.value))) {
    return invalid("policy.waitTimeout", "must be a duration > 0")
  }
  const metadata = batches.metadata ?? {}
  const keys = Object.keys(metadata)
  if (keys.length > 10) return invalid("batches.metadata", "holds at most 10 pairs for a job (it uses 6 of the 16)")
  if (keys.some((key) => key.startsWith("eob_"))) {
    return invalid("batches.metadata", "keys starting with eob_ are the library's")
  }
  const pricingIssue = options.pricing === undefined ? undefined : Pricing.issue(options.pricing)
  if (pricingIssue !== undefined) return invalid(`pricing.${pricingIssue.path}`, pricingIssue.message)
  const fileExpiresAfter = batches.file_expires_after === null
    ? undefined
    : batches.file_expires_after ?? defaults.fileExpiresAfter
  return Either.right({
    jobId: options.jobId,
    endpoint: options.endpoint,
    limits: budget.limits,
    safetyFactor,
    estimate: budget.estimate ?? ((request) => TokenEstimate.estimateTokens(request)),
    maxRequestsPerPart,
    maxBytesPerPart,
    maxInputsPerPart,
    partFraction,
    workDir: plan.workDir,
    spool: plan.spool ?? "auto",
    sink: delivery.sink ?? (JobSink.discard as JobSink.JobSink<E, R>),
    resendWhen: delivery.resendWhen,
    malformed: delivery.malformed ?? "fail",
    onMalformed: delivery.onMalformed,
    maxResends: policy.maxResends ?? defaults.maxResends,
    resendBackoff: resendBackoff.value,
    patience: patience.value,
    maxFollowUps: policy.maxFollowUps ?? defaults.maxFollowUps,
    continueOnFailure: policy.onPartFailure === "continue",
    concurrency: policy.concurrency ?? "unbounded",
    uploadConcurrency: policy.uploadConcurrency ?? defaults.uploadConcurrency,
    uploadsApiAbove,
    poll: policy.poll,
    waitTimeout: waitTimeout.value,
    cancelOnExit: policy.cancelOnExit ?? true,
    lookback: lookback.value,
    maxPages: policy.maxPages ?? defaults.maxPages,
    metadata,
    outputExpiresAfter: batches.output_expires_after,
    fileExpiresAfter,
    pricing: options.pricing,
    onEvent: options.onEvent ?? (() => Effect.void)
  })
}
