/**
 * Faults decided before a request's body is read: the HTTP server asks whether the connection is to be reset
 * while the body is still arriving (`ResetDuringBody`), before it reads the body. Kept off the public
 * `Simulator` interface: a simulator registers its answer here when it is made, and a copy of it (the
 * accelerated-clock view of the server) registers the same answer on its clock.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Fault, SimRequest, Simulator } from "./model.js"

type Check = (head: SimRequest) => Effect.Effect<boolean>

const registry = new WeakMap<Simulator, Check>()
/** Requests whose early faults were decided already: `handle` does not decide them again. */
const checked = new WeakSet<SimRequest>()

/** Marks a request (the one given to `handle`) as checked for early faults. @internal */
export const markChecked = (request: SimRequest): SimRequest => {
  checked.add(request)
  return request
}

/** Whether `fault` is decided before the body is read. @internal */
export const isEarly = (fault: Fault): boolean => fault._tag === "ResetDuringBody"

/** The faults `handle` may still apply to `request`: all, or the late ones when its early ones were decided. @internal */
export const lateOnly = (request: SimRequest): ((fault: Fault) => boolean) | undefined =>
  checked.has(request) ? isLate : undefined

const isLate = (fault: Fault) => !isEarly(fault)

/** @internal */
export const register = (simulator: Simulator, check: Check): void => {
  registry.set(simulator, check)
}

/** @internal */
export const checkOf = (simulator: Simulator): Check | undefined => registry.get(simulator)

/**
 * Whether the next fault matching `head` (its body still empty) resets the connection during the body; if so it
 * is taken and logged.
 *
 * @internal
 */
export const resetsDuringBody = (simulator: Simulator, head: SimRequest): Effect.Effect<boolean> =>
  registry.get(simulator)?.(head) ?? Effect.succeed(false)
