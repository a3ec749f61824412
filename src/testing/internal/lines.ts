/**
 * Batch input lines for the simulator: reading an uploaded JSONL file into request lines (or validation errors
 * by line, as the API reports them in `errors.data`), and the default responder that answers each line with a
 * plausible body for its endpoint.
 *
 * @internal
 */
import type { ErrorItem, RequestLine, ResponderContext, ResponderResult } from "./model.js"

/** @internal */
export const maxLines = 50_000
/** How many line errors a failed batch reports at most. @internal */
export const maxErrors = 100

const decoder = new TextDecoder()

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Reads a JSONL input file. A blank line (or a final newline) is not a request. Errors carry 1-based line numbers.
 *
 * @internal
 */
export const readInput = (
  bytes: Uint8Array,
  endpoint: string
): { readonly lines: ReadonlyArray<RequestLine>; readonly errors: ReadonlyArray<ErrorItem> } => {
  const lines: Array<RequestLine> = []
  const errors: Array<ErrorItem> = []
  const seen = new Set<string>()
  const fail = (line: number, code: string, message: string, param: string | null = null) => {
    if (errors.length < maxErrors) errors.push({ code, message, param, line })
  }
  const raw = decoder.decode(bytes).split("\n")
  raw.forEach((text, index) => {
    const line = index + 1
    const trimmed = text.replace(/\r$/, "")
    if (trimmed.trim().length === 0) return
    let parsed: unknown
    try {
      parsed = JSON.parse(trimmed)
    } catch {
      return fail(line, "invalid_json_line", "This line is not parseable as valid JSON.")
    }
    if (!isRecord(parsed)) return fail(line, "invalid_json_line", "This line is not a JSON object.")
    const { body, custom_id, method, url } = parsed
    if (typeof custom_id !== "string" || custom_id.length === 0) {
      return fail(line, "missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id")
    }
    if (method !== "POST") {
      return fail(line, "invalid_method", `Invalid value for 'method': only 'POST' is supported.`, "method")
    }
    if (typeof url !== "string") return fail(line, "missing_required_parameter", "Missing required parameter: 'url'.", "url")
    if (url !== endpoint) {
      return fail(
        line,
        "mismatched_endpoint",
        `The url '${url}' of this request does not match the batch endpoint '${endpoint}'.`,
        "url"
      )
    }
    if (!isRecord(body)) return fail(line, "missing_required_parameter", "Missing required parameter: 'body'.", "body")
    if (seen.has(custom_id)) {
      return fail(line, "duplicate_custom_id", `The custom_id '${custom_id}' is used by more than one request.`, "custom_id")
    }
    seen.add(custom_id)
    lines.push({ custom_id, method: "POST", url, body })
  })
  if (lines.length === 0 && errors.length === 0) {
    errors.push({ code: "empty_file", message: "The input file contains no requests.", param: null, line: null })
  }
  if (lines.length > maxLines) {
    errors.push({
      code: "too_many_requests",
      message: `The input file holds ${lines.length} requests; a batch holds at most ${maxLines}.`,
      param: null,
      line: null
    })
  }
  return { lines, errors }
}

/** Stand-in requests for a batch created from a file id the simulator never saw. @internal */
export const syntheticLines = (endpoint: string, count: number): ReadonlyArray<RequestLine> =>
  Array.from({ length: count }, (_, index): RequestLine => ({
    custom_id: `request-${index + 1}`,
    method: "POST",
    url: endpoint,
    body: endpoint === "/v1/chat/completions"
      ? { model: "gpt-4o-mini", messages: [{ role: "user", content: `Request ${index + 1}` }] }
      : { model: endpoint === "/v1/embeddings" ? "text-embedding-3-small" : "gpt-4o-mini", input: `Request ${index + 1}` }
  }))

/** FNV-1a: a small stable hash for deterministic ids and vectors. @internal */
export const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const hex = (seed: string, length: number) => {
  let out = ""
  let round = 0
  while (out.length < length) out += hash(`${seed}#${round++}`).toString(16).padStart(8, "0")
  return out.slice(0, length)
}

const words = (value: unknown): number => {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? "")
  return Math.max(1, Math.ceil(text.length / 4))
}

/** A deterministic unit vector for an embedding input. @internal */
export const embedding = (input: unknown, dimensions = 8): ReadonlyArray<number> => {
  const raw = Array.from({ length: dimensions }, (_, i) => (hash(`${JSON.stringify(input)}:${i}`) / 0xffffffff) * 2 - 1)
  const norm = Math.sqrt(raw.reduce((sum, x) => sum + x * x, 0)) || 1
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6)
}

const missingModel: ResponderResult = {
  status_code: 400,
  body: {
    error: {
      message: "you must provide a model parameter",
      type: "invalid_request_error",
      param: "model",
      code: null
    }
  }
}

/**
 * Answers chat completions, embeddings, responses, completions and moderations with plausible bodies; a request
 * without a `model` gets the API's 400.
 *
 * @internal
 */
export const defaultResponder = (line: RequestLine, context: ResponderContext): ResponderResult => {
  const body = isRecord(line.body) ? line.body : {}
  const model = body["model"]
  if (typeof model !== "string" || model.length === 0) return missingModel
  const seed = `${context.batchId}:${line.custom_id}`
  const created = context.createdAt
  switch (line.url) {
    case "/v1/chat/completions": {
      const prompt = words(body["messages"])
      const content = `Simulated answer to ${line.custom_id}.`
      return {
        status_code: 200,
        body: {
          id: `chatcmpl-${hex(seed, 24)}`,
          object: "chat.completion",
          created,
          model,
          choices: [{
            index: 0,
            message: { role: "assistant", content, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: "stop"
          }],
          usage: { prompt_tokens: prompt, completion_tokens: words(content), total_tokens: prompt + words(content) },
          system_fingerprint: null
        }
      }
    }
    case "/v1/embeddings": {
      const input = body["input"]
      const inputs: ReadonlyArray<unknown> = Array.isArray(input) ? input : [input]
      const tokens = inputs.reduce<number>((sum, item) => sum + words(item), 0)
      const dimensions = typeof body["dimensions"] === "number" ? body["dimensions"] : 8
      return {
        status_code: 200,
        body: {
          object: "list",
          data: inputs.map((item, index) => ({ object: "embedding", index, embedding: embedding(item, dimensions) })),
          model,
          usage: { prompt_tokens: tokens, total_tokens: tokens }
        }
      }
    }
    case "/v1/responses": {
      const input = words(body["input"])
      const text = `Simulated answer to ${line.custom_id}.`
      return {
        status_code: 200,
        body: {
          id: `resp_${hex(seed, 32)}`,
          object: "response",
          created_at: created,
          status: "completed",
          error: null,
          incomplete_details: null,
          model,
          output: [{
            type: "message",
            id: `msg_${hex(`${seed}:msg`, 32)}`,
            status: "completed",
            role: "assistant",
            content: [{ type: "output_text", text, annotations: [] }]
          }],
          usage: {
            input_tokens: input,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: words(text),
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: input + words(text)
          }
        }
      }
    }
    case "/v1/completions": {
      const prompt = words(body["prompt"])
      return {
        status_code: 200,
        body: {
          id: `cmpl-${hex(seed, 24)}`,
          object: "text_completion",
          created,
          model,
          choices: [{ text: ` Simulated completion for ${line.custom_id}.`, index: 0, logprobs: null, finish_reason: "stop" }],
          usage: { prompt_tokens: prompt, completion_tokens: 6, total_tokens: prompt + 6 }
        }
      }
    }
    case "/v1/moderations":
      return {
        status_code: 200,
        body: {
          id: `modr-${hex(seed, 24)}`,
          model,
          results: [{ flagged: false, categories: {}, category_scores: {} }]
        }
      }
    default:
      return { status_code: 200, body: { id: `sim_${hex(seed, 24)}`, object: "simulated", model } }
  }
}

/** The id of an output line and of the request inside it. @internal */
export const outputIds = (batchId: string, index: number) => ({
  id: `batch_req_${hex(`${batchId}:${index}`, 24)}`,
  requestId: `req_${hex(`${batchId}:${index}:req`, 32)}`
})
