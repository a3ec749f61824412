/**
 * Token accounting: the simulator's own token count of a request line (what its enqueued limits count), and the
 * usage a responder's answer reports (what a batch's `usage` sums).
 *
 * The count is deliberately simple and a little LOW: `ceil(characters of the prompt text / 4)`, plus one per token
 * id given as a number, plus the requested output (`max_tokens ?? max_completion_tokens ?? max_output_tokens ?? 0`).
 * A client that estimates conservatively (more than 4 characters' worth per token, or a margin) stays under a
 * limit the simulator enforces; one that is optimistic finds out here, as it would against the API.
 *
 * @internal
 */
import { isRecord } from "./json.js"
import type { RequestLine, ResponderResult } from "./model.js"

interface Measure {
  chars: number
  tokens: number
}

/**
 * Adds the prompt text in `value` to `into`: strings count their characters, numbers (token ids) count one token
 * each, arrays count their items, and an object counts its `text` (a text part) or else its `content` (a message).
 * Anything else (images, audio, tool definitions) counts nothing.
 */
const measure = (value: unknown, into: Measure): void => {
  if (typeof value === "string") into.chars += value.length
  else if (typeof value === "number") into.tokens += 1
  else if (Array.isArray(value)) { for (const item of value) measure(item, into) }
  else if (isRecord(value)) {
    if (typeof value["text"] === "string") into.chars += value["text"].length
    else if (value["content"] !== undefined) measure(value["content"], into)
  }
}

const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0)

/**
 * The simulator's token count of one request line: `ceil(characters of the prompt text / 4)` + the token ids given
 * as numbers + `max_tokens ?? max_completion_tokens ?? max_output_tokens ?? 0`. The prompt text is
 * `messages[].content` (chat: strings, or the `text` of text parts), `input` (embeddings and moderations: a
 * string, strings, or token-id arrays; responses: a string, or the `content`/`text` of its items) and `prompt`
 * (completions). Images, tools and `instructions` are not counted.
 *
 * @internal
 */
export const estimateTokens = (line: RequestLine): number => {
  const body = line.body
  if (!isRecord(body)) return 0
  const prompt: Measure = { chars: 0, tokens: 0 }
  measure(body["messages"], prompt)
  measure(body["input"], prompt)
  measure(body["prompt"], prompt)
  const output = body["max_tokens"] ?? body["max_completion_tokens"] ?? body["max_output_tokens"]
  return Math.ceil(prompt.chars / 4) + prompt.tokens + count(output)
}

/** One answer's usage. @internal */
export interface LineUsage {
  readonly input: number
  readonly cached: number
  readonly output: number
  readonly reasoning: number
}

const none: LineUsage = { input: 0, cached: 0, output: 0, reasoning: 0 }

const field = (record: unknown, key: string): unknown => (isRecord(record) ? record[key] : undefined)

/**
 * The usage a successful (2xx) answer reports in `body.usage`, in either naming: chat, completions and embeddings
 * (`prompt_tokens`, `completion_tokens`, `*_tokens_details`) or responses (`input_tokens`, `output_tokens`,
 * `*_tokens_details`). Zero for anything else.
 *
 * @internal
 */
export const usageOf = (result: ResponderResult): LineUsage => {
  if (!("status_code" in result) || result.status_code < 200 || result.status_code >= 300) return none
  const usage = field(result.body, "usage")
  if (!isRecord(usage)) return none
  const input = count(usage["input_tokens"] ?? usage["prompt_tokens"])
  const output = count(usage["output_tokens"] ?? usage["completion_tokens"])
  const inputDetails = usage["input_tokens_details"] ?? usage["prompt_tokens_details"]
  const outputDetails = usage["output_tokens_details"] ?? usage["completion_tokens_details"]
  return {
    input,
    cached: count(field(inputDetails, "cached_tokens")),
    output,
    reasoning: count(field(outputDetails, "reasoning_tokens"))
  }
}
