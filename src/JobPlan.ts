/**
 * Splitting a job's requests into parts, each one batch's input file: deterministically (the same input and
 * options always give the same parts, so a re-run after a crash maps onto the same batches), in one pass, and
 * without holding the input in memory.
 *
 * A part holds requests of one model (a batch's input file may only target one), and is cut before it would
 * exceed `maxRequests` (50,000), `maxBytes` (200 MB), for embeddings `maxInputs` (50,000 inputs: an array input
 * counts each item) or its share of the model's enqueued budget
 * (`JobBudget.defaults.partFraction` of `limit × safetyFactor`), whichever comes first. Under a budget, parts are
 * packed: sized so that a whole number of them fills the usable budget (see `pack`). Parts are numbered in the
 * order they are cut. Each part's lines are written to a spool file under `dir` (the part's input file, read again
 * for its upload and for a follow-up of the requests an expired batch left undone); a part carries a digest of
 * its `custom_id`s, so a re-run can tell that a batch it finds was made from the same part.
 *
 * Every line is checked as it is read: a valid request line for the job's endpoint, a `custom_id` unique across
 * the whole job, no request larger than a part may be. The first violation fails the stream with a typed error
 * naming its line; the part it falls in is never emitted, so nothing is created for it.
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as BatchError from "./BatchError.js"
import { type Input as JobInput, requestsOf } from "./internal/job/input.js"
import * as Planner from "./internal/job/planner.js"
import * as Spool from "./internal/job/spool.js"
import type * as JobBudget from "./JobBudget.js"
import type * as TokenEstimate from "./TokenEstimate.js"

// ---------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------

/**
 * A job's requests: an array or any iterable, a `Stream` (read once, never held whole), or a JSONL file, by path
 * (read through `FileSystem`) or as a `Blob`.
 *
 * @since 0.2.0
 * @category Models
 */
export type Input<E = never, R = never> = JobInput<E, R>

/**
 * One part of a job: the input file of one batch.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Part {
  /** 1-based, in the order parts are cut. */
  readonly index: number
  readonly model: string
  readonly requests: number
  /** Bytes of its JSONL file. */
  readonly bytes: number
  /** Estimated enqueued tokens (see `TokenEstimate.estimateTokens`). */
  readonly tokens: number
  /**
   * A digest of its request lines in order (as written to its file): the same part always has the same digest, and
   * an edited request under its old `custom_id` changes it (a re-run fails with `JobInputChangedError`).
   */
  readonly digest: string
  /** Its JSONL file in the spool directory. */
  readonly file: string
  /** The input line of its first request (1-based). */
  readonly firstLine: number
  /** Its requests' input lines, as runs of consecutive lines: `[first, count]` (a batch error's line maps back). */
  readonly lines: ReadonlyArray<readonly [number, number]>
}

/**
 * Options of `plan`.
 *
 * @since 0.2.0
 * @category Models
 */
export interface PlanOptions {
  /** The endpoint every request targets. */
  readonly endpoint: string
  /** Where part files are written. */
  readonly dir: string
  /** Requests per part; default 50,000 (the API's limit per batch). */
  readonly maxRequests?: number | undefined
  /** Bytes per part file; default 200,000,000 (the API's 200 MB, read strictly). */
  readonly maxBytes?: number | undefined
  /**
   * Embedding inputs per part of an `/v1/embeddings` job (an array input counts each item, an array of token
   * arrays each inner array); default 50,000 (the API's limit per batch). Since 0.3.0.
   */
  readonly maxInputs?: number | undefined
  readonly budgets?: JobBudget.Budgets | undefined
  readonly safetyFactor?: number | undefined
  /** The largest share of a model's usable budget one part may claim; default `JobBudget.defaults.partFraction`. */
  readonly partFraction?: number | undefined
  readonly estimate?: TokenEstimate.Estimator | undefined
}

/**
 * The API's limits for one batch, used as the default part limits.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultLimits: {
  readonly maxRequests: number
  readonly maxBytes: number
  readonly maxInputs: number
} = Planner.defaultLimits

/**
 * Splits `input` into parts (see the module comment), writing each part's file under `options.dir`; emits each
 * part once it is complete. Fails at the first invalid request, naming its line.
 *
 * @example
 * ```ts
 * import { Chunk, Effect, Stream } from "effect"
 * import { BatchLine, JobPlan } from "effect-openai-batch"
 * import { MemoryFileSystem } from "effect-openai-batch/testing"
 *
 * const requests = [
 *   BatchLine.embedding("a-1", { model: "text-embedding-3-small", input: "one" }),
 *   BatchLine.embedding("b-1", { model: "text-embedding-3-large", input: "two" }),
 *   BatchLine.embedding("a-2", { model: "text-embedding-3-small", input: "three" })
 * ]
 * const parts = JobPlan.plan(requests, { endpoint: "/v1/embeddings", dir: "/work/parts" }).pipe(Stream.runCollect)
 * Effect.runPromise(parts.pipe(Effect.provide(MemoryFileSystem.layer))).then((all) => {
 *   // One model per part, in the order parts are first opened.
 *   assert.deepStrictEqual(Chunk.toReadonlyArray(all).map((part) => [part.model, part.requests]), [
 *     ["text-embedding-3-small", 2],
 *     ["text-embedding-3-large", 1]
 *   ])
 * })
 * ```
 *
 * @since 0.2.0
 * @category Planning
 */
export const plan = <E = never, R = never>(
  input: Input<E, R>,
  options: PlanOptions
): Stream.Stream<Part, E | BatchError.PlanError, R | FileSystem.FileSystem | Path.Path> =>
  Stream.unwrap(Effect.gen(function*() {
    const spool = Spool.files(yield* FileSystem.FileSystem, yield* Path.Path, options.dir)
    return Planner.plan(requestsOf(input), { ...options, operation: "JobPlan.plan" }, spool)
  }))
