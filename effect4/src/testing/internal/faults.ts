/**
 * Fault injection: the fault values tests queue, and taking the first queued fault that matches a request.
 *
 * @internal
 */
import type { Fault, RequestMatcher, SimRequest } from "./model.js"

/** @internal */
export const rateLimited = (
  options: { readonly retryAfterSeconds?: number; readonly retryAfterMs?: number } = { retryAfterSeconds: 1 }
): Fault => ({ _tag: "RateLimited", ...options })

/** @internal */
export const serverError = (status = 500): Fault => ({ _tag: "ServerError", status })

/** @internal */
export const dropConnection: Fault = { _tag: "Dropped" }

/** @internal */
export const timeout: Fault = { _tag: "Timeout" }

/** @internal */
export const malformedBody: Fault = { _tag: "MalformedBody" }

/** @internal */
export const truncatedBody: Fault = { _tag: "TruncatedBody" }

/** @internal */
export const commitThenDrop: Fault = { _tag: "CommitThenDrop" }

/** @internal */
export const commitThenTimeout: Fault = { _tag: "CommitThenTimeout" }

/** @internal */
export const resetDuringBody: Fault = { _tag: "ResetDuringBody" }

/** @internal */
export const cutDuringBody: Fault = { _tag: "CutDuringBody" }

/** A queued fault and how many more requests it applies to. @internal */
export interface PendingFault {
  readonly fault: Fault
  readonly remaining: number
  readonly match: RequestMatcher | undefined
}

const matches = (matcher: RequestMatcher | undefined, request: SimRequest) => {
  if (matcher === undefined) return true
  if (typeof matcher === "function") return matcher(request)
  if (matcher.method !== undefined && matcher.method.toUpperCase() !== request.method.toUpperCase()) return false
  if (matcher.path === undefined) return true
  return typeof matcher.path === "string" ? matcher.path === request.path : matcher.path.test(request.path)
}

/**
 * The first queued fault matching `request` (among those `only` accepts, when given), and the queue after it was
 * used once. A fault's matcher runs only for the faults `only` accepts.
 *
 * @internal
 */
export const take = (
  faults: ReadonlyArray<PendingFault>,
  request: SimRequest,
  only?: (fault: Fault) => boolean
): readonly [Fault | undefined, ReadonlyArray<PendingFault>] => {
  if (faults.length === 0) return [undefined, faults]
  const index = faults.findIndex((pending) =>
    (only === undefined || only(pending.fault)) && matches(pending.match, request)
  )
  const pending = faults[index]
  if (pending === undefined) return [undefined, faults]
  const rest = pending.remaining > 1
    ? faults.map((f, i) => (i === index ? { ...f, remaining: f.remaining - 1 } : f))
    : faults.filter((_, i) => i !== index)
  return [pending.fault, rest]
}
