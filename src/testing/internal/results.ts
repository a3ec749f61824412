/**
 * A batch's results: running totals over its answers (so `request_counts` and `usage` at any point of the
 * lifecycle are two array reads, not a pass over 50,000 answers per request), and its output and error files in
 * the official line format, written once when it ends.
 *
 * @internal
 */
import * as Lines from "./lines.js"
import type { RequestLine, ResponderResult } from "./model.js"
import { usageOf } from "./tokens.js"

/** @internal */
export const isOk = (result: ResponderResult): boolean =>
  "status_code" in result && result.status_code >= 200 && result.status_code < 300

/**
 * Prefix sums over a batch's answers: entry `k` of each array covers the first `k` answers.
 *
 * @internal
 */
export interface Tally {
  /** Successful (2xx) answers. */
  readonly ok: Float64Array
  readonly input: Float64Array
  readonly cached: Float64Array
  readonly output: Float64Array
  readonly reasoning: Float64Array
}

/** @internal */
export const tallyOf = (results: ReadonlyArray<ResponderResult>): Tally => {
  const n = results.length
  const tally: Tally = {
    ok: new Float64Array(n + 1),
    input: new Float64Array(n + 1),
    cached: new Float64Array(n + 1),
    output: new Float64Array(n + 1),
    reasoning: new Float64Array(n + 1)
  }
  for (let k = 0; k < n; k++) {
    const result = results[k]!
    const usage = usageOf(result)
    tally.ok[k + 1] = tally.ok[k]! + (isOk(result) ? 1 : 0)
    tally.input[k + 1] = tally.input[k]! + usage.input
    tally.cached[k + 1] = tally.cached[k]! + usage.cached
    tally.output[k + 1] = tally.output[k]! + usage.output
    tally.reasoning[k + 1] = tally.reasoning[k]! + usage.reasoning
  }
  return tally
}

/**
 * `request_counts` and `usage` once the first `processed` answers are final.
 *
 * @internal
 */
export const totalsAt = (tally: Tally, processed: number, total: number) => {
  const ok = tally.ok[processed] ?? 0
  const input = tally.input[processed] ?? 0
  const output = tally.output[processed] ?? 0
  return {
    request_counts: { total, completed: ok, failed: processed - ok },
    usage: {
      input_tokens: input,
      input_tokens_details: { cached_tokens: tally.cached[processed] ?? 0 },
      output_tokens: output,
      output_tokens_details: { reasoning_tokens: tally.reasoning[processed] ?? 0 },
      total_tokens: input + output
    }
  }
}

const encoder = new TextEncoder()

/**
 * The output and error files of a batch whose first `processed` requests are done: one JSON line per request, in
 * input order, successes in the output file and everything else in the error file. Absent when empty.
 *
 * @internal
 */
export const resultFiles = (
  batchId: string,
  lines: ReadonlyArray<RequestLine>,
  results: ReadonlyArray<ResponderResult>,
  processed: number
): { readonly output: Uint8Array | undefined; readonly error: Uint8Array | undefined } => {
  // Lines are joined as strings and encoded once: one large encode is far cheaper than 50,000 small ones.
  const output: Array<string> = []
  const errors: Array<string> = []
  for (let index = 0; index < processed; index++) {
    const line = lines[index]
    const result = results[index]
    if (line === undefined || result === undefined) continue
    const ids = Lines.outputIds(batchId, index)
    const text = JSON.stringify(
      "error" in result
        ? { id: ids.id, custom_id: line.custom_id, response: null, error: result.error }
        : {
          id: ids.id,
          custom_id: line.custom_id,
          response: { status_code: result.status_code, request_id: ids.requestId, body: result.body },
          error: null
        }
    )
    if (isOk(result)) output.push(text)
    else errors.push(text)
  }
  const file = (content: ReadonlyArray<string>) =>
    content.length === 0 ? undefined : encoder.encode(`${content.join("\n")}\n`)
  return { output: file(output), error: file(errors) }
}
