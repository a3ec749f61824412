/**
 * What a webhook deliverer needs from a simulator, kept off the public `Simulator` interface (like `early.ts`): the
 * events of the batches that ended (taken once each), the next instant one may end, and a signal that the next
 * instant moved earlier (a batch created or cancelled), so that a sleeping deliverer wakes in time.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type { Simulator } from "./model.js"
import type { OutboxEvent } from "./state.js"

/** @internal */
export interface Outbox {
  /** Settles at Clock now and takes the events since the last call (the first call starts collecting them). */
  readonly drain: Effect.Effect<{ readonly events: ReadonlyArray<OutboxEvent>; readonly nextAt: number }>
  /** Completes when a change moved the next instant earlier than it was. */
  readonly changed: Effect.Effect<void>
}

const registry = new WeakMap<Simulator, Outbox>()

/** @internal */
export const register = (simulator: Simulator, outbox: Outbox): void => {
  registry.set(simulator, outbox)
}

/** @internal */
export const of = (simulator: Simulator): Outbox | undefined => registry.get(simulator)
