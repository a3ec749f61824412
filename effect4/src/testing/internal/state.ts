/**
 * The simulator's state, held in one `Ref` and changed only by pure functions of (state, now): stored batches and
 * files, the queue of faults and scripts, and `settle`, which brings the state up to Clock now (enqueued-limit
 * decisions of batches whose validation ended, result files of batches that ended).
 *
 * Per-request cost is what keeps a simulated day under `TestClock` fast, so `settle` returns at once until
 * `nextEventAt`, the first instant at which anything pending changes; no request copies a collection that grows
 * with the number of batches or files.
 *
 * @internal
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type { PendingFault } from "./faults.js"
import * as Lifecycle from "./lifecycle.js"
import type * as LineBytes from "./lineBytes.js"
import type { ErrorItem, Script, SimFile } from "./model.js"
import * as Results from "./results.js"

/** A batch made by a create: its lifecycle runs on Clock. @internal */
export interface LiveBatch extends Lifecycle.LifecycleBatch {
  readonly _tag: "Live"
  readonly id: string
  readonly seq: number
  readonly endpoint: string
  readonly inputFileId: string
  readonly metadata: Readonly<Record<string, string>> | null
  readonly outputExpiresAfter: number | undefined
  /** The script as given (merged over the defaults), kept to merge `scriptBatch` changes into. */
  readonly scriptSource: Script
  /** Each request's line of the output or error file (see `Results.resultLines`). */
  readonly resultLines: LineBytes.LineBytes
  readonly tally: Results.Tally
  readonly validationErrors: ReadonlyArray<ErrorItem>
  readonly model: string | undefined
  /** `estimateTokens` summed over its lines: what it counts against the enqueued-token limit. */
  readonly tokens: number
  readonly outputFileId: string | null
  readonly errorFileId: string | null
}

/** A stored batch: every batch, created or seeded, lives on Clock. @internal */
export type StoredBatch = LiveBatch

/** @internal */
export interface StoredFile extends SimFile {
  readonly seq: number
}

/** An upload of the Uploads API (`/v1/uploads`). @internal */
export interface StoredUpload {
  readonly id: string
  readonly filename: string
  readonly purpose: string
  readonly bytes: number
  readonly mimeType: string
  readonly expiresAfter: number | undefined
  readonly createdAtMs: number
  /** `pending` until completed or cancelled; a pending upload past its hour reads as `expired`. */
  readonly status: "pending" | "completed" | "cancelled"
  readonly fileId: string | undefined
}

/** A part added to an upload: kept until the upload completes or is cancelled. @internal */
export interface StoredPart {
  readonly id: string
  readonly uploadId: string
  readonly createdAt: number
  readonly data: Uint8Array
}

const eventTypes: Readonly<Record<string, OutboxEvent["type"]>> = {
  completed: "batch.completed",
  failed: "batch.failed",
  expired: "batch.expired",
  cancelled: "batch.cancelled"
}

/** A batch's end, as a webhook event waiting to be delivered. @internal */
export interface OutboxEvent {
  readonly id: string
  readonly type: "batch.completed" | "batch.failed" | "batch.expired" | "batch.cancelled"
  readonly batchId: string
  /** When the batch ended, Clock milliseconds. */
  readonly endedAtMs: number
}

/** @internal */
export interface State {
  readonly batches: HashMap.HashMap<string, StoredBatch>
  /** Batch ids by creation order (`seq`), for listing newest first. */
  readonly bySeq: HashMap.HashMap<number, string>
  readonly batchCount: number
  readonly files: HashMap.HashMap<string, StoredFile>
  /** Live batches that have not ended (and so have no result files yet). */
  readonly pending: ReadonlyArray<string>
  /** No pending batch changes in a way `settle` must act on before this instant. */
  readonly nextEventAt: number
  /** Numbers batch and file ids. */
  readonly counter: number
  /** Numbers `x-request-id`s. */
  readonly requests: number
  readonly faults: ReadonlyArray<PendingFault>
  readonly defaultScript: Script
  readonly nextScripts: ReadonlyArray<Script>
  readonly idempotency: HashMap.HashMap<string, string>
  readonly uploads: HashMap.HashMap<string, StoredUpload>
  readonly uploadParts: HashMap.HashMap<string, StoredPart>
  /** Events of batches that ended, until a deliverer takes them; `undefined` while none is attached. */
  readonly outbox: ReadonlyArray<OutboxEvent> | undefined
  /** Numbers webhook events. */
  readonly events: number
}

/** @internal */
export const initialState = (defaultScript: Script): State => ({
  batches: HashMap.empty(),
  bySeq: HashMap.empty(),
  batchCount: 0,
  files: HashMap.empty(),
  pending: [],
  nextEventAt: Number.POSITIVE_INFINITY,
  counter: 0,
  requests: 0,
  faults: [],
  defaultScript,
  nextScripts: [],
  idempotency: HashMap.empty(),
  uploads: HashMap.empty(),
  uploadParts: HashMap.empty(),
  outbox: undefined,
  events: 0
})

/** @internal */
export const seconds = (ms: number): number => Math.floor(ms / 1000)
/** @internal */
export const requestIdOf = (n: number): string => `req_sim_${n.toString(16).padStart(12, "0")}`
/** @internal */
export const batchIdOf = (n: number): string => `batch_sim_${n.toString(36).padStart(8, "0")}`
/** @internal */
export const fileIdOf = (n: number): string => `file-sim${n.toString(36).padStart(8, "0")}`
/** @internal */
export const eventIdOf = (n: number): string => `evt_sim${n.toString(36).padStart(8, "0")}`
/** @internal */
export const uploadIdOf = (n: number): string => `upload_sim${n.toString(36).padStart(8, "0")}`
/** @internal */
export const partIdOf = (n: number): string => `part_sim${n.toString(36).padStart(8, "0")}`

/** @internal */
export const liveBatch = (state: State, id: string): LiveBatch | undefined => {
  const batch = Option.getOrUndefined(HashMap.get(state.batches, id))
  return batch?._tag === "Live" ? batch : undefined
}

/** Adds a batch as the newest. @internal */
export const addBatch = (state: State, batch: StoredBatch): State => ({
  ...state,
  batches: HashMap.set(state.batches, batch.id, batch),
  bySeq: HashMap.set(state.bySeq, batch.seq, batch.id),
  batchCount: state.batchCount + 1,
  pending: [...state.pending, batch.id],
  nextEventAt: Math.min(state.nextEventAt, Lifecycle.validationEndOf(batch), Lifecycle.endOf(batch))
})

/**
 * Replaces a live batch changed by a cancel or a script: `settle` looks at it again at its (maybe earlier) next
 * event.
 *
 * @internal
 */
export const updateBatch = (state: State, batch: LiveBatch): State => ({
  ...state,
  batches: HashMap.set(state.batches, batch.id, batch),
  nextEventAt: Math.min(state.nextEventAt, Lifecycle.validationEndOf(batch), Lifecycle.endOf(batch))
})

/** @internal */
export const storeFile = (
  state: State,
  now: number,
  file: {
    readonly content: Uint8Array
    readonly filename: string
    readonly purpose: string
    readonly expiresAfter?: number | undefined
  }
): readonly [StoredFile, State] => {
  const counter = state.counter + 1
  const createdAt = seconds(now)
  const expiresAfter = file.expiresAfter ?? (file.purpose === "batch" ? defaultFileExpirySeconds : undefined)
  const stored: StoredFile = {
    id: fileIdOf(counter),
    filename: file.filename,
    purpose: file.purpose,
    created_at: createdAt,
    expires_at: expiresAfter === undefined ? null : createdAt + expiresAfter,
    content: file.content,
    seq: counter
  }
  return [stored, { ...state, counter, files: HashMap.set(state.files, stored.id, stored) }]
}

const defaultFileExpirySeconds = 30 * 24 * 60 * 60

/** A live batch as the enqueued ledger sees it (its end if admitted). @internal */
export const enqueuing = (batch: LiveBatch): Lifecycle.Enqueuing => ({
  id: batch.id,
  seq: batch.seq,
  model: batch.model,
  tokens: batch.tokens,
  requests: batch.requestCount,
  validationEnd: Lifecycle.validationEndOf(batch),
  end: Lifecycle.endOf(batch)
})

const isEnqueuable = (batch: LiveBatch) => batch.admission._tag === "Admitted" && Lifecycle.reachesAdmission(batch)

/**
 * Brings the state up to `now`: first the enqueued-limit decisions of the batches whose validation ended (in the
 * order their validations ended), then the result files of the batches that ended. A batch that has ended can
 * never count against a later decision, so only pending batches are looked at.
 *
 * @internal
 */
export const settle = (state: State, now: number, limits: Lifecycle.Limits): State => {
  if (now < state.nextEventAt) return state
  let batches = state.batches
  const toDecide: Array<LiveBatch> = []
  const admittedBefore: Array<Lifecycle.Enqueuing> = []
  for (const id of state.pending) {
    const batch = liveBatch(state, id)
    if (batch === undefined) continue
    if (batch.admission._tag === "Undecided") {
      if (Lifecycle.validationEndOf(batch) <= now) toDecide.push(batch)
    } else if (isEnqueuable(batch)) {
      admittedBefore.push(enqueuing(batch))
    }
  }
  if (toDecide.length > 0) {
    const limited = limits.tokens !== undefined || limits.requests !== undefined
    const rejected = limited
      ? Lifecycle.decideAdmissions(
        toDecide.filter(Lifecycle.reachesAdmission).map(enqueuing),
        admittedBefore,
        limits
      )
      : new Map<string, ErrorItem>()
    for (const batch of toDecide) {
      const error = rejected.get(batch.id)
      // A batch that never reaches the check (invalid, scripted to fail, cancelled while validating) is marked
      // admitted; `reachesAdmission` keeps it out of every count.
      const admission: Lifecycle.Admission = error === undefined ? Lifecycle.admitted : { _tag: "Rejected", error }
      batches = HashMap.set(batches, batch.id, { ...batch, admission })
    }
  }
  let files = state.files
  let counter = state.counter
  let nextEventAt = Number.POSITIVE_INFINITY
  const pending: Array<string> = []
  const ended: Array<OutboxEvent> = []
  let events = state.events
  for (const id of state.pending) {
    const found = Option.getOrUndefined(HashMap.get(batches, id))
    if (found === undefined || found._tag !== "Live") continue
    const batch = found
    const end = Lifecycle.endOf(batch)
    if (end > now) {
      pending.push(id)
      const decision = batch.admission._tag === "Undecided" ? Lifecycle.validationEndOf(batch) : end
      nextEventAt = Math.min(nextEventAt, decision, end)
      continue
    }
    const phase = Lifecycle.phaseAt(batch, now)
    if (state.outbox !== undefined) {
      ended.push({
        id: eventIdOf(++events),
        type: eventTypes[phase.status] ?? "batch.completed",
        batchId: batch.id,
        endedAtMs: phase.endedAt ?? now
      })
    }
    if (phase.status === "failed") continue
    const content = Results.resultFiles(batch.resultLines, batch.tally, phase.processed, phase.status === "expired")
    const createdAt = seconds(phase.endedAt ?? now)
    const expiresAt = batch.outputExpiresAfter === undefined ? null : createdAt + batch.outputExpiresAfter
    const write = (kind: string, bytes: Uint8Array | undefined): string | null => {
      if (bytes === undefined) return null
      counter++
      const file: StoredFile = {
        id: fileIdOf(counter),
        filename: `${batch.id}_${kind}.jsonl`,
        purpose: "batch_output",
        created_at: createdAt,
        expires_at: expiresAt,
        content: bytes,
        seq: counter
      }
      files = HashMap.set(files, file.id, file)
      return file.id
    }
    const outputFileId = write("output", content.output)
    const errorFileId = write("error", content.error)
    batches = HashMap.set(batches, id, { ...batch, outputFileId, errorFileId })
  }
  const outbox = ended.length === 0 || state.outbox === undefined
    ? state.outbox
    : [...state.outbox, ...ended.sort((a, b) => a.endedAtMs - b.endedAtMs)]
  return { ...state, batches, files, counter, pending, nextEventAt, outbox, events }
}

/**
 * What `model` has enqueued at `now` (on a settled state): its admitted batches whose validation ended and that
 * have not ended.
 *
 * @internal
 */
export const enqueued = (state: State, model: string, now: number) => {
  const ledger: Array<Lifecycle.Enqueuing> = []
  for (const id of state.pending) {
    const batch = liveBatch(state, id)
    if (batch !== undefined && isEnqueuable(batch)) ledger.push(enqueuing(batch))
  }
  return Lifecycle.enqueuedAt(ledger, model, now)
}
