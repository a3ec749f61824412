/**
 * A batch's lifecycle as a pure function of time: from its script, its creation and cancel times and the
 * enqueued-limit decision taken at the end of its validation, `phaseAt` says where it is at any instant. Nothing
 * runs in the background, so a `TestClock` jump of hours is one call.
 *
 * Enqueued limits (`decideAdmissions`): the API accepts a create, then, when validation ends, fails the batch if
 * the organisation's enqueued tokens (or requests) for its model, over the batches that passed validation and have
 * not ended, plus its own, exceed the limit. Decisions are taken in the order validations end (ties: creation
 * order), and one depends only on batches whose validation ended earlier: the outcome is the same whatever the
 * order and the moments in which requests look at the state.
 *
 * Free of Effect (times are milliseconds; `script.ts` turns a `Script`'s durations into them), so both editions of
 * the library share this file verbatim.
 *
 * @internal
 */
import type { EnqueuedLimit, ErrorItem } from "./model.js"
import { organization } from "./model.js"

/** @internal */
export const dayMs = 24 * 60 * 60 * 1000

/** A script with its durations in milliseconds and the defaults applied (`script.ts`'s `resolve`). @internal */
export interface ResolvedScript {
  readonly validatingMs: number
  /** Unset only for `outcome: "expired"` without `inProgress`: twice the time left until `expires_at`. */
  readonly inProgressMs: number | undefined
  readonly finalizingMs: number
  readonly cancellingMs: number
  readonly outcome: "completed" | "failed" | "expired"
  readonly errors: ReadonlyArray<ErrorItem> | undefined
  readonly unknownStatus: { readonly status: string; readonly ms: number } | undefined
}

/**
 * The enqueued-limit decision of a batch: not taken yet (its validation has not ended, or nobody looked since),
 * admitted, or rejected with the error it fails with.
 *
 * @internal
 */
export type Admission =
  | { readonly _tag: "Undecided" }
  | { readonly _tag: "Admitted" }
  | { readonly _tag: "Rejected"; readonly error: ErrorItem }

/** @internal */
export const undecided: Admission = { _tag: "Undecided" }
/** @internal */
export const admitted: Admission = { _tag: "Admitted" }

/** What the lifecycle needs to know about a batch. @internal */
export interface LifecycleBatch {
  readonly createdAtMs: number
  readonly script: ResolvedScript
  readonly requestCount: number
  /** Its input file had invalid lines: it fails when validation ends. */
  readonly invalid: boolean
  readonly cancelRequestedAtMs: number | undefined
  readonly admission: Admission
}

interface Timeline {
  readonly validationEnd: number
  readonly inProgressStart: number
  readonly inProgressMs: number
  readonly inProgressEnd: number
  readonly failing: boolean
  /** How and when it ends unless cancelled. */
  readonly natural: { readonly status: "failed" | "expired" | "completed"; readonly at: number }
}

const timeline = (batch: LifecycleBatch): Timeline => {
  const script = batch.script
  const created = batch.createdAtMs
  const expires = created + dayMs
  const validationEnd = created + script.validatingMs
  const failing = script.outcome === "failed" || batch.invalid || batch.admission._tag === "Rejected"
  const inProgressStart = validationEnd + (script.unknownStatus?.ms ?? 0)
  const inProgressMs = script.inProgressMs ?? 2 * Math.max(0, expires - inProgressStart)
  const inProgressEnd = inProgressStart + inProgressMs
  const natural = failing
    ? { status: "failed" as const, at: validationEnd }
    : script.outcome === "expired" || inProgressEnd > expires
    ? { status: "expired" as const, at: expires }
    : { status: "completed" as const, at: inProgressEnd + script.finalizingMs }
  return { validationEnd, inProgressStart, inProgressMs, inProgressEnd, failing, natural }
}

/** When the batch's validation ends. @internal */
export const validationEndOf = (batch: LifecycleBatch): number => batch.createdAtMs + batch.script.validatingMs

/**
 * Whether the batch reaches the enqueued-limit check: its input is valid, its script does not fail it, and it was
 * not cancelled while validating.
 *
 * @internal
 */
export const reachesAdmission = (batch: LifecycleBatch): boolean =>
  !batch.invalid && batch.script.outcome !== "failed" &&
  (batch.cancelRequestedAtMs === undefined || batch.cancelRequestedAtMs >= validationEndOf(batch))

/**
 * When the batch ends (becomes terminal), as things stand: a later cancel can only move it later than the cancel
 * itself, so a past "not ended by then" stays true.
 *
 * @internal
 */
export const endOf = (batch: LifecycleBatch): number => {
  const { natural } = timeline(batch)
  const cancel = cancelOf(batch, natural.at)
  return cancel === undefined ? natural.at : cancel + batch.script.cancellingMs
}

/**
 * The cancel that counts: one requested before the natural end. (The API refuses to cancel an ended batch; only a
 * `scriptBatch` that shortens a cancelled batch can put its natural end first, and then the natural end wins.)
 */
const cancelOf = (batch: LifecycleBatch, naturalEnd: number): number | undefined =>
  batch.cancelRequestedAtMs !== undefined && batch.cancelRequestedAtMs < naturalEnd
    ? batch.cancelRequestedAtMs
    : undefined

/** Where a batch is at one instant. Times are Clock milliseconds. @internal */
export interface Phase {
  readonly status: string
  readonly terminal: boolean
  /** Requests processed (their results are final). */
  readonly processed: number
  readonly total: number
  readonly inProgressAt: number | undefined
  readonly finalizingAt: number | undefined
  readonly completedAt: number | undefined
  readonly failedAt: number | undefined
  readonly expiredAt: number | undefined
  readonly cancellingAt: number | undefined
  readonly cancelledAt: number | undefined
  /** When the batch ended (the creation time of its result files). */
  readonly endedAt: number | undefined
}

/**
 * Where `batch` is at `now`. Requests are processed at an even pace through `in_progress`; a cancel keeps what was
 * processed by then; an expiry keeps what was processed by `expires_at`.
 *
 * @internal
 */
export const phaseAt = (batch: LifecycleBatch, now: number): Phase => {
  const { failing, inProgressEnd, inProgressMs, inProgressStart, natural, validationEnd } = timeline(batch)
  const n = batch.requestCount
  const processedAt = (t: number) =>
    t < inProgressStart
      ? 0
      : inProgressMs <= 0
      ? n
      : Math.min(n, Math.floor((n * (t - inProgressStart)) / inProgressMs))
  const cancelAt = cancelOf(batch, natural.at)
  // The time up to which the batch ran normally.
  const runUntil = Math.min(now, cancelAt ?? now, natural.at)
  // One object literal at the end (no spreads): this runs for every batch in every response.
  let status: string
  let terminal = false
  let processed: number
  let total = now >= validationEnd ? n : 0
  let endedAt: number | undefined
  let cancelledAt: number | undefined
  if (cancelAt !== undefined && now >= cancelAt) {
    const cancelEnd = cancelAt + batch.script.cancellingMs
    terminal = now >= cancelEnd
    status = terminal ? "cancelled" : "cancelling"
    processed = failing ? 0 : cancelAt >= inProgressEnd ? n : processedAt(cancelAt)
    total = cancelAt >= validationEnd && !failing ? n : 0
    cancelledAt = endedAt = terminal ? cancelEnd : undefined
  } else if (now >= natural.at) {
    terminal = true
    status = natural.status
    endedAt = natural.at
    processed = natural.status === "failed" ? 0 : natural.status === "expired" ? processedAt(natural.at) : n
    total = natural.status === "failed" ? 0 : natural.at >= validationEnd ? n : 0
  } else {
    status = now < validationEnd
      ? "validating"
      : now < inProgressStart
      ? batch.script.unknownStatus?.status ?? "in_progress"
      : now < inProgressEnd
      ? "in_progress"
      : "finalizing"
    processed = processedAt(now)
  }
  return {
    status,
    terminal,
    processed,
    total,
    inProgressAt: !failing && runUntil >= inProgressStart ? inProgressStart : undefined,
    finalizingAt: !failing && natural.status !== "expired" && runUntil >= inProgressEnd ? inProgressEnd : undefined,
    completedAt: status === "completed" ? endedAt : undefined,
    failedAt: status === "failed" ? endedAt : undefined,
    expiredAt: status === "expired" ? endedAt : undefined,
    cancellingAt: cancelAt !== undefined && now >= cancelAt ? cancelAt : undefined,
    cancelledAt,
    endedAt
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Enqueued limits
// ---------------------------------------------------------------------------------------------------------------

/** The limits of `Options`. @internal */
export interface Limits {
  readonly tokens: EnqueuedLimit | undefined
  readonly requests: EnqueuedLimit | undefined
}

/** A batch as the enqueued ledger sees it. @internal */
export interface Enqueuing {
  readonly id: string
  /** Creation order: breaks ties between validations that end at the same instant. */
  readonly seq: number
  readonly model: string | undefined
  readonly tokens: number
  readonly requests: number
  readonly validationEnd: number
  /** When it ends if admitted. */
  readonly end: number
}

/** The limit for `model`, if any. @internal */
export const limitFor = (limit: EnqueuedLimit | undefined, model: string): number | undefined =>
  limit === undefined
    ? undefined
    : typeof limit === "number"
    ? limit
    : Object.hasOwn(limit, model)
    ? limit[model]
    : Object.hasOwn(limit, "*")
    ? limit["*"]
    : undefined

/** `2000000` as `2,000,000`, whatever the runtime's locale support. */
const thousands = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",")

const limitError = (kind: "token" | "request", model: string, limit: number): ErrorItem => ({
  code: `${kind}_limit_exceeded`,
  message: `Enqueued ${kind} limit reached for ${model} in organization ${organization}. Limit: ${
    thousands(limit)
  } enqueued ${kind}s. Please try again once some in_progress batches have been completed.`,
  param: null,
  line: null
})

const before = (a: Enqueuing, b: Enqueuing) =>
  a.validationEnd < b.validationEnd || (a.validationEnd === b.validationEnd && a.seq < b.seq)

/**
 * What `model` has enqueued at `at`, over `batches` (all admitted): those whose validation ended by then (and
 * came before `first`, when given) and that have not ended.
 *
 * @internal
 */
export const enqueuedAt = (
  batches: Iterable<Enqueuing>,
  model: string,
  at: number,
  first?: Enqueuing
): { readonly tokens: number; readonly requests: number; readonly batches: number } => {
  let tokens = 0
  let requests = 0
  let count = 0
  for (const batch of batches) {
    if (batch.model !== model || batch.validationEnd > at || batch.end <= at) continue
    if (first !== undefined && !before(batch, first)) continue
    tokens += batch.tokens
    requests += batch.requests
    count++
  }
  return { tokens, requests, batches: count }
}

/**
 * Decides the batches whose validation has ended, in the order their validations ended: each is checked against
 * the batches admitted before it (`admitted`, and those admitted earlier in this call) that have not ended by
 * then. Returns the rejected ones with their error; the others are admitted.
 *
 * @internal
 */
export const decideAdmissions = (
  toDecide: ReadonlyArray<Enqueuing>,
  admittedBefore: ReadonlyArray<Enqueuing>,
  limits: Limits
): ReadonlyMap<string, ErrorItem> => {
  const rejected = new Map<string, ErrorItem>()
  const ledger = [...admittedBefore]
  const ordered = [...toDecide].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0))
  for (const batch of ordered) {
    const model = batch.model
    const tokenLimit = model === undefined ? undefined : limitFor(limits.tokens, model)
    const requestLimit = model === undefined ? undefined : limitFor(limits.requests, model)
    if (model !== undefined && (tokenLimit !== undefined || requestLimit !== undefined)) {
      const enqueued = enqueuedAt(ledger, model, batch.validationEnd, batch)
      if (tokenLimit !== undefined && enqueued.tokens + batch.tokens > tokenLimit) {
        rejected.set(batch.id, limitError("token", model, tokenLimit))
        continue
      }
      if (requestLimit !== undefined && enqueued.requests + batch.requests > requestLimit) {
        rejected.set(batch.id, limitError("request", model, requestLimit))
        continue
      }
    }
    ledger.push(batch)
  }
  return rejected
}
