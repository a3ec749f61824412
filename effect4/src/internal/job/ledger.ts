/**
 * The ledger of enqueued tokens and requests per model, shared by every job that uses it (one per client layer, so
 * one per organisation), and adaptive: the configured budget is a ceiling, the API's late failures are the truth.
 *
 * Admission: a claim is admitted, first come first served per model, when the model's reserved total plus the claim
 * fits under the smallest of the claim's own ceiling (its job's budget times its safety factor), the limit learned
 * from the API, and the limit the API named in a failure message. A claim alone (nothing of its model reserved)
 * always fits: a part is never larger than its own ceiling, and with nothing in flight only the API can tell.
 *
 * Learning (multiplicative decrease, additive increase, with the increase halved at each failure):
 * - A batch that fails late on an enqueued limit proves that what was in flight with it was all the room there was.
 *   The learned limit drops to what stays reserved once its claim is released (never to less than one). A failure
 *   therefore never opens room for a re-send: only a batch that ends (and so frees room in the API) does.
 * - Each batch that ends after running frees room: the learned limit grows by `c² / limit` (one claim of size `c`
 *   per full window of completions, as TCP's congestion avoidance), divided by `2^(k-1)` after the k-th failure.
 *   Once it reaches the largest ceiling any claim carried, it is forgotten and the count of failures restarts.
 *
 * The bound, with the organisation's other usage steady: after the first failure, which may catch the B claims of
 * the model in flight at once, the k-th further failure needs at least `m·2^(k-1)` completions before it (`m`
 * claims fit in the limit), so a model sees at most `B + ⌈log2 P⌉ + 1` late failures over `P` completed parts.
 *
 * This module is the arithmetic, as pure functions of a model's state; `JobBudget.make` keeps the states in an
 * STM `TRef`, so a waiting claim is woken by any change to its model's state.
 *
 * @internal
 */
import type * as JobBudget from "../../JobBudget.js"

/** Tokens and requests. @internal */
export interface Limits {
  readonly tokens: number
  readonly requests: number
}

/** One model's state. @internal */
export interface ModelState {
  /** Reserved (estimated in flight) by this ledger. */
  readonly tokens: number
  readonly requests: number
  /** Tickets waiting, in order. */
  readonly queue: ReadonlyArray<number>
  /** Learned limits: `Infinity` when nothing was learned. */
  readonly learned: Limits
  /** The limits the API named in its failure messages, times the safety factor: `Infinity` until one did. */
  readonly named: Limits
  /** The largest ceiling a claim of this model carried (a learned limit that reaches it is forgotten). */
  readonly ceiling: Limits
  /** Failures since the learned limits were last forgotten (each halves the growth). */
  readonly streak: number
  readonly completed: number
  readonly limitFailures: number
}

/** No limit. @internal */
export const none: Limits = { tokens: Infinity, requests: Infinity }

/** A model nothing was asked of yet. @internal */
export const empty: ModelState = {
  tokens: 0,
  requests: 0,
  queue: [],
  learned: none,
  named: none,
  ceiling: { tokens: 0, requests: 0 },
  streak: 0,
  completed: 0,
  limitFailures: 0
}

const limitOf = (state: ModelState, ceiling: Limits): Limits => ({
  tokens: Math.min(ceiling.tokens, state.learned.tokens, state.named.tokens),
  requests: Math.min(ceiling.requests, state.learned.requests, state.named.requests)
})

/** Whether `claim` fits now (see the module comment: a claim alone always fits). @internal */
export const fits = (state: ModelState, claim: JobBudget.Claim, ceiling: Limits): boolean => {
  if (state.tokens === 0 && state.requests === 0) return true
  const limit = limitOf(state, ceiling)
  return state.tokens + claim.tokens <= limit.tokens && state.requests + claim.requests <= limit.requests
}

const grow = (learned: number, size: number, streak: number, ceiling: number): number => {
  if (!Number.isFinite(learned) || size <= 0) return learned
  const next = learned + (size * size) / Math.max(learned, size) / 2 ** Math.max(0, streak - 1)
  return next >= ceiling ? Infinity : next
}

/** Applies a release to a model's state. @internal */
export const released = (state: ModelState, claim: JobBudget.Claim, outcome: JobBudget.ReleaseOutcome): ModelState => {
  const tokens = Math.max(0, state.tokens - claim.tokens)
  const requests = Math.max(0, state.requests - claim.requests)
  switch (outcome._tag) {
    case "Withdrawn":
      return { ...state, tokens, requests }
    case "Ended": {
      const learned = {
        tokens: grow(state.learned.tokens, claim.tokens, state.streak, state.ceiling.tokens),
        requests: grow(state.learned.requests, claim.requests, state.streak, state.ceiling.requests)
      }
      const forgotten = learned.tokens === Infinity && learned.requests === Infinity
      return {
        ...state,
        tokens,
        requests,
        learned,
        streak: forgotten ? 0 : state.streak,
        completed: state.completed + 1
      }
    }
    case "LimitReached": {
      const left = outcome.dimension === "tokens" ? tokens : requests
      const learned = Math.max(1, Math.min(state.learned[outcome.dimension], left))
      const named = outcome.named === undefined
        ? state.named[outcome.dimension]
        : Math.min(state.named[outcome.dimension], Math.max(1, outcome.named))
      return {
        ...state,
        tokens,
        requests,
        learned: { ...state.learned, [outcome.dimension]: learned },
        named: { ...state.named, [outcome.dimension]: named },
        streak: state.streak + 1,
        limitFailures: state.limitFailures + 1
      }
    }
  }
}

/** A claim in the queue, under `ceiling` (the largest ceiling seen is kept: a learned limit reaching it is forgotten). @internal */
export const enqueued = (state: ModelState, ticket: number, ceiling: Limits): ModelState => ({
  ...withCeiling(state, ceiling),
  queue: [...state.queue, ticket]
})

/** The first in the queue, admitted. @internal */
export const admitted = (state: ModelState, claim: JobBudget.Claim): ModelState => ({
  ...state,
  tokens: state.tokens + claim.tokens,
  requests: state.requests + claim.requests,
  queue: state.queue.slice(1)
})

/** A waiter that gave up. @internal */
export const left = (state: ModelState, ticket: number): ModelState => ({
  ...state,
  queue: state.queue.filter((t) => t !== ticket)
})

/** A claim taken at once (a batch in flight that a resumed job finds). @internal */
export const taken = (state: ModelState, claim: JobBudget.Claim, ceiling: Limits): ModelState => ({
  ...withCeiling(state, ceiling),
  tokens: state.tokens + claim.tokens,
  requests: state.requests + claim.requests
})

const withCeiling = (state: ModelState, ceiling: Limits): ModelState => ({
  ...state,
  ceiling: {
    tokens: Math.max(state.ceiling.tokens, ceiling.tokens),
    requests: Math.max(state.ceiling.requests, ceiling.requests)
  }
})

/** A model's state as `JobBudget.Usage`. @internal */
export const usageOf = (model: string, state: ModelState, ceiling: Limits) => {
  const limit = limitOf(state, ceiling)
  return {
    model,
    tokens: state.tokens,
    requests: state.requests,
    tokenBudget: limit.tokens,
    requestBudget: limit.requests,
    learned: Number.isFinite(state.learned.tokens) || Number.isFinite(state.learned.requests),
    waiting: state.queue.length,
    completed: state.completed,
    limitFailures: state.limitFailures
  }
}
