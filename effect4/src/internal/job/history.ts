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
 * The Effect 4 edition: the root's module, on Effect 4's `Duration.Input`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Batch from "../../Batch.js"
import type * as BatchApi from "../../BatchApi.js"
import type * as BatchError from "../../BatchError.js"
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

/** How far back to look. @internal */
export interface Lookback {
  readonly lookback?: Duration.Input | undefined
  readonly maxPages?: number | undefined
}

/** @internal */
export const defaults = { lookback: Duration.days(7), maxPages: 200 } as const

/** One attempt of a part as the API has it: its batch, and any duplicates of it. @internal */
export interface Found {
  readonly tag: Tag
  readonly batch: Batch.Batch
  readonly duplicates: ReadonlyArray<Batch.Batch>
}

/** How far a batch got: the attempt's batch is the one that got furthest. */
const progressOf = (batch: Batch.Batch): number => {
  switch (batch.status) {
    case "completed":
    case "expired":
      return 5
    case "finalizing":
      return 4
    case "in_progress":
      return 3
    case "cancelled":
    case "cancelling":
      return 2
    case "validating":
      return 1
    default:
      return 0
  }
}

const firstOf = (a: Batch.Batch, b: Batch.Batch) =>
  progressOf(b) - progressOf(a) || a.created_at - b.created_at || (a.id < b.id ? -1 : 1)

/**
 * Reads the newest batches, back to `since` (epoch seconds) or `maxPages` pages of 100, and hands each to `visit`.
 *
 * @internal
 */
export const scan = (
  api: BatchApi.Service,
  since: number,
  maxPages: number,
  visit: (batch: Batch.Batch) => void
): Effect.Effect<void, BatchError.RequestError> =>
  Effect.gen(function*() {
    let after: string | undefined
    for (let page = 0; page < maxPages; page++) {
      const result = yield* api.listBatches(after === undefined ? { limit: 100 } : { limit: 100, after })
      for (const batch of result.data) if (batch.created_at >= since) visit(batch)
      const last = result.data[result.data.length - 1]
      if (!result.has_more || last === undefined || last.id === after || last.created_at < since) return
      after = last.id
    }
  })

/** A job's batches by part, each part's by attempt (see the module comment for duplicates). @internal */
export const list = (
  api: BatchApi.Service,
  jobId: string,
  options: Lookback = {}
): Effect.Effect<ReadonlyMap<number, ReadonlyArray<Found>>, BatchError.RequestError> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const since = Math.floor(
      (now - Duration.toMillis(Duration.fromInputUnsafe(options.lookback ?? defaults.lookback))) / 1000
    )
    const byAttempt = new Map<string, { tag: Tag; batches: Array<Batch.Batch> }>()
    const seen = new Set<string>()
    yield* scan(api, since, options.maxPages ?? defaults.maxPages, (batch) => {
      const tag = tagOf(batch, jobId)
      // A batch two pages both hold (the list moved under the cursor) is counted once.
      if (tag === undefined || seen.has(batch.id)) return
      seen.add(batch.id)
      const key = `${tag.part}/${tag.attempt}`
      const entry = byAttempt.get(key)
      if (entry === undefined) byAttempt.set(key, { tag, batches: [batch] })
      else entry.batches.push(batch)
    })
    const byPart = new Map<number, Array<Found>>()
    for (const { batches, tag } of byAttempt.values()) {
      const [batch, ...duplicates] = batches.sort(firstOf)
      if (batch === undefined) continue
      const found = byPart.get(tag.part) ?? []
      found.push({ tag: tagOf(batch, jobId) ?? tag, batch, duplicates })
      byPart.set(tag.part, found)
    }
    for (const found of byPart.values()) found.sort((a, b) => a.tag.attempt - b.tag.attempt)
    return byPart
  })

/** Whether a batch may still run (and bill). @internal */
export const mayRun = (batch: Batch.Batch): boolean => !Batch.isTerminal(batch) && batch.status !== "cancelling"
