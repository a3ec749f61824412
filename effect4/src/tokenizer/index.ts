/**
 * effect-openai-batch/tokenizer: exact token counts for the enqueued budget, with the `o200k_base` and `cl100k_base`
 * tokenizers of `gpt-tokenizer`, an optional peer dependency (`npm install gpt-tokenizer`). Only this entry point
 * imports it: the rest of the library never loads it.
 *
 * `estimator()` counts every string of a request with the model's tokenizer, around it the same overhead as the
 * default (`TokenEstimate.makeEstimator`: the chat format's tokens per message, per name and for the reply, after the
 * OpenAI cookbook), and adds the most the request may generate. Tools, output schemas and other non-text fields
 * count as their JSON text, which is close to, not exactly, what the API renders; images and files are not counted.
 *
 * Loading this entry point parses both tokenizers' tables: about half a second and 50 MB of heap, once. Counting is
 * about 10 times slower than the default estimate (still microseconds per request).
 *
 * @since 0.3.0
 */
import * as Cl100k from "gpt-tokenizer/encoding/cl100k_base"
import * as O200k from "gpt-tokenizer/encoding/o200k_base"
import * as TokenEstimate from "../TokenEstimate.js"

/**
 * A tokenizer of the OpenAI models: `o200k_base` or `cl100k_base` (see `TokenEstimate.Encoding`).
 *
 * @since 0.3.0
 * @category Models
 */
export type Encoding = TokenEstimate.Encoding

/**
 * The tokenizer of a model (`TokenEstimate.encodingForModel`): `cl100k_base` for GPT-4, GPT-3.5 and the embedding
 * models, `o200k_base` for every other.
 *
 * @example
 * ```ts
 * import * as Tokenizer from "effect-openai-batch/tokenizer"
 *
 * assert.strictEqual(Tokenizer.encodingForModel("gpt-4o-mini"), "o200k_base")
 * assert.strictEqual(Tokenizer.encodingForModel("text-embedding-3-small"), "cl100k_base")
 * ```
 *
 * @since 0.3.0
 * @category Encodings
 */
export const encodingForModel: (model: string) => Encoding = TokenEstimate.encodingForModel

// Special tokens (`<|endoftext|>`) in a request are text to the API, not control tokens: count them as text.
const asText = { disallowedSpecial: new Set<string>() }

const counters: Record<Encoding, (text: string) => number> = {
  o200k_base: (text) => O200k.countTokens(text, asText),
  cl100k_base: (text) => Cl100k.countTokens(text, asText)
}

/**
 * The exact token count of one string with a tokenizer (default `o200k_base`).
 *
 * @example
 * ```ts
 * import * as Tokenizer from "effect-openai-batch/tokenizer"
 *
 * assert.strictEqual(Tokenizer.countTokens("What is the capital of France?"), 7)
 * assert.strictEqual(Tokenizer.countTokens("<|endoftext|>", "cl100k_base"), 7) // text, not a special token
 * ```
 *
 * @since 0.3.0
 * @category Counting
 */
export const countTokens = (text: string, encoding: Encoding = "o200k_base"): number => counters[encoding](text)

/**
 * The options of `estimator`: the tokenizer, by name or by a model's name. Without either, each request is counted
 * with the tokenizer of its own `model`.
 *
 * @since 0.3.0
 * @category Models
 */
export interface EstimatorOptions {
  readonly encoding?: Encoding | undefined
  readonly model?: string | undefined
}

const estimators: Record<Encoding, TokenEstimate.Estimator> = {
  o200k_base: TokenEstimate.makeEstimator((text) => counters.o200k_base(text)),
  cl100k_base: TokenEstimate.makeEstimator((text) => counters.cl100k_base(text))
}

/** Each request with its own model's tokenizer. */
const byModel: TokenEstimate.Estimator = TokenEstimate.makeEstimator((text, encoding) => counters[encoding](text))

/**
 * An exact `TokenEstimate.Estimator`: every string of a request counted by the tokenizer, with the overhead rules of
 * `TokenEstimate.makeEstimator`. Pass it as a job's `budget.estimate`.
 *
 * @example
 * ```ts
 * import { BatchLine } from "effect-openai-batch"
 * import * as Tokenizer from "effect-openai-batch/tokenizer"
 *
 * const estimate = Tokenizer.estimator()
 * const question = BatchLine.chatCompletion("q-1", {
 *   model: "gpt-4o-mini",
 *   messages: [{ role: "user", content: "What is the capital of France?" }],
 *   max_tokens: 50
 * })
 * // 3 for the message, 1 for "user", 7 for the text, 3 for the reply, 50 for the answer
 * assert.strictEqual(estimate(question), 64)
 * ```
 *
 * @since 0.3.0
 * @category Estimating
 */
export const estimator = (options: EstimatorOptions = {}): TokenEstimate.Estimator => {
  const fixed = options.encoding ?? (options.model === undefined ? undefined : encodingForModel(options.model))
  return fixed === undefined ? byModel : estimators[fixed]
}
