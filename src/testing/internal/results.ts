/**
 * A batch's results: its requests answered by the responder when it is created, kept as result lines and running
 * totals (so `request_counts` and `usage` at any point of the lifecycle are array reads, not a pass over 50,000
 * answers per request), and its output and error files, written once when it ends.
 *
 * @internal
 */
import * as Hash from "./hash.js"
import * as LineBytes from "./lineBytes.js"
import type { RequestLine, Responder, ResponderResult } from "./model.js"
import { estimateTokens, usageOf } from "./tokens.js"
import { isRecord } from "./json.js"

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
  readonly ok: ReadonlyArray<number>
  readonly input: ReadonlyArray<number>
  readonly cached: ReadonlyArray<number>
  readonly output: ReadonlyArray<number>
  readonly reasoning: ReadonlyArray<number>
}

/** What a batch keeps of its requests once they are answered. @internal */
export interface Answered {
  /** Each request's line of the output or error file, in the official format. */
  readonly resultLines: LineBytes.LineBytes
  readonly tally: Tally
  /** `estimateTokens` summed over the requests. */
  readonly tokens: number
  /** The first request's `model`. */
  readonly model: string | undefined
}


/**
 * Answers a batch's requests one by one, as they are read: the responder's answer is turned into its result line
 * and counted at once, so that neither the parsed requests nor the answer objects outlive their line (a 50,000-line
 * batch would otherwise keep a million small objects alive for the garbage collector to trace).
 *
 * @internal
 */
export const answering = (batchId: string, createdAt: number, responder: Responder) => {
  const idsOf = Hash.outputIds(batchId)
  const resultLines = LineBytes.builder()
  let count = 0
  const tally = { ok: [0], input: [0], cached: [0], output: [0], reasoning: [0] }
  let tokens = 0
  let model: string | undefined
  const add = (line: RequestLine): void => {
    const index = count++
    let result: ResponderResult
    try {
      result = responder(line, { batchId, index, createdAt })
    } catch (error) {
      // A throwing responder is an error line, not a crash of the simulator.
      result = {
        error: { code: "simulator_responder_failed", message: error instanceof Error ? error.message : String(error) }
      }
    }
    const usage = usageOf(result)
    tally.ok.push(tally.ok[index]! + (isOk(result) ? 1 : 0))
    tally.input.push(tally.input[index]! + usage.input)
    tally.cached.push(tally.cached[index]! + usage.cached)
    tally.output.push(tally.output[index]! + usage.output)
    tally.reasoning.push(tally.reasoning[index]! + usage.reasoning)
    const ids = idsOf(index)
    resultLines.add(JSON.stringify(
      "error" in result
        ? { id: ids.id, custom_id: line.custom_id, response: null, error: result.error }
        : {
          id: ids.id,
          custom_id: line.custom_id,
          response: { status_code: result.status_code, request_id: ids.requestId, body: result.body },
          error: null
        }
    ))
    tokens += estimateTokens(line)
    if (index === 0 && isRecord(line.body) && typeof line.body["model"] === "string") model = line.body["model"]
  }
  const done = (): Answered => ({ resultLines: resultLines.done(), tally, tokens, model })
  return { add, done }
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

/**
 * The output and error files of a batch whose first `processed` requests are done, successes in the output file
 * and everything else in the error file, in input order. Absent when empty.
 *
 * @internal
 */
export const resultFiles = (
  lines: LineBytes.LineBytes,
  tally: Tally,
  processed: number
): { readonly output: Uint8Array | undefined; readonly error: Uint8Array | undefined } => {
  const ok = (index: number) => tally.ok[index + 1]! > tally.ok[index]!
  return {
    output: LineBytes.pick(lines, processed, ok),
    error: LineBytes.pick(lines, processed, (index) => !ok(index))
  }
}
