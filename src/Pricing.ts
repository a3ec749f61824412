/**
 * Money, not only tokens: a price table you pass (per model, USD per 1M tokens of input, cached input and output,
 * at the standard prices), the Batch API's discount applied, turned into the cost of a batch's usage. A job given
 * a `pricing` option reports the cost of each batch (`PartEnded`), of each part and of the whole job (`PartSummary`,
 * `JobSummary`), and the running cost in `JobProgress`; a model the table does not price is listed with its token
 * counts, never given a guessed cost.
 *
 * How a model finds its price (`match`): its exact name first; else, for a dated snapshot (a name ending in
 * `-YYYY-MM-DD`, e.g. `gpt-4o-mini-2024-07-18`), the name without the date (`gpt-4o-mini`); else it is unknown.
 * A snapshot whose price differs from its alias's (e.g. `gpt-4o-2024-05-13`, listed above `gpt-4o`; see
 * docs/costs.md for the source) must be in the table under its own name. Fine-tuned models (`ft:…`) are matched by their exact name only.
 *
 * The arithmetic is exact: a price is kept as whole picodollars per token (a price per 1M tokens has at most 6
 * decimals; more are rounded), costs are counted in picodollars as `bigint` from whole token counts, and a sum of
 * usages is priced once, so a job's cost is the cost of its summed tokens, not a sum of rounded pieces.
 *
 * No table of OpenAI's prices ships with the library: prices change, and a stale built-in table would bill your
 * reports wrongly without a word. Copy the prices of the models you use from the pricing page.
 *
 * @since 0.3.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

// ---------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------

const Price = Schema.Number.pipe(
  Schema.filter((n) => Number.isFinite(n) && n >= 0, { message: () => "must be a price >= 0 (USD per 1M tokens)" })
)

/**
 * One model's standard (not batch) prices, in USD per 1M tokens. Cached input tokens cost `cachedInput` (default:
 * `input`, as if the cache gave no discount). Reasoning tokens are output tokens and cost `output`.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const ModelPrice = Schema.Struct({
  input: Price,
  cachedInput: Schema.optional(Price),
  output: Price
})

/**
 * @since 0.3.0
 * @category Models
 */
export interface ModelPrice extends Schema.Schema.Type<typeof ModelPrice> {}

/**
 * Prices by model name (see the module comment for how a model finds its entry).
 *
 * @since 0.3.0
 * @category Schemas
 */
export const PriceTable = Schema.Record({ key: Schema.String, value: ModelPrice })

/**
 * @since 0.3.0
 * @category Models
 */
export type PriceTable = typeof PriceTable.Type

/**
 * A job's `pricing` option: the table, and the discount the Batch API takes off the standard prices (a fraction
 * from 0 to 1; default `defaults.batchDiscount`, 0.5).
 *
 * @since 0.3.0
 * @category Schemas
 */
export const Pricing = Schema.Struct({
  prices: PriceTable,
  batchDiscount: Schema.optional(
    Schema.Number.pipe(Schema.between(0, 1, { message: () => "must be a fraction from 0 to 1" }))
  )
})

/**
 * @since 0.3.0
 * @category Models
 */
export interface Pricing extends Schema.Schema.Type<typeof Pricing> {}

/**
 * A cost in USD, by what was billed: uncached input, cached input, output (reasoning included), and their total;
 * the batch discount applied.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const Cost = Schema.Struct({
  input: Schema.Number,
  cachedInput: Schema.Number,
  output: Schema.Number,
  total: Schema.Number
})

/**
 * @since 0.3.0
 * @category Models
 */
export interface Cost extends Schema.Schema.Type<typeof Cost> {}

/**
 * Tokens to price: `input_tokens` include `cached_tokens` (as the API counts them); `output_tokens` include the
 * reasoning tokens. `JobReport.TokenUsage` is one.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Usage {
  readonly input_tokens: number
  readonly cached_tokens: number
  readonly output_tokens: number
}

/**
 * Defaults: the Batch API bills 50% of the standard prices (OpenAI's Batch API FAQ: "Each model will be offered at
 * 50% cost discount vs. the synchronous APIs"). The discount is taken off cached input too: the library's
 * assumption. A table that already holds batch prices needs `batchDiscount: 0`.
 *
 * @since 0.3.0
 * @category Constants
 */
export const defaults = { batchDiscount: 0.5 } as const

// ---------------------------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------------------------

const snapshot = /^(.+)-\d{4}-\d{2}-\d{2}$/

/**
 * The table's key that prices `model`: the exact name, else the name of a dated snapshot without its date
 * (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`); `None` for a model the table does not price.
 *
 * @since 0.3.0
 * @category Pricing
 */
export const match = (prices: PriceTable, model: string): Option.Option<string> => {
  if (Object.hasOwn(prices, model)) return Option.some(model)
  const dated = snapshot.exec(model)
  return dated !== null && Object.hasOwn(prices, dated[1]!) ? Option.some(dated[1]!) : Option.none()
}

// ---------------------------------------------------------------------------------------------------------------
// Costs
// ---------------------------------------------------------------------------------------------------------------

const million = 1_000_000n

/** USD per 1M tokens as whole picodollars per token (1 USD per 1M tokens = 1,000,000 picodollars per token). */
const picosPerToken = (price: number): bigint => BigInt(Math.round(price * 1_000_000))

/** A whole count of tokens (the API's counts are; anything else is rounded down, and a negative is 0). */
const tokens = (n: number): bigint => BigInt(Number.isFinite(n) && n > 0 ? Math.floor(n) : 0)

/** `picos × (1 − discount)`, rounded half up to the picodollar (the discount to the millionth). */
const discounted = (picos: bigint, discount: number): bigint => {
  const keep = million - BigInt(Math.round(discount * 1_000_000))
  return (picos * keep + million / 2n) / million
}

const usd = (picos: bigint): number => Number(picos) / 1e12

/**
 * The cost of `usage` at `price`, the batch discount applied (`discount`, default `defaults.batchDiscount`).
 *
 * @since 0.3.0
 * @category Pricing
 */
export const costAt = (price: ModelPrice, usage: Usage, discount: number = defaults.batchDiscount): Cost =>
  toCost(picosAt(price, usage, discount))

interface Picos {
  readonly input: bigint
  readonly cachedInput: bigint
  readonly output: bigint
}

const picosAt = (price: ModelPrice, usage: Usage, discount: number): Picos => {
  const cached = tokens(usage.cached_tokens)
  const all = tokens(usage.input_tokens)
  const uncached = all > cached ? all - cached : 0n
  return {
    input: discounted(uncached * picosPerToken(price.input), discount),
    cachedInput: discounted(cached * picosPerToken(price.cachedInput ?? price.input), discount),
    output: discounted(tokens(usage.output_tokens) * picosPerToken(price.output), discount)
  }
}

const toCost = (picos: Picos): Cost => ({
  input: usd(picos.input),
  cachedInput: usd(picos.cachedInput),
  output: usd(picos.output),
  total: usd(picos.input + picos.cachedInput + picos.output)
})

/**
 * The cost of `usage` by `model` under `pricing`, or `None` when the table does not price the model (see `match`):
 * an unknown model is never given a guessed cost.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { Pricing } from "effect-openai-batch"
 *
 * const pricing: Pricing.Pricing = { prices: { "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 } } }
 * const usage = { input_tokens: 2_000_000, cached_tokens: 0, output_tokens: 1_000_000 }
 * const cost = Pricing.cost(pricing, "gpt-4o-mini-2024-07-18", usage)
 * assert.strictEqual(Option.getOrThrow(cost).total, 0.45) // (2 × 0.15 + 1 × 0.6) × 50%
 * assert.ok(Option.isNone(Pricing.cost(pricing, "gpt-4.1", usage))) // no guessed price
 * ```
 *
 * @since 0.3.0
 * @category Pricing
 */
export const cost = (pricing: Pricing, model: string, usage: Usage): Option.Option<Cost> =>
  Option.map(match(pricing.prices, model), (key) => costAt(pricing.prices[key]!, usage, pricing.batchDiscount))

/**
 * The cost of several models' usages together, and the models the table does not price (in the order first seen).
 * The usages of models priced by the same entry are summed before they are priced, and the sum is kept in
 * picodollars: the total is exact, however many usages there are.
 *
 * @since 0.3.0
 * @category Pricing
 */
export const costOfAll = (
  pricing: Pricing,
  usages: Iterable<{ readonly model: string; readonly usage: Usage }>
): { readonly cost: Cost; readonly unpriced: ReadonlyArray<string> } => {
  const byKey = new Map<string, { input_tokens: number; cached_tokens: number; output_tokens: number }>()
  const unpriced: Array<string> = []
  for (const { model, usage } of usages) {
    const key = match(pricing.prices, model)
    if (Option.isNone(key)) {
      if (!unpriced.includes(model)) unpriced.push(model)
      continue
    }
    const sum = byKey.get(key.value) ?? { input_tokens: 0, cached_tokens: 0, output_tokens: 0 }
    sum.input_tokens += usage.input_tokens
    sum.cached_tokens += usage.cached_tokens
    sum.output_tokens += usage.output_tokens
    byKey.set(key.value, sum)
  }
  let total: Picos = { input: 0n, cachedInput: 0n, output: 0n }
  for (const [key, usage] of byKey) {
    const picos = picosAt(pricing.prices[key]!, usage, pricing.batchDiscount ?? defaults.batchDiscount)
    total = {
      input: total.input + picos.input,
      cachedInput: total.cachedInput + picos.cachedInput,
      output: total.output + picos.output
    }
  }
  return { cost: toCost(total), unpriced }
}

/**
 * Why `pricing` cannot be used, or `undefined`: a price that is not a number >= 0, a discount outside [0, 1].
 * `path` names the offending field (e.g. `prices[gpt-4o].output`).
 *
 * @since 0.3.0
 * @category Pricing
 */
export const issue = (pricing: Pricing): { readonly path: string; readonly message: string } | undefined => {
  const discount = pricing.batchDiscount
  if (discount !== undefined && !(discount >= 0 && discount <= 1)) {
    return { path: "batchDiscount", message: "must be a fraction from 0 to 1" }
  }
  for (const [model, price] of Object.entries(pricing.prices)) {
    for (const field of ["input", "cachedInput", "output"] as const) {
      const value = price[field]
      if (value === undefined && field === "cachedInput") continue
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        return { path: `prices[${model}].${field}`, message: "must be a price >= 0 (USD per 1M tokens)" }
      }
    }
  }
  return undefined
}
