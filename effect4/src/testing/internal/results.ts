/**
 * A batch's results: its requests answered by the responder when it is created, kept as result lines and running
 * totals (so `request_counts` and `usage` at any point of the lifecycle are array reads, not a pass over 50,000
 * answers per request), and its output and error files, written once when it ends.
 *
 * @internal
 */
import * as Hash from "./hash.js"
import { isRecord } from "./json.js"
import * as LineBytes from "./lineBytes.js"
import type { RequestLine, Responder, ResponderResult } from "./model.js"
import { estimateTokens, usageOf } from "./tokens.js"

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

/** What the API writes to the error file for a request an expired batch never ran. */
const expiredMessage = "This request could not be executed before the completion window expired."

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/**
 * The output and error files of a batch whose first `processed` requests are done, successes in the output file
 * and everything else in the error file, in input order. Absent when empty. An `expired` batch's error file also
 * holds a `batch_expired` line for each request it never ran, as the API's does.
 *
 * @internal
 */
export const resultFiles = (
  lines: LineBytes.LineBytes,
  tally: Tally,
  processed: number,
  expired = false
): { readonly output: Uint8Array | undefined; readonly error: Uint8Array | undefined } => {
  const ok = (index: number) => tally.ok[index + 1]! > tally.ok[index]!
  const failed = LineBytes.pick(lines, processed, (index) => !ok(index))
  if (!expired || processed >= lines.ends.length) return { output: LineBytes.pick(lines, processed, ok), error: failed }
  const notRun: Array<string> = []
  for (let index = processed; index < lines.ends.length; index++) {
    const start = index === 0 ? 0 : lines.ends[index - 1]!
    const answered: unknown = JSON.parse(decoder.decode(lines.bytes.subarray(start, lines.ends[index]! - 1)))
    const id = isRecord(answered) ? answered["id"] : undefined
    const customId = isRecord(answered) ? answered["custom_id"] : undefined
    notRun.push(
      JSON.stringify({
        id,
        custom_id: customId,
        response: null,
        error: { code: "batch_expired", message: expiredMessage }
      })
    )
  }
  const tail = encoder.encode(`${notRun.join("\n")}\n`)
  const error = new Uint8Array((failed?.length ?? 0) + tail.length)
  if (failed !== undefined) error.set(failed, 0)
  error.set(tail, failed?.length ?? 0)
  return { output: LineBytes.pick(lines, processed, ok), error }
}
