/**
 * Admission under the per-model enqueued limits of the Batch API.
 *
 * The API lets an organisation have at most so many *enqueued tokens* (and requests) per model in batches that
 * passed validation and have not ended. It does not refuse a create that would go over: the batch is accepted,
 * then fails after validating with `token_limit_exceeded`. So jobs keep a ledger: each part's tokens are estimated
 * conservatively (`estimateTokens`), a part's batch is created only when the model's reserved total plus the part
 * fits, and its reservation is released when its batch ends.
 *
 * The limit is the organisation's, shared by everything that uses it: every job of a program, other programs,
 * other teams. So the ledger is a service (`Ledger`) that every job of a program shares (the client layers
 * provide one, `BatchClient.layerFromEnv` among them), and it is adaptive: a job's `budget` is a ceiling, not the
 * truth. When a batch fails late on an enqueued limit, the ledger lowers the model's limit to what was still in
 * flight (so a failure never opens room for a re-send), and grows it back as batches end: additive increase, its
 * step halved at each failure, so late failures stay bounded (about `B + log2(parts)` per model, `B` the batches in
 * flight when the limit is first hit) instead of growing with the number of parts. What other processes enqueue is
 * seen only through these failures.
 *
 * Read your tier's numbers on the platform's limits page (Settings → Organization → Limits: the "batch queue
 * limit" column, per model), and pass them as `{ tokens, requests }` per model.
 *
 * @since 4.0.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TxRef from "effect/TxRef"
import * as Ledgers from "./internal/job/ledger.js"

// ---------------------------------------------------------------------------------------------------------------
// Budgets
// ---------------------------------------------------------------------------------------------------------------

/**
 * The enqueued limits of one model. An absent limit is no limit.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Budget {
  /** Enqueued tokens, e.g. `2_000_000` for `gpt-4o-mini` at a low tier. */
  readonly tokens?: number | undefined
  /** Enqueued requests. */
  readonly requests?: number | undefined
}

/**
 * The budgets of a job: one for every model, per model (the key `"*"` is every other model), or a function of the
 * model.
 *
 * @since 4.0.0
 * @category Models
 */
export type Budgets = Budget | { readonly [model: string]: Budget } | ((model: string) => Budget)

/**
 * Defaults: use at most 95% of a budget (the estimate is already conservative), and cut parts to at most a quarter
 * of it, so that several parts fit together and the budget stays nearly full while parts wait.
 *
 * @since 4.0.0
 * @category Constants
 */
export const defaults = {
  safetyFactor: 0.95,
  partFraction: 0.25
} as const

// ---------------------------------------------------------------------------------------------------------------
// The ledger
// ---------------------------------------------------------------------------------------------------------------

/**
 * What a part asks for: its model, estimated tokens and requests.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Claim {
  readonly model: string
  readonly tokens: number
  readonly requests: number
}

/**
 * A model's reserved total against its limit, as a job sees it.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Usage {
  readonly model: string
  /** Reserved: the estimated tokens and requests of the model's batches in flight (of every job on the ledger). */
  readonly tokens: number
  readonly requests: number
  /** The limit admission uses now: the job's usable budget, or less if the API taught the ledger less. */
  readonly tokenBudget: number
  readonly requestBudget: number
  /** Whether the limit is below the budget because the API failed batches on it. */
  readonly learned: boolean
  /** Claims waiting for room. */
  readonly waiting: number
  /** Batches of the model that ended after running (each freed room in the API). */
  readonly completed: number
  /** Batches of the model that failed late on an enqueued limit. */
  readonly limitFailures: number
}

/**
 * How a reservation ends: its batch `Ended` after running (it freed room in the API: the limit may grow), its batch
 * failed on the `LimitReached` (the limit shrinks to what stays in flight; `named` is the limit the API's message
 * gave, times the safety factor), or it is `Withdrawn` (no batch, or one that failed for another reason: nothing
 * learned).
 *
 * @since 4.0.0
 * @category Models
 */
export type ReleaseOutcome =
  | { readonly _tag: "Ended" }
  | { readonly _tag: "LimitReached"; readonly dimension: "tokens" | "requests"; readonly named?: number | undefined }
  | { readonly _tag: "Withdrawn" }

/**
 * A claim taken: released once, by the end of its batch (a second release does nothing).
 *
 * @since 4.0.0
 * @category Models
 */
export interface Reservation {
  readonly claim: Claim
  readonly release: (outcome: ReleaseOutcome) => Effect.Effect<void>
}

/**
 * The usable ceilings a claim is admitted under: its job's budget for the model times the safety factor
 * (`Infinity`: no limit).
 *
 * @since 4.0.0
 * @category Models
 */
export interface Ceiling {
  readonly tokens: number
  readonly requests: number
}

/**
 * The ledger's operations.
 *
 * @since 4.0.0
 * @category Models
 */
export interface LedgerService {
  /** Waits until the claim fits (first come, first served per model), then reserves it. */
  readonly reserve: (claim: Claim, ceiling: Ceiling) => Effect.Effect<Reservation>
  /** Reserves without waiting: for a batch already in flight that a resumed job finds. */
  readonly reserveNow: (claim: Claim, ceiling: Ceiling) => Effect.Effect<Reservation>
  /** The model's reserved total and limit under `ceiling` (default: none). */
  readonly usage: (model: string, ceiling?: Ceiling) => Effect.Effect<Usage>
}

/**
 * The ledger every job of a program shares: one per organisation, so one per client layer (see the module comment).
 *
 * @since 4.0.0
 * @category Context
 */
export class Ledger extends Context.Service<Ledger, LedgerService>()("effect-openai-batch/JobBudget/Ledger") {}

/**
 * A new, empty ledger.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make: Effect.Effect<LedgerService> = Effect.gen(function*() {
  // Every model's state in one TxRef: a waiting claim retries its transaction whenever any of them changes.
  const models = yield* TxRef.make(new Map<string, Ledgers.ModelState>())
  let tickets = 0

  const get = (model: string) => Effect.map(TxRef.get(models), (all) => all.get(model) ?? Ledgers.empty)
  const modify = (model: string, f: (state: Ledgers.ModelState) => Ledgers.ModelState) =>
    TxRef.update(models, (all) => new Map(all).set(model, f(all.get(model) ?? Ledgers.empty)))

  const reservation = (claim: Claim): Reservation => {
    let done = false
    return {
      claim,
      release: (outcome) =>
        Effect.suspend(() => {
          if (done) return Effect.void
          done = true
          return Effect.tx(modify(claim.model, (state) => Ledgers.released(state, claim, outcome)))
        })
    }
  }

  const reserve = (claim: Claim, ceiling: Ceiling) =>
    Effect.suspend(() => {
      const ticket = ++tickets
      const admit = Effect.tx(Effect.flatMap(get(claim.model), (state) =>
        state.queue[0] === ticket && Ledgers.fits(state, claim, ceiling)
          ? modify(claim.model, (current) => Ledgers.admitted(current, claim))
          : Effect.txRetry))
      // The ticket joins the queue, then waits its turn; interrupted, it leaves the queue in one transaction.
      return Effect.uninterruptibleMask((restore) =>
        Effect.andThen(
          Effect.tx(modify(claim.model, (state) =>
            Ledgers.enqueued(state, ticket, ceiling))),
          restore(admit).pipe(
            Effect.onInterrupt(() => Effect.tx(modify(claim.model, (state) => Ledgers.left(state, ticket))))
          )
        )
      ).pipe(Effect.as(reservation(claim)))
    })

  const reserveNow = (claim: Claim, ceiling: Ceiling) =>
    Effect.tx(modify(claim.model, (state) => Ledgers.taken(state, claim, ceiling))).pipe(
      Effect.as(reservation(claim))
    )

  const usage = (model: string, ceiling: Ceiling = Ledgers.none): Effect.Effect<Usage> =>
    Effect.tx(Effect.map(get(model), (state) => Ledgers.usageOf(model, state, ceiling)))

  return { reserve, reserveNow, usage }
})

/**
 * A layer with a new ledger: provide it once for everything that shares an organisation's limits (the client
 * layers already do).
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer: Layer.Layer<Ledger> = Layer.effect(Ledger, make)
