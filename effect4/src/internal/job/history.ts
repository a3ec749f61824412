/**
 * A job's batches, found from the API alone: every batch of a job carries its job id, part, attempt, kind and the
 * part's digest in its metadata, and its create uses an idempotency key derived from (job, part, attempt). So any
 * process can list a job's batches, and a re-run finds the batches an earlier run made, without local state.
 *
 * The list is read newest first, until batches older than the lookback (default 7 days) or `maxPages` pages of
 * 100 (default 200: the newest 20,000 batches of the organisation).
 *
 * One attempt should have one batch. A second one is the create protocol's documented race (a server that commits
 * a create after the lookup that looked for it): the batch that got furthest (then the oldest) is the attempt's,
 * the others are its duplicates, which a job cancels and never delivers.
 *
 * Ported so far (the Effect 4 edition): what a job's batch says about itself (its metadata, its tag, the idempotency
 * key) and the shape of what a re-run finds (`Found`, which the part machine takes). Reading the list (`scan`, `list`,
 * how far back) comes with `BatchApi`.
 *
 * @internal
 */
import * as Batch from "../../Batch.js"
import type * as JobReport from "../../JobReport.js"

/** @internal */
export const metadataKeys = {
  job: "eob_job",
  part: "eob_part",
  attempt: "eob_attempt",
  kind: "eob_kind",
  digest: "eob_digest"
} as const

/** What a job's batch says about itself. @internal */
export interface Tag {
  readonly part: number
  readonly attempt: number
  readonly kind: JobReport.AttemptKind
  readonly digest: string
}

/** The metadata a job's batch is created with. @internal */
export const metadata = (jobId: string, tag: Tag): Record<string, string> => ({
  [metadataKeys.job]: jobId,
  [metadataKeys.part]: String(tag.part),
  [metadataKeys.attempt]: String(tag.attempt),
  [metadataKeys.kind]: tag.kind,
  [metadataKeys.digest]: tag.digest
})

/** The idempotency key of a part's attempt, the same in every process that makes this attempt again. @internal */
export const idempotencyKey = (jobId: string, part: number, attempt: number): string =>
  `eob.${jobId}.p${part}.a${attempt}`

const positive = (text: string | undefined): number | undefined => {
  const n = text === undefined ? NaN : Number(text)
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

/** The tag of a batch of `jobId`, or `undefined` for any other batch. @internal */
export const tagOf = (batch: Batch.Batch, jobId: string): Tag | undefined => {
  const data = batch.metadata
  if (data === undefined || data[metadataKeys.job] !== jobId) return undefined
  const part = positive(data[metadataKeys.part])
  const attempt = positive(data[metadataKeys.attempt])
  if (part === undefined || attempt === undefined) return undefined
  return {
    part,
    attempt,
    kind: data[metadataKeys.kind] === "missing" ? "missing" : "full",
    digest: data[metadataKeys.digest] ?? ""
  }
}

/** One attempt of a part as the API has it: its batch, and any duplicates of it. @internal */
export interface Found {
  readonly tag: Tag
  readonly batch: Batch.Batch
  readonly duplicates: ReadonlyArray<Batch.Batch>
}

/** Whether a batch may still run (and bill). @internal */
export const mayRun = (batch: Batch.Batch): boolean => !Batch.isTerminal(batch) && batch.status !== "cancelling"
