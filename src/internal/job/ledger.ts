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
 * Written with STM (`TRef` and `STM.retry`): a waiting claim is woken by any change to its model's state, and an
 * interrupted waiter leaves the queue in the same transaction.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as STM from "effect/STM"
import * as TRef from "effect/TRef"
import type * as JobBudget from "../../JobBudget.js"

interface Limits {
  readonly tokens: number
  readonly requests: number
}

interface ModelState {
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

const none: Limits = { tokens: Infinity, requests: Infinity }

const empty: ModelState = {
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

const fits = (state: ModelState, claim: JobBudget.Claim, ceiling: Limits): boolean => {
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
export const released = (
  state: ModelState,
  claim: JobBudget.Claim,
  outcome: JobBudget.ReleaseOutcome
): ModelState => {
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

/** A ledger (see the module comment). @internal */
export const make: Effect.Effect<JobBudget.LedgerService> = Effect.gen(function*() {
  const models = yield* TRef.make(new Map<string, ModelState>())
  let tickets = 0

  const get = (model: string) => STM.map(TRef.get(models), (all) => all.get(model) ?? empty)
  const modify = (model: string, f: (state: ModelState) => ModelState) =>
    TRef.update(models, (all) => new Map(all).set(model, f(all.get(model) ?? empty)))

  const usageOf = (model: string, state: ModelState, ceiling: Limits): JobBudget.Usage => {
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

  const reservation = (claim: JobBudget.Claim): JobBudget.Reservation => {
    let done = false
    return {
      claim,
      release: (outcome) =>
        Effect.suspend(() => {
          if (done) return Effect.void
          done = true
          return STM.commit(modify(claim.model, (state) => released(state, claim, outcome)))
        })
    }
  }

  const withCeiling = (state: ModelState, ceiling: Limits): ModelState => ({
    ...state,
    ceiling: {
      tokens: Math.max(state.ceiling.tokens, ceiling.tokens),
      requests: Math.max(state.ceiling.requests, ceiling.requests)
    }
  })

  const reserve = (claim: JobBudget.Claim, ceiling: Limits) =>
    Effect.suspend(() => {
      const ticket = ++tickets
      const enqueue = modify(
        claim.model,
        (state) => ({ ...withCeiling(state, ceiling), queue: [...state.queue, ticket] })
      )
      const admit = STM.flatMap(get(claim.model), (state) =>
        state.queue[0] === ticket && fits(state, claim, ceiling)
          ? modify(claim.model, () => ({
            ...state,
            tokens: state.tokens + claim.tokens,
            requests: state.requests + claim.requests,
            queue: state.queue.slice(1)
          }))
          : STM.retry)
      const leave = modify(claim.model, (state) => ({ ...state, queue: state.queue.filter((t) => t !== ticket) }))
      return Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          STM.commit(enqueue),
          restore(STM.commit(admit)).pipe(Effect.onInterrupt(() => STM.commit(leave)))
        )
      ).pipe(Effect.as(reservation(claim)))
    })

  const reserveNow = (claim: JobBudget.Claim, ceiling: Limits) =>
    STM.commit(modify(claim.model, (state) => ({
      ...withCeiling(state, ceiling),
      tokens: state.tokens + claim.tokens,
      requests: state.requests + claim.requests
    }))).pipe(Effect.as(reservation(claim)))

  const usage = (model: string, ceiling: Limits = none) =>
    STM.commit(STM.map(get(model), (state) => usageOf(model, state, ceiling)))

  return { reserve, reserveNow, usage } satisfies JobBudget.LedgerService
})
