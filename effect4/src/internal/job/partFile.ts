/**
 * A part's file read again after planning: its requests as JSONL bytes (whole, or those a follow-up re-sends), their
 * ids and estimates, their tally, and the input line of its n-th request.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type * as BatchError from "../../BatchError.js"
import type * as TokenEstimate from "../../TokenEstimate.js"
import { decodeLines, parseJson } from "../jsonl.js"
import { checkRequest, customIdOf } from "../requestCheck.js"
import type * as Spool from "./spool.js"

const encoder = new TextEncoder()

/** Where a part's requests are (`JobPlan.Part`'s `file`). @internal */
export interface WithFile {
  readonly file: string
}

/** A part's input lines as runs of consecutive lines, [first, count] (`JobPlan.Part`'s `lines`). @internal */
export interface WithLines {
  readonly lines: ReadonlyArray<readonly [number, number]>
}

/**
 * The requests of a part's file whose `custom_id` `keep` accepts, as JSONL bytes (for a follow-up batch); the whole
 * file, as it is, without `keep`.
 *
 * @internal
 */
export const lines = (
  spool: Spool.Spool,
  part: WithFile,
  keep?: (customId: string) => boolean
): Stream.Stream<Uint8Array, BatchError.LocalFileError> => {
  const bytes = spool.read(part.file)
  if (keep === undefined) return bytes
  return decodeLines((text: string) => {
    const id = customIdOf(Result.getOrUndefined(parseJson(text)))
    return Result.succeed(id !== undefined && keep(id) ? `${text}\n` : "")
  })(bytes).pipe(
    Stream.filter((text) => text.length > 0),
    Stream.grouped(1024),
    Stream.map((texts) => encoder.encode(texts.join("")))
  )
}

/**
 * The `custom_id`s of a part's file whose `custom_id` `keep` accepts, in order, each with its estimate.
 *
 * @internal
 */
export const requestsOfPart = (
  spool: Spool.Spool,
  part: WithFile,
  estimate: TokenEstimate.Estimator
): Stream.Stream<{ readonly customId: string; readonly tokens: number }, BatchError.LocalFileError> =>
  decodeLines((text: string) => {
    const request = Result.getOrUndefined(Result.flatMap(parseJson(text), checkRequest))
    return Result.succeed(
      request === undefined ? undefined : { customId: request.custom_id, tokens: estimate(request) }
    )
  })(spool.read(part.file)).pipe(Stream.filter((entry) => entry !== undefined))

/**
 * Counts and estimates the requests of a part's file whose `custom_id` `keep` accepts (the claim of a follow-up).
 *
 * @internal
 */
export const tally = (
  spool: Spool.Spool,
  part: WithFile,
  keep: (customId: string) => boolean,
  estimate: TokenEstimate.Estimator
): Effect.Effect<{ readonly requests: number; readonly tokens: number }, BatchError.LocalFileError> =>
  requestsOfPart(spool, part, estimate).pipe(
    Stream.runFold(
      () => ({ requests: 0, tokens: 0 }),
      (sum, entry) => keep(entry.customId) ? { requests: sum.requests + 1, tokens: sum.tokens + entry.tokens } : sum
    )
  )

/**
 * The input line of the `n`-th request (1-based) of a part's file.
 *
 * @internal
 */
export const inputLine = (part: WithLines, n: number): number | undefined => {
  let left = n
  for (const [first, count] of part.lines) {
    if (left <= count) return first + left - 1
    left -= count
  }
  return undefined
}
