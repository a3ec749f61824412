/**
 * Batch input lines for the simulator: reading an uploaded JSONL file into request lines (or validation errors
 * by line, as the API reports them in `errors.data`), and stand-in lines for a batch without an uploaded file.
 *
 * @internal
 */
import { isRecord } from "./json.js"
import type { ErrorItem, RequestLine } from "./model.js"

/** @internal */
export const maxLines = 50_000
/** The embedding inputs an `/v1/embeddings` batch may hold across all its requests. @internal */
export const maxEmbeddingInputs = 50_000

/**
 * The embedding inputs of one request body: a string is one, an array of strings or of token arrays one per item,
 * an array of token ids one.
 *
 * @internal
 */
export const embeddingInputs = (body: Record<string, unknown>): number => {
  const input = body["input"]
  if (!Array.isArray(input)) return 1
  return input.length > 0 && input.every((item) => typeof item === "number") ? 1 : input.length
}
/** How many line errors a failed batch reports at most. @internal */
export const maxErrors = 100

const decoder = new TextDecoder()

/**
 * Reads a JSONL input file, handing each valid request line to `onLine` as soon as it is read (so that nothing
 * holds 50,000 parsed requests at once). A blank line (or a final newline) is not a request. Errors carry 1-based
 * line numbers.
 *
 * @internal
 */
export const readInput = (
  bytes: Uint8Array,
  endpoint: string,
  onLine: (line: RequestLine) => void
): { readonly count: number; readonly errors: ReadonlyArray<ErrorItem> } => {
  let count = 0
  let inputs = 0
  const embeddings = endpoint === "/v1/embeddings"
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
    if (typeof url !== "string") {
      return fail(line, "missing_required_parameter", "Missing required parameter: 'url'.", "url")
    }
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
      return fail(
        line,
        "duplicate_custom_id",
        `The custom_id '${custom_id}' is used by more than one request.`,
        "custom_id"
      )
    }
    seen.add(custom_id)
    count++
    if (embeddings) inputs += embeddingInputs(body)
    onLine({ custom_id, method: "POST", url, body })
  })
  if (count === 0 && errors.length === 0) {
    errors.push({ code: "empty_file", message: "The input file contains no requests.", param: null, line: null })
  }
  if (count > maxLines) {
    errors.push({
      code: "too_many_requests",
      message: `The input file holds ${count} requests; a batch holds at most ${maxLines}.`,
      param: null,
      line: null
    })
  }
  if (inputs > maxEmbeddingInputs) {
    // The API's rule (the spec's `endpoint` description); its exact error code is not documented.
    errors.push({
      code: "too_many_embedding_inputs",
      message: `The input file holds ${inputs} embedding inputs; /v1/embeddings batches are restricted to a maximum ` +
        `of ${maxEmbeddingInputs} embedding inputs across all requests in the batch.`,
      param: null,
      line: null
    })
  }
  return { count, errors }
}

/** Stand-in requests for a batch created from a file id the simulator never saw. @internal */
export const syntheticLines = (endpoint: string, count: number): ReadonlyArray<RequestLine> =>
  Array.from({ length: count }, (_, index): RequestLine => ({
    custom_id: `request-${index + 1}`,
    method: "POST",
    url: endpoint,
    body: endpoint === "/v1/chat/completions"
      ? { model: "gpt-4o-mini", messages: [{ role: "user", content: `Request ${index + 1}` }] }
      : {
        model: endpoint === "/v1/embeddings" ? "text-embedding-3-small" : "gpt-4o-mini",
        input: `Request ${index + 1}`
      }
  }))
