/**
 * The default responder: a plausible answer to each request line for its endpoint (chat completion, embedding,
 * response, completion, moderation), with `usage`, deterministic ids and vectors; a request without a `model`
 * gets the API's 400.
 *
 * @internal
 */
import { fnv, hex } from "./hash.js"
import { isRecord } from "./json.js"
import type { RequestLine, ResponderContext, ResponderResult } from "./model.js"

const words = (value: unknown): number => {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? "")
  return Math.max(1, Math.ceil(text.length / 4))
}

/** A deterministic unit vector for an embedding input. @internal */
export const embedding = (input: unknown, dimensions = 8): ReadonlyArray<number> => {
  const prefix = fnv(`${JSON.stringify(input)}:`)
  const raw = Array.from({ length: dimensions }, (_, i) => (fnv(String(i), prefix) / 0xffffffff) * 2 - 1)
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
          choices: [{
            text: ` Simulated completion for ${line.custom_id}.`,
            index: 0,
            logprobs: null,
            finish_reason: "stop"
          }],
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
