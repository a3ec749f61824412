/**
 * A job's batches, found from the API alone: every batch of a job carries its job id, part, attempt, kind and the
 * part's digest in its metadata, and its create uses an idempotency key derived from (job, part, attempt). So any
 * process can list a job's batches, and a re-run finds the batches an earlier run made, without local state.
 *
 * The list is read newest first, until batches older than the lookback (default 7 days) or `maxPages` pages of
 * 100 (default 200: the newest 20,000 batches of the organisation).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Batch from "../Batch.js"
import type * as BatchApi from "../BatchApi.js"
import type * as BatchError from "../BatchError.js"
import type * as JobReport from "../JobReport.js"

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
  readonly lookback?: Duration.DurationInput | undefined
  readonly maxPages?: number | undefined
}

/** @internal */
export const defaults = { lookback: Duration.days(7), maxPages: 200 } as const

/** A job's batches by part, each part's sorted by attempt (the newest batch of a repeated attempt wins). @internal */
export const list = (
  api: BatchApi.Service,
  jobId: string,
  options: Lookback = {}
): Effect.Effect<ReadonlyMap<number, ReadonlyArray<readonly [Tag, Batch.Batch]>>, BatchError.RequestError> =>
  Effect.gen(function*() {
    const since = Math.floor(
      ((yield* Clock.currentTimeMillis) - Duration.toMillis(options.lookback ?? defaults.lookback)) / 1000
    )
    const maxPages = options.maxPages ?? defaults.maxPages
    const byPart = new Map<number, Map<number, readonly [Tag, Batch.Batch]>>()
    let after: string | undefined
    for (let page = 0; page < maxPages; page++) {
      const result = yield* api.listBatches(after === undefined ? { limit: 100 } : { limit: 100, after })
      for (const batch of result.data) {
        if (batch.created_at < since) continue
        const tag = tagOf(batch, jobId)
        if (tag === undefined) continue
        const attempts = byPart.get(tag.part) ?? new Map<number, readonly [Tag, Batch.Batch]>()
        // Newest first: the first batch seen for an attempt is the newest.
        if (!attempts.has(tag.attempt)) attempts.set(tag.attempt, [tag, batch])
        byPart.set(tag.part, attempts)
      }
      const last = result.data[result.data.length - 1]
      if (!result.has_more || last === undefined || last.id === after || last.created_at < since) break
      after = last.id
    }
    const sorted = new Map<number, ReadonlyArray<readonly [Tag, Batch.Batch]>>()
    for (const [part, attempts] of byPart) {
      sorted.set(part, [...attempts.values()].sort((a, b) => a[0].attempt - b[0].attempt))
    }
    return sorted
  })
