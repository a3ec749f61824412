/**
 * Admission under the per-model enqueued limits of the Batch API.
 *
 * The API lets an organisation have at most so many *enqueued tokens* (and requests) per model in batches that
 * passed validation and have not ended. It does not refuse a create that would go over: the batch is accepted,
 * then fails after validating with `token_limit_exceeded`. So a job keeps its own ledger: each part's tokens are
 * estimated conservatively, a part's batch is created only when the estimated in-flight total plus the part fits
 * the budget (times a safety factor), and its reservation is released when its batch ends.
 *
 * Read your tier's numbers on the platform's limits page (Settings → Organization → Limits: the "batch queue
 * limit" column, per model), and pass them as `{ tokens, requests }` per model.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as STM from "effect/STM"
import * as TRef from "effect/TRef"
import type * as BatchLine from "./BatchLine.js"

// ---------------------------------------------------------------------------------------------------------------
// Budgets
// ---------------------------------------------------------------------------------------------------------------

/**
 * The enqueued limits of one model. An absent limit is no limit.
 *
 * @since 0.2.0
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
 * @since 0.2.0
 * @category Models
 */
export type Budgets = Budget | { readonly [model: string]: Budget } | ((model: string) => Budget)

/**
 * Defaults: use at most 95% of a budget (the estimate is already conservative), and cut parts to at most a quarter
 * of it, so that several parts fit together and the budget stays nearly full while parts wait.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaults = {
  safetyFactor: 0.95,
  partFraction: 0.25,
  charsPerToken: 3
} as const

const isBudget = (value: unknown): value is Budget =>
  Predicate.isRecord(value) &&
  Object.keys(value).every((key) => key === "tokens" || key === "requests") &&
  (value["tokens"] === undefined || typeof value["tokens"] === "number") &&
  (value["requests"] === undefined || typeof value["requests"] === "number")

/**
 * The budget of `model` under `budgets` (no limit when none is given).
 *
 * @since 0.2.0
 * @category Budgets
 */
export const budgetOf = (budgets: Budgets | undefined, model: string): Budget => {
  if (budgets === undefined) return {}
  if (typeof budgets === "function") return budgets(model)
  if (isBudget(budgets)) return budgets
  return budgets[model] ?? budgets["*"] ?? {}
}

/**
 * The usable share of a budget: `limit × safetyFactor`, rounded down; `Infinity` for no limit.
 *
 * @since 0.2.0
 * @category Budgets
 */
export const effective = (limit: number | undefined, safetyFactor: number = defaults.safetyFactor): number =>
  limit === undefined ? Infinity : Math.floor(limit * safetyFactor)

/**
 * Why a budget cannot work, or `undefined`: limits must be positive numbers and the safety factor in (0, 1].
 *
 * @since 0.2.0
 * @category Budgets
 */
export const budgetIssue = (budget: Budget, safetyFactor: number): string | undefined => {
  if (!(safetyFactor > 0 && safetyFactor <= 1)) return `the safety factor must be in (0, 1], got ${safetyFactor}`
  for (const [name, limit] of [["tokens", budget.tokens], ["requests", budget.requests]] as const) {
    if (limit !== undefined && !(Number.isFinite(limit) && limit > 0)) {
      return `the ${name} budget must be a positive number, got ${limit}`
    }
    if (limit !== undefined && effective(limit, safetyFactor) < 1) {
      return `the ${name} budget (${limit} × ${safetyFactor}) leaves room for nothing`
    }
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// Estimating
// ---------------------------------------------------------------------------------------------------------------

/**
 * Estimates a request's enqueued tokens. The default is `estimateTokens`.
 *
 * @since 0.2.0
 * @category Models
 */
export type Estimator = (request: BatchLine.BatchRequestInput) => number

const textLength = (content: unknown): number => {
  if (typeof content === "string") return content.length
  if (Array.isArray(content)) {
    let total = 0
    for (const part of content) total += textLength(part)
    return total
  }
  if (Predicate.isRecord(content)) {
    // Text parts ({ type: "text" | "input_text", text }), messages and items with `content`.
    let total = 0
    if (typeof content["text"] === "string") total += content["text"].length
    if (content["content"] !== undefined) total += textLength(content["content"])
    return total
  }
  return 0
}

const numberField = (body: Record<string, unknown>, name: string): number => {
  const value = body[name]
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0
}

/**
 * A conservative estimate of a request's enqueued tokens: the prompt's characters divided by `charsPerToken`
 * (default 3: real text averages about 4 characters per token, so this over-counts), rounded up, plus the most the
 * request may generate (`max_tokens`, `max_completion_tokens` or `max_output_tokens`, times `n`).
 *
 * The prompt is: the `messages`' text for chat completions, `input` for embeddings (a token array counts one token
 * per number) and responses, `prompt` for completions, and the whole body's JSON for any other endpoint. Images
 * and files are not counted: pass your own estimator if you send them.
 *
 * @example
 * ```ts
 * import { BatchLine, JobBudget } from "effect-openai-batch"
 *
 * const question = BatchLine.chatCompletion("q-1", {
 *   model: "gpt-4o-mini",
 *   messages: [{ role: "user", content: "What is the capital of France?" }], // 30 characters: 10 tokens
 *   max_tokens: 50
 * })
 * assert.strictEqual(JobBudget.estimateTokens(question), 60)
 * ```
 *
 * @since 0.2.0
 * @category Estimating
 */
export const estimateTokens = (
  request: BatchLine.BatchRequestInput,
  charsPerToken: number = defaults.charsPerToken
): number => {
  const body: Record<string, unknown> = request.body
  let chars = 0
  let tokens = 0
  switch (request.url) {
    case "/v1/chat/completions":
      chars = textLength(body["messages"])
      break
    case "/v1/embeddings":
    case "/v1/responses":
    case "/v1/completions":
    case "/v1/moderations": {
      const input = request.url === "/v1/completions" ? body["prompt"] : body["input"]
      if (Array.isArray(input) && input.every((item) => typeof item === "number")) tokens += input.length
      else if (Array.isArray(input) && input.every(Array.isArray)) {
        for (const item of input) tokens += item.length
      } else chars = textLength(input)
      break
    }
    default:
      chars = JSON.stringify(body).length
  }
  const output = Math.max(
    numberField(body, "max_tokens"),
    numberField(body, "max_completion_tokens"),
    numberField(body, "max_output_tokens")
  )
  const n = Math.max(1, numberField(body, "n"))
  return tokens + Math.ceil(chars / charsPerToken) + output * n
}

// ---------------------------------------------------------------------------------------------------------------
// The ledger
// ---------------------------------------------------------------------------------------------------------------

/**
 * What a part asks for: its model, estimated tokens and requests.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Claim {
  readonly model: string
  readonly tokens: number
  readonly requests: number
}

/**
 * The estimated in-flight totals of one model, against its budget.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Usage {
  readonly model: string
  readonly tokens: number
  readonly requests: number
  /** The usable budget (`limit × safetyFactor`); `Infinity` for no limit. */
  readonly tokenBudget: number
  readonly requestBudget: number
  /** Claims waiting for room. */
  readonly waiting: number
  /** How many reservations of this model were released so far (a clock for "something ended"). */
  readonly released: number
}

/**
 * The in-process ledger of a job's reservations. Admission is first come, first served per model (a waiting part
 * is not overtaken by a later one), and never lets the estimated in-flight total exceed the usable budget.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Ledger {
  /** Waits until the claim fits (in turn), then reserves it. */
  readonly reserve: (claim: Claim) => Effect.Effect<void>
  /** Reserves without waiting: for a batch already in flight that a resumed job finds. */
  readonly reserveNow: (claim: Claim) => Effect.Effect<void>
  readonly release: (claim: Claim) => Effect.Effect<void>
  readonly usage: (model: string) => Effect.Effect<Usage>
  /** Waits until a reservation of `model` is released after `released` (see `Usage.released`), or `timeout`. */
  readonly awaitRelease: (model: string, released: number, timeout: Duration.DurationInput) => Effect.Effect<void>
}

interface ModelState {
  readonly tokens: number
  readonly requests: number
  readonly queue: ReadonlyArray<number>
  readonly released: number
}

const empty: ModelState = { tokens: 0, requests: 0, queue: [], released: 0 }

/**
 * A ledger over `budgets` (see `Budgets`), with `safetyFactor` applied to every limit.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeLedger = (
  budgets: Budgets | undefined,
  safetyFactor: number = defaults.safetyFactor
): Effect.Effect<Ledger> =>
  Effect.gen(function*() {
    const state = yield* TRef.make(new Map<string, ModelState>())
    let tickets = 0
    const limits = new Map<string, { readonly tokens: number; readonly requests: number }>()
    const limitOf = (model: string) => {
      let limit = limits.get(model)
      if (limit === undefined) {
        const budget = budgetOf(budgets, model)
        limit = { tokens: effective(budget.tokens, safetyFactor), requests: effective(budget.requests, safetyFactor) }
        limits.set(model, limit)
      }
      return limit
    }
    const get = (model: string) => STM.map(TRef.get(state), (all) => all.get(model) ?? empty)
    const set = (model: string, next: ModelState) => TRef.update(state, (all) => new Map(all).set(model, next))
    const fits = (model: string, current: ModelState, claim: Claim) => {
      const limit = limitOf(model)
      // A part alone always fits: the planner never makes one larger than the budget.
      const alone = current.tokens === 0 && current.requests === 0
      return alone ||
        (current.tokens + claim.tokens <= limit.tokens && current.requests + claim.requests <= limit.requests)
    }
    const add = (current: ModelState, claim: Claim, sign: 1 | -1): ModelState => ({
      ...current,
      tokens: Math.max(0, current.tokens + sign * claim.tokens),
      requests: Math.max(0, current.requests + sign * claim.requests)
    })

    const reserve = (claim: Claim) =>
      Effect.suspend(() => {
        const ticket = ++tickets
        const enqueue = STM.flatMap(
          get(claim.model),
          (current) => set(claim.model, { ...current, queue: [...current.queue, ticket] })
        )
        const admit = STM.flatMap(
          get(claim.model),
          (current) =>
            current.queue[0] === ticket && fits(claim.model, current, claim)
              ? set(claim.model, { ...add(current, claim, 1), queue: current.queue.slice(1) })
              : STM.retry
        )
        const leave = STM.flatMap(
          get(claim.model),
          (current) => set(claim.model, { ...current, queue: current.queue.filter((t) => t !== ticket) })
        )
        return Effect.uninterruptibleMask((restore) =>
          Effect.zipRight(
            STM.commit(enqueue),
            restore(STM.commit(admit)).pipe(Effect.onInterrupt(() => STM.commit(leave)))
          )
        )
      })

    const reserveNow = (claim: Claim) =>
      STM.commit(STM.flatMap(get(claim.model), (current) => set(claim.model, add(current, claim, 1))))

    const release = (claim: Claim) =>
      STM.commit(
        STM.flatMap(
          get(claim.model),
          (current) => set(claim.model, { ...add(current, claim, -1), released: current.released + 1 })
        )
      )

    const usage = (model: string) =>
      STM.commit(STM.map(get(model), (current): Usage => {
        const limit = limitOf(model)
        return {
          model,
          tokens: current.tokens,
          requests: current.requests,
          tokenBudget: limit.tokens,
          requestBudget: limit.requests,
          waiting: current.queue.length,
          released: current.released
        }
      }))

    const awaitRelease = (model: string, released: number, timeout: Duration.DurationInput) =>
      STM.commit(STM.flatMap(get(model), (current) => current.released > released ? STM.void : STM.retry)).pipe(
        Effect.timeoutOption(timeout),
        Effect.map(Option.getOrUndefined),
        Effect.asVoid
      )

    return { reserve, reserveNow, release, usage, awaitRelease } satisfies Ledger
  })
