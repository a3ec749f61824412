/**
 * A request's tokens, estimated before it is sent: what the Batch API's enqueued-token limit counts (the prompt's
 * tokens, with the chat format's overhead, plus the most the request may generate), conservatively, so that a job
 * admitted under its budget does not fail late on it. The default (`estimateTokens`) is a fast stand-in for the
 * tokenizers of the OpenAI models (`estimateText`); `makeEstimator` builds an estimator from any text counter, and
 * `effect-openai-batch/tokenizer` has an exact one on a real tokenizer.
 *
 * @since 0.3.0
 */
import * as Predicate from "effect/Predicate"
import type * as BatchLine from "./BatchLine.js"
import { automatonFor, countText, weightTables } from "./internal/estimateText.js"

/**
 * Defaults: ASCII letters per token (real English averages about 4).
 *
 * @since 0.3.0
 * @category Constants
 */
export const defaults = { charsPerToken: 3 } as const

const defaultAutomaton = automatonFor(defaults.charsPerToken)

/**
 * Estimates a request's enqueued tokens. The default is `estimateTokens`; `makeEstimator` builds one from a text
 * counter, and `effect-openai-batch/tokenizer` has an exact one.
 *
 * @since 0.2.0
 * @category Models
 */
export type Estimator = (request: BatchLine.BatchRequestInput) => number

/**
 * A tokenizer of the OpenAI models: `o200k_base` (GPT-4o, GPT-4.1, GPT-5, the o-series, `omni-moderation`) or
 * `cl100k_base` (GPT-4, GPT-4 Turbo, GPT-3.5 Turbo, `text-embedding-3-*`, `text-embedding-ada-002`).
 *
 * @since 0.3.0
 * @category Models
 */
export type Encoding = "o200k_base" | "cl100k_base"

/**
 * The models on `cl100k_base`: `gpt-4` and its snapshots and turbos (not `gpt-4o`, `gpt-4.1` or `gpt-4.5`),
 * `gpt-3.5`, the embedding models, `babbage-002` and `davinci-002`.
 */
const cl100kModel = /^(?:gpt-4(?:-|$)|gpt-3\.5|text-embedding-|babbage-002|davinci-002)/

/**
 * The tokenizer of a model: `cl100k_base` for the older models (see `Encoding`), `o200k_base` for every other,
 * newer ones included. A fine-tuned model (`ft:gpt-4o-mini-2024-07-18:org::id`) is its base model's.
 *
 * @example
 * ```ts
 * import { TokenEstimate } from "effect-openai-batch"
 *
 * assert.strictEqual(TokenEstimate.encodingForModel("gpt-4o-mini"), "o200k_base")
 * assert.strictEqual(TokenEstimate.encodingForModel("text-embedding-3-small"), "cl100k_base")
 * assert.strictEqual(TokenEstimate.encodingForModel("ft:gpt-3.5-turbo-0125:acme::abc123"), "cl100k_base")
 * ```
 *
 * @since 0.3.0
 * @category Estimating
 */
export const encodingForModel = (model: string): Encoding =>
  cl100kModel.test(model.startsWith("ft:") ? model.slice(3) : model) ? "cl100k_base" : "o200k_base"

/**
 * Counts the tokens of one string under a request's tokenizer (the `Encoding` of its model): `estimateText` (the
 * default), or a real tokenizer's count.
 *
 * @since 0.3.0
 * @category Models
 */
export type TextCounter = (text: string, encoding: Encoding) => number

/**
 * The tokens a chat adds around its text, after the OpenAI cookbook's accounting ("How to count tokens with
 * tiktoken"): each message (or Responses input item, or `instructions`) costs `perMessage` plus its role's tokens,
 * a message's `name` costs `perName` more than its text, and the reply is primed with `reply` tokens.
 *
 * @since 0.3.0
 * @category Constants
 */
export const chatOverhead = {
  perMessage: 3,
  perName: 1,
  reply: 3
} as const

/**
 * The options of `estimateText`: the tokenizer whose count it stands in for (default `o200k_base`), and the ASCII
 * letters per token (default 3, a whole number from 1 to 64).
 *
 * @since 0.3.0
 * @category Models
 */
export interface TextOptions {
  readonly encoding?: Encoding | undefined
  readonly charsPerToken?: number | undefined
}

/**
 * The default's token count of one string: a fast, conservative stand-in for a tokenizer of the OpenAI models
 * (`options.encoding`, default `o200k_base`), in one pass over the string. The tokenizers first cut text into pieces
 * (words with the space before them, runs of at most 3 digits, runs of punctuation, runs of whitespace) and then
 * merge bytes inside each piece, so the count follows the pieces:
 *
 * - 1 for the string (its first piece has no space before it, and tokenizes worse than the rest);
 * - a run of ASCII letters: 1 token per `charsPerToken` letters (default 3, rounded up; real English averages about
 *   4 per token); capitals after a capital (`ALL CAPS`), 1 per 2; a capital after a small letter starts a new run
 *   (`camelCase`);
 * - a run of digits: 1 per 3 digits (exact: both tokenizers cut numbers into groups of 3);
 * - a run of punctuation or symbols: 1 per 2 characters;
 * - whitespace: nothing for one space or tab (it joins the next word), 1 for a longer run or one that holds a line
 *   break, 1 more for a space before a digit (which does not join it), and 1 more per 16 characters of a long run;
 * - a character outside ASCII: a weight per tokenizer and block of Unicode, measured on real text in 40 languages.
 *   Under `o200k_base`: 1 for Greek, Cyrillic, Armenian, Hebrew, Arabic, Thai and Georgian; 2 for accented Latin,
 *   CJK, kana, Hangul, the Indic scripts, punctuation and symbols. Under `cl100k_base`: 1 for Cyrillic and Arabic;
 *   2 for Greek, Armenian, Hebrew, Thai, the Indic scripts, kana, Hangul, punctuation and symbols; 3 for accented
 *   Latin, CJK ideographs, Georgian and the rarer scripts. A weight at the character's UTF-8 length marks a script
 *   the tokenizer barely merges (a token per byte): the space before it counts too. An emoji, or another character
 *   beyond the Basic Multilingual Plane, 3 (4 if it is not an emoji).
 *
 * Measured against both tokenizers, the count is at or above theirs on English, code, JSON, numbers, CJK, emoji and
 * the text of those 40 languages: 1.5x to 1.8x on English prose and code. Random strings (base64, hashes) run
 * denser, at 1.4 to 1.9 characters per token, and can be counted under by up to a quarter; so can a word or two of
 * a non-English Latin script under `cl100k_base` (a chat's per-message overhead covers that).
 *
 * @example
 * ```ts
 * import { TokenEstimate } from "effect-openai-batch"
 *
 * // 1 for the string, "What" 2, " is" 1, " the" 1, " capital" 3, " of" 1, " France" 2, "?" 1
 * assert.strictEqual(TokenEstimate.estimateText("What is the capital of France?"), 12)
 * // 1, 5 groups of up to 3 digits, "," and the space before "1"
 * assert.strictEqual(TokenEstimate.estimateText("123456789, 123456"), 8)
 * // 1, and 2 per character (3 under cl100k_base)
 * assert.strictEqual(TokenEstimate.estimateText("東京"), 5)
 * assert.strictEqual(TokenEstimate.estimateText("東京", { encoding: "cl100k_base" }), 7)
 * ```
 *
 * @since 0.3.0
 * @category Estimating
 */
export const estimateText = (text: string, options?: TextOptions): number => {
  const charsPerToken = options?.charsPerToken ?? defaults.charsPerToken
  return countText(
    text,
    charsPerToken === defaults.charsPerToken ? defaultAutomaton : automatonFor(charsPerToken),
    weightTables[options?.encoding ?? "o200k_base"]
  )
}

type Count = (text: string) => number

const positive = (value: unknown): number =>
  typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0

/** The JSON text of a value that is not absent, counted. */
const countJson = (value: unknown, count: Count): number =>
  value === undefined || value === null ? 0 : count(JSON.stringify(value))

/**
 * The text of a message's `content`: a string, or parts whose `text` (or `refusal`) is counted. Images, audio and
 * files are not counted.
 */
const countContent = (content: unknown, count: Count): number => {
  if (typeof content === "string") return count(content)
  if (!Array.isArray(content)) return 0
  let tokens = 0
  for (const part of content) {
    if (typeof part === "string") tokens += count(part)
    else if (Predicate.isRecord(part)) {
      if (typeof part["text"] === "string") tokens += count(part["text"])
      else if (typeof part["refusal"] === "string") tokens += count(part["refusal"])
    }
  }
  return tokens
}

/**
 * A message (chat) or input item (responses): the per-message overhead, its role, its content, its name (and
 * `perName`), and the JSON text of any other field (tool calls, a tool call's id, a function call's arguments, a
 * function's output). A string is a message of `role`. A Responses item without a role (a function call, its
 * output, a reasoning item) counts as its JSON text.
 */
const countMessage = (message: unknown, count: Count, role = "user"): number => {
  if (typeof message === "string") return chatOverhead.perMessage + count(role) + count(message)
  if (!Predicate.isRecord(message)) return 0
  let tokens = chatOverhead.perMessage
  if (typeof message["role"] !== "string") return tokens + countJson(message, count)
  for (const key in message) {
    const value = message[key]
    switch (key) {
      case "role":
        tokens += count(message["role"])
        break
      case "content":
        tokens += countContent(value, count)
        break
      case "name":
        tokens += chatOverhead.perName + (typeof value === "string" ? count(value) : 0)
        break
      case "type":
      case "id":
      case "status":
        // an input item's metadata
        break
      default:
        tokens += countJson(value, count)
    }
  }
  return tokens
}

/** A prompt of embeddings, completions or moderations: a string, strings, token ids, arrays of token ids, parts. */
const countPrompt = (input: unknown, count: Count): number => {
  if (typeof input === "string") return count(input)
  if (typeof input === "number") return 1
  if (Array.isArray(input)) {
    let tokens = 0
    for (const item of input) tokens += countPrompt(item, count)
    return tokens
  }
  if (Predicate.isRecord(input) && typeof input["text"] === "string") return count(input["text"])
  return 0
}

/**
 * An estimator from a text counter: what `estimateTokens` counts, with `count` for each string. The prompt is:
 *
 * - `/v1/chat/completions`: every message (`chatOverhead.perMessage`, its role, its content's text, its name and
 *   `chatOverhead.perName`, the JSON text of its other fields, such as tool calls), `chatOverhead.reply` for the
 *   reply, and the JSON text of `tools`, `functions` and `response_format`;
 * - `/v1/responses`: `instructions` and every input item as a message (a string `input` is one message), the reply,
 *   and the JSON text of `tools` and `text` (the output format);
 * - `/v1/embeddings`, `/v1/moderations`: every string of `input` (a token id counts 1), no overhead;
 * - `/v1/completions`: every string of `prompt`, and `suffix`;
 * - any other endpoint: the body's JSON text.
 *
 * To the prompt it adds the most the request may generate: `max_tokens`, `max_completion_tokens` or
 * `max_output_tokens`, times `n` (or `best_of`, if larger). Images, audio and files are not counted: pass your own
 * estimator if you send them (see docs/jobs.md, "The enqueued budget").
 *
 * @example
 * ```ts
 * import { BatchLine, TokenEstimate } from "effect-openai-batch"
 *
 * // one token per word: a (poor) counter, to show the overhead
 * const estimate = TokenEstimate.makeEstimator((text) => text.split(" ").length)
 * const question = BatchLine.chatCompletion("q-1", {
 *   model: "gpt-4o-mini",
 *   messages: [{ role: "user", content: "What is the capital of France?" }],
 *   max_tokens: 50
 * })
 * // 3 for the message, 1 for "user", 6 for the words, 3 for the reply, 50 for the answer
 * assert.strictEqual(estimate(question), 63)
 * ```
 *
 * @since 0.3.0
 * @category Estimating
 */
export const makeEstimator = (counter: TextCounter): Estimator => {
  // the last model's tokenizer: a job's requests mostly share one model
  let lastModel: unknown = undefined
  let lastEncoding: Encoding = "o200k_base"
  return (request) => {
    const body: Record<string, unknown> = request.body
    const model = body["model"]
    if (model !== lastModel) {
      lastEncoding = encodingForModel(typeof model === "string" ? model : "")
      lastModel = model
    }
    const encoding = lastEncoding
    return countRequest(request.url, body, (text) => counter(text, encoding))
  }
}

const countRequest = (url: string, body: Record<string, unknown>, count: Count): number => {
  let prompt = 0
  switch (url) {
    case "/v1/chat/completions": {
      prompt = chatOverhead.reply
      const messages = body["messages"]
      if (Array.isArray(messages)) { for (const message of messages) prompt += countMessage(message, count) }
      prompt += countJson(body["tools"], count) + countJson(body["functions"], count) +
        countJson(body["response_format"], count)
      break
    }
    case "/v1/responses": {
      prompt = chatOverhead.reply
      if (typeof body["instructions"] === "string") prompt += countMessage(body["instructions"], count, "system")
      const input = body["input"]
      if (Array.isArray(input)) { for (const item of input) prompt += countMessage(item, count) }
      else prompt += countMessage(input, count)
      prompt += countJson(body["tools"], count) + countJson(body["text"], count)
      break
    }
    case "/v1/embeddings":
    case "/v1/moderations":
      prompt = countPrompt(body["input"], count)
      break
    case "/v1/completions":
      prompt = countPrompt(body["prompt"], count) + countPrompt(body["suffix"], count)
      break
    default:
      prompt = count(JSON.stringify(body))
  }
  const output = Math.max(
    positive(body["max_tokens"]),
    positive(body["max_completion_tokens"]),
    positive(body["max_output_tokens"])
  )
  return prompt + output * Math.max(1, positive(body["n"]), positive(body["best_of"]))
}

const defaultEstimator: Estimator = makeEstimator((text, encoding) =>
  countText(text, defaultAutomaton, weightTables[encoding])
)

/**
 * A conservative estimate of a request's enqueued tokens, the default of jobs: `makeEstimator` with
 * `estimateText` for every string, under the tokenizer of the request's model (`encodingForModel`); see both.
 * `charsPerToken` is the ASCII letters per token (default 3). The API counts a request as its prompt's tokens,
 * with the chat format's overhead, plus the most it may generate; the estimate aims at or above that count: 1.5x to
 * 1.8x on English prose and code, 2x to 3x on CJK, Cyrillic and other scripts. Images and files are not counted:
 * pass your own estimator (`budget.estimate`) if you send them, or an exact one from
 * `effect-openai-batch/tokenizer`.
 *
 * @example
 * ```ts
 * import { BatchLine, TokenEstimate } from "effect-openai-batch"
 *
 * const question = BatchLine.chatCompletion("q-1", {
 *   model: "gpt-4o-mini",
 *   messages: [{ role: "user", content: "What is the capital of France?" }],
 *   max_tokens: 50
 * })
 * // 3 for the message, 3 for "user", 12 for the text (see estimateText), 3 for the reply, 50 for the answer
 * // (the API counts 14 for the prompt)
 * assert.strictEqual(TokenEstimate.estimateTokens(question), 71)
 * ```
 *
 * @since 0.2.0
 * @category Estimating
 */
export const estimateTokens = (
  request: BatchLine.BatchRequestInput,
  charsPerToken: number = defaults.charsPerToken
): number =>
  charsPerToken === defaults.charsPerToken
    ? defaultEstimator(request)
    : makeEstimator((text, encoding) => estimateText(text, { encoding, charsPerToken }))(request)
