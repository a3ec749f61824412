/**
 * Finding the model's answer in a result line's body (a chat completion, a Responses API response, a legacy
 * completion), why a line has none, and the tokens it cost: the part of `StructuredOutput` that reads the wire and
 * no schema. It imports nothing from `effect`, so both editions share it verbatim (effect4/test/sharedSources.test.ts).
 *
 * @internal
 */
import type * as BatchLine from "../BatchLine.js"

/** The tokens an answer cost, whichever endpoint's names the body uses. @internal */
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly totalTokens: number
}

/** Why there is no text to decode: the error's fields besides the line's. @internal */
export interface NoText {
  readonly reason: "RequestFailed" | "NoAnswer" | "Truncated"
  readonly issue: string
  readonly code?: string | undefined
  readonly finishReason?: string | undefined
  readonly refusal?: string | undefined
}

/** The answer's text, or why there is none. @internal */
export type Answer =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "NoText"; readonly failure: NoText }

type Json = { readonly [key: string]: unknown }

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const stringAt = (record: Json, key: string): string | undefined => {
  const value = record[key]
  return typeof value === "string" ? value : undefined
}

const excerptLength = 80

/** The first characters of a text, on one line. @internal */
export const excerpt = (text: string, length: number = excerptLength): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > length ? `${flat.slice(0, length)}…` : flat
}

const noText = (failure: NoText): Answer => ({ _tag: "NoText", failure })

const refused = (refusal: string): Answer =>
  noText({ reason: "NoAnswer", issue: "the model refused", refusal: excerpt(refusal) })

const toolNames = (calls: ReadonlyArray<unknown>): string =>
  calls.map((call) => {
    if (!isRecord(call)) return "a tool"
    const fn = call["function"]
    return (isRecord(fn) ? stringAt(fn, "name") : undefined) ?? stringAt(call, "name") ?? stringAt(call, "type") ??
      "a tool"
  }).join(", ")

/** `choices[0]` of a chat completion (`message.content`) or of a legacy completion (`text`). */
const fromChoices = (choices: ReadonlyArray<unknown>): Answer => {
  const choice = choices[0]
  if (choice === undefined) return noText({ reason: "NoAnswer", issue: "the completion has no choices" })
  if (!isRecord(choice)) return noText({ reason: "NoAnswer", issue: "choices[0] is not an object" })
  const finishReason = stringAt(choice, "finish_reason")
  const message = choice["message"]
  const refusal = isRecord(message) ? stringAt(message, "refusal") : undefined
  if (refusal !== undefined && refusal.length > 0) return refused(refusal)
  if (finishReason === "length") {
    return noText({
      reason: "Truncated",
      issue: "the answer was cut off at the token limit (finish_reason \"length\")",
      finishReason
    })
  }
  if (finishReason === "content_filter") {
    return noText({ reason: "NoAnswer", issue: "the content filter withheld the answer", finishReason })
  }
  if (!isRecord(message)) {
    const text = stringAt(choice, "text")
    return text === undefined
      ? noText({ reason: "NoAnswer", issue: "choices[0] has no message", finishReason })
      : { _tag: "Text", text }
  }
  const content = message["content"]
  if (typeof content === "string") return { _tag: "Text", text: content }
  const calls = Array.isArray(message["tool_calls"])
    ? message["tool_calls"]
    : (isRecord(message["function_call"]) ? [message["function_call"]] : [])
  if (calls.length > 0) {
    return noText({
      reason: "NoAnswer",
      issue: `the model called ${toolNames(calls)} instead of answering`,
      finishReason
    })
  }
  return noText({ reason: "NoAnswer", issue: "the message has no content", finishReason })
}

/** A Responses API response: its `output_text` parts, concatenated. */
const fromResponse = (body: Json, output: unknown): Answer => {
  const status = stringAt(body, "status")
  if (status === "failed") {
    const error = isRecord(body["error"]) ? body["error"] : {}
    const code = stringAt(error, "code")
    return noText({
      reason: "RequestFailed",
      issue: `the response failed${code === undefined ? "" : ` (${code})`}: ${
        excerpt(stringAt(error, "message") ?? "no message", 200)
      }`,
      code
    })
  }
  if (status === "incomplete") {
    const details = body["incomplete_details"]
    const why = isRecord(details) ? stringAt(details, "reason") : undefined
    return why === "content_filter"
      ? noText({ reason: "NoAnswer", issue: "the content filter withheld the answer", finishReason: why })
      : noText({
        reason: "Truncated",
        issue: `the response is incomplete${why === undefined ? "" : ` (${why})`}`,
        finishReason: why
      })
  }
  if (status !== undefined && status !== "completed") {
    return noText({ reason: "NoAnswer", issue: `the response is ${status}, not completed` })
  }
  if (!Array.isArray(output)) return noText({ reason: "NoAnswer", issue: "the response has no output" })
  let text: string | undefined
  let refusal: string | undefined
  const calls: Array<unknown> = []
  for (const item of output) {
    if (!isRecord(item)) continue
    const type = stringAt(item, "type")
    if (type === "message" && Array.isArray(item["content"])) {
      for (const part of item["content"]) {
        if (!isRecord(part)) continue
        const partType = stringAt(part, "type")
        if (partType === "output_text") text = (text ?? "") + (stringAt(part, "text") ?? "")
        else if (partType === "refusal") refusal = (refusal ?? "") + (stringAt(part, "refusal") ?? "")
      }
    } else if (type !== undefined && type.endsWith("_call")) {
      calls.push(item)
    }
  }
  if (refusal !== undefined && refusal.length > 0) return refused(refusal)
  if (text !== undefined) return { _tag: "Text", text }
  if (calls.length > 0) {
    return noText({ reason: "NoAnswer", issue: `the model called ${toolNames(calls)} instead of answering` })
  }
  return noText({ reason: "NoAnswer", issue: "the response has no output text" })
}

/**
 * The answer of a 2xx result: `choices[0].message.content` of a chat completion (`choices[0].text` of a legacy
 * completion), or the `output_text` parts of a Responses API response's `message` items, concatenated.
 *
 * @internal
 */
export const answerOf = (body: Json): Answer => {
  const choices = body["choices"]
  if (Array.isArray(choices)) return fromChoices(choices)
  if (body["object"] === "response" || Array.isArray(body["output"])) return fromResponse(body, body["output"])
  return noText({ reason: "NoAnswer", issue: "the body is neither a chat completion nor a response" })
}

/**
 * Why a result that is not `Succeeded` has no answer.
 *
 * @internal
 */
export const requestFailure = (result: BatchLine.FailedResponse | BatchLine.Errored): NoText & {
  readonly status?: number | undefined
} => {
  if (result._tag === "Errored") {
    const { code, message } = result.error
    return {
      reason: "RequestFailed",
      issue: `the request did not run${code === undefined ? "" : ` (${code})`}${
        message === undefined ? "" : `: ${excerpt(message, 200)}`
      }`,
      code
    }
  }
  const status = result.response.status_code
  const code = result.error?.code === undefined ? undefined : String(result.error.code)
  const message = result.error?.message
  return {
    reason: "RequestFailed",
    issue: `the request failed with ${status}${code === undefined ? "" : ` (${code})`}${
      message === undefined ? "" : `: ${excerpt(message, 200)}`
    }`,
    code,
    status
  }
}

const count = (record: Json, key: string): number | undefined => {
  const value = record[key]
  return typeof value === "number" ? value : undefined
}

/**
 * The body's `usage`: chat and completions name its fields `prompt_tokens`/`completion_tokens`, the Responses API
 * `input_tokens`/`output_tokens`.
 *
 * @internal
 */
export const usageOf = (body: Json): Usage | undefined => {
  const usage = body["usage"]
  if (!isRecord(usage)) return undefined
  const inputTokens = count(usage, "input_tokens") ?? count(usage, "prompt_tokens")
  const outputTokens = count(usage, "output_tokens") ?? count(usage, "completion_tokens") ?? 0
  if (inputTokens === undefined) return undefined
  return { inputTokens, outputTokens, totalTokens: count(usage, "total_tokens") ?? inputTokens + outputTokens }
}
