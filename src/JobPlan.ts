/**
 * Splitting a job's requests into parts, each one batch's input file: deterministically (the same input and
 * options always give the same parts, so a re-run after a crash maps onto the same batches), in one pass, and
 * without holding the input in memory.
 *
 * A part holds requests of one model (a batch's input file may only target one), and is cut before it would
 * exceed `maxRequests` (50,000), `maxBytes` (200 MB) or its share of the model's enqueued budget
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
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as BatchError from "./BatchError.js"
import type * as BatchLine from "./BatchLine.js"
import * as IdSet from "./internal/idSet.js"
import { type Input as JobInput, localFile, requestsOf } from "./internal/jobInput.js"
import { decodeLines, parseJson } from "./internal/jsonl.js"
import { checkRequest, customIdOf, invalidRequest } from "./internal/requestCheck.js"
import * as JobBudget from "./JobBudget.js"

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
  /** Estimated enqueued tokens (see `JobBudget.estimateTokens`). */
  readonly tokens: number
  /** A digest of its `custom_id`s in order: the same part always has the same digest. */
  readonly digest: string
  /** Its JSONL file in the spool directory. */
  readonly file: string
  /** The input line of its first request (1-based). */
  readonly firstLine: number
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
  readonly budgets?: JobBudget.Budgets | undefined
  readonly safetyFactor?: number | undefined
  /** The largest share of a model's usable budget one part may claim; default `JobBudget.defaults.partFraction`. */
  readonly partFraction?: number | undefined
  readonly estimate?: JobBudget.Estimator | undefined
}

/**
 * The API's limits for one batch, used as the default part limits.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultLimits = { maxRequests: 50_000, maxBytes: 200_000_000 } as const

// ---------------------------------------------------------------------------------------------------------------
// Splitting
// ---------------------------------------------------------------------------------------------------------------

const encoder = new TextEncoder()
/** Each open part's lines are written to its file in pieces of about this many characters. */
const flushChars = 256 * 1024
/** The largest reused encoding buffer: a flush holding a larger line is encoded into a buffer of its own. */
const maxScratch = 4 * 1024 * 1024

/** A model's part caps: `tokens` and `requests` a part may hold, `usableTokens` the budget they are packed into. */
interface Caps {
  readonly tokens: number
  readonly usableTokens: number
  readonly requests: number
}

/**
 * Sizes parts so that a whole number of them fills the usable budget: parts of `target` leave
 * `usable mod target` idle whenever the budget is full (five parts of 450,000 tokens in 2,565,000 leave 315,000,
 * 12% of it); `n = ceil(usable / target)` parts of `usable / n` leave nothing. For tokens, `target` is what a
 * part would hold at the mean estimate read so far, so a part's limit is set when it opens (deterministic: the
 * same input gives the same limits).
 */
const pack = (target: number, usable: number): number =>
  Number.isFinite(usable) && target < usable ? Math.max(1, Math.floor(usable / Math.ceil(usable / target))) : target

/** A request that passed `check`: what routing it needs. */
interface Checked {
  readonly customId: string
  readonly model: string
  readonly cap: Caps
  readonly text: string
  readonly bytes: number
  readonly tokens: number
}

interface OpenPart {
  readonly model: string
  readonly file: string
  readonly firstLine: number
  /** The most tokens this part may hold: the model's cap, packed (see `pack`). */
  readonly tokenLimit: number
  readonly digest: ReturnType<typeof IdSet.digest>
  requests: number
  bytes: number
  tokens: number
  buffer: Array<string>
  bufferChars: number
  /** Whether its file was started (the first write truncates: planning again into the same directory is safe). */
  started: boolean
}

const utf8Length = (text: string) =>
  // eslint-disable-next-line no-control-regex
  /^[\u0000-\u007f]*$/.test(text) ? text.length : encoder.encode(text).length

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
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const maxRequests = options.maxRequests ?? defaultLimits.maxRequests
    const maxBytes = options.maxBytes ?? defaultLimits.maxBytes
    const safetyFactor = options.safetyFactor ?? JobBudget.defaults.safetyFactor
    const partFraction = options.partFraction ?? JobBudget.defaults.partFraction
    const estimate = options.estimate ?? ((request: BatchLine.BatchRequestInput) => JobBudget.estimateTokens(request))
    const configIssue: readonly [string, string] | undefined = !(Number.isInteger(maxRequests) && maxRequests >= 1)
      ? ["maxRequests", "must be a whole number of at least 1"]
      : !(maxBytes >= 1)
      ? ["maxBytes", "must be at least 1"]
      : !(partFraction > 0 && partFraction <= 1)
      ? ["partFraction", "must be in (0, 1]"]
      : undefined
    if (configIssue !== undefined) {
      const [field, issue] = configIssue
      return Stream.fail(
        new BatchError.InvalidParamsError({
          operation: "JobPlan.plan",
          field,
          issue,
          message: `JobPlan.plan: ${field} ${issue}`
        })
      )
    }

    // Per model: the part caps, checked once.
    const caps = new Map<string, Caps>()
    const capsOf = (model: string): Either.Either<Caps, BatchError.InvalidParamsError> => {
      const known = caps.get(model)
      if (known !== undefined) return Either.right(known)
      const budget = JobBudget.budgetOf(options.budgets, model)
      const issue = JobBudget.budgetIssue(budget, safetyFactor)
      if (issue !== undefined) {
        return Either.left(
          new BatchError.InvalidParamsError({
            operation: "JobPlan.plan",
            field: "budget",
            issue,
            message: `JobPlan.plan: budget of ${model}: ${issue}`
          })
        )
      }
      const share = (limit: number | undefined) =>
        Math.max(1, Math.floor(JobBudget.effective(limit, safetyFactor) * partFraction))
      const usableRequests = JobBudget.effective(budget.requests, safetyFactor)
      const cap = {
        tokens: budget.tokens === undefined ? Infinity : share(budget.tokens),
        usableTokens: JobBudget.effective(budget.tokens, safetyFactor),
        requests: pack(
          Math.min(maxRequests, budget.requests === undefined ? Infinity : share(budget.requests)),
          usableRequests
        )
      }
      caps.set(model, cap)
      return Either.right(cap)
    }

    // Per model: the requests and estimated tokens read so far (their mean sizes the next part, see `pack`).
    const seen = new Map<string, { requests: number; tokens: number }>()
    const ids = IdSet.make(4096)
    const open = new Map<string, OpenPart>()
    let lineNumber = 0
    let parts = 0
    let spooled = 0

    // The bytes of a flush are encoded into one reused buffer: a fresh one per flush left every byte of the
    // input (140 MB at a million requests) to the garbage collector, and the process's peak RSS with it.
    let scratch = new Uint8Array(0)
    const flush = (part: OpenPart) =>
      part.buffer.length === 0
        ? Effect.void
        : Effect.suspend(() => {
          const text = part.buffer.join("")
          // At most 3 UTF-8 bytes per UTF-16 unit. Flushes run one at a time, so one buffer serves them all.
          const most = text.length * 3
          if (scratch.length < most && most <= maxScratch) scratch = new Uint8Array(most)
          const data = most <= scratch.length
            ? scratch.subarray(0, encoder.encodeInto(text, scratch).written)
            : encoder.encode(text)
          part.buffer = []
          part.bufferChars = 0
          const flag = part.started ? "a" : "w"
          part.started = true
          return Effect.mapError(fs.writeFile(part.file, data, { flag }), localFile(part.file, "write"))
        })

    const close = (part: OpenPart) =>
      Effect.as(
        flush(part),
        {
          index: ++parts,
          model: part.model,
          requests: part.requests,
          bytes: part.bytes,
          tokens: part.tokens,
          digest: part.digest.value(),
          file: part.file,
          firstLine: part.firstLine
        } satisfies Part
      )

    /** Whether `customId` really is in a file written so far (a hash hit is confirmed against the files). */
    const written = (customId: string) =>
      Effect.gen(function*() {
        for (const part of open.values()) yield* flush(part)
        const files = [...Array.from({ length: spooled }, (_, i) => path.join(options.dir, `input-${i + 1}.jsonl`))]
        for (const file of files) {
          const found = yield* fs.readFileString(file).pipe(
            Effect.map((text) =>
              text.split("\n").some((line) => line.length > 0 && customIdOf(JSON.parse(line)) === customId)
            ),
            Effect.mapError(localFile(file, "read"))
          )
          if (found) return true
        }
        return false
      })

    /**
     * Checks one request, without effects: a valid line for the endpoint whose model's caps allow it, written as
     * JSON. Most of planning's time is here, per request; keeping it out of `Effect.gen` (a generator and fiber
     * steps per request) halved it.
     */
    const check = (raw: unknown, line: number): Either.Either<Checked, BatchError.PlanError> => {
      const checked = checkRequest(raw)
      if (Either.isLeft(checked)) return Either.left(invalidRequest(line, raw, checked.left))
      const request = checked.right
      if (request.url !== options.endpoint) {
        return Either.left(
          new BatchError.EndpointMismatchError({
            line,
            customId: request.custom_id,
            url: request.url,
            endpoint: options.endpoint,
            message:
              `request ${line} (${request.custom_id}) is for ${request.url}, but the job's endpoint is ${options.endpoint}`
          })
        )
      }
      const model = typeof request.body["model"] === "string" ? request.body["model"] : ""
      const cap = capsOf(model)
      if (Either.isLeft(cap)) return Either.left(cap.left)
      let text: string
      try {
        // The caller's object: every field it holds is sent as it is.
        text = `${JSON.stringify(raw)}\n`
      } catch (error) {
        return Either.left(
          invalidRequest(
            line,
            raw,
            `cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}`
          )
        )
      }
      const bytes = utf8Length(text)
      const tokens = estimate(request)
      const tooLarge = (limit: "bytes" | "tokens", value: number, max: number) =>
        Either.left(
          new BatchError.RequestTooLargeError({
            line,
            customId: request.custom_id,
            limit,
            value,
            max,
            message:
              `request ${line} (${request.custom_id}) is too large for any part: ${value} ${limit}, over the most a part may hold (${max})`
          })
        )
      if (bytes > maxBytes) return tooLarge("bytes", bytes, maxBytes)
      if (tokens > cap.right.tokens) return tooLarge("tokens", tokens, cap.right.tokens)
      return Either.right({ customId: request.custom_id, model, cap: cap.right, text, bytes, tokens })
    }

    /** Adds a checked request to its model's open part; returns the part it closed to make room, if any. */
    const route = (
      request: Checked,
      line: number
    ): { readonly part: OpenPart; readonly closed: OpenPart | undefined } => {
      const { bytes, cap, model, tokens } = request
      const stats = seen.get(model) ?? { requests: 0, tokens: 0 }
      stats.requests++
      stats.tokens += tokens
      seen.set(model, stats)
      let closed: OpenPart | undefined
      let part = open.get(model)
      if (
        part !== undefined &&
        (part.requests + 1 > cap.requests || part.bytes + bytes > maxBytes || part.tokens + tokens > part.tokenLimit)
      ) {
        closed = part
        open.delete(model)
        part = undefined
      }
      if (part === undefined) {
        spooled++
        part = {
          model,
          file: path.join(options.dir, `input-${spooled}.jsonl`),
          firstLine: line,
          // Without a token budget, nothing to pack into: the part is cut by requests and bytes alone.
          tokenLimit: Number.isFinite(cap.usableTokens)
            ? pack(Math.min(cap.tokens, cap.requests * (stats.tokens / stats.requests)), cap.usableTokens)
            : cap.tokens,
          digest: IdSet.digest(),
          requests: 0,
          bytes: 0,
          tokens: 0,
          buffer: [],
          bufferChars: 0,
          started: false
        }
        open.set(model, part)
      }
      part.requests++
      part.bytes += bytes
      part.tokens += tokens
      part.digest.update(request.customId)
      part.buffer.push(request.text)
      part.bufferChars += request.text.length
      return { part, closed }
    }

    // The parts still open at the end, in the order they were opened (by their first line).
    const finish = Effect.gen(function*() {
      if (lineNumber === 0) {
        return yield* Effect.fail(new BatchError.EmptyInputError({ message: "the job has no requests" }))
      }
      const rest = [...open.values()].sort((a, b) => a.firstLine - b.firstLine)
      open.clear()
      const closed: Array<Part> = []
      for (const part of rest) closed.push(yield* close(part))
      return Chunk.unsafeFromArray(closed)
    })

    yield* Effect.mapError(fs.makeDirectory(options.dir, { recursive: true }), localFile(options.dir, "create"))
    // The parts a chunk of requests closed, then its first violation if any: parts cut before a bad line are
    // emitted (their batches may go ahead), the one it falls in never is.
    const takeChunk = (chunk: Chunk.Chunk<unknown>) =>
      Effect.gen(function*() {
        const out: Array<Either.Either<Part, BatchError.PlanError>> = []
        for (const raw of chunk) {
          const line = ++lineNumber
          const checked = check(raw, line)
          if (Either.isLeft(checked)) {
            out.push(Either.left(checked.left))
            break
          }
          const firstSeen = ids.add(checked.right.customId, line)
          if (firstSeen !== undefined && (yield* written(checked.right.customId))) {
            out.push(Either.left(
              new BatchError.DuplicateCustomIdError({
                line,
                customId: checked.right.customId,
                firstLine: firstSeen,
                message: `request ${line} repeats custom_id ${checked.right.customId} of request ${firstSeen}`
              })
            ))
            break
          }
          const { closed, part } = route(checked.right, line)
          if (closed !== undefined) out.push(Either.right(yield* close(closed)))
          if (part.bufferChars >= flushChars) yield* flush(part)
        }
        return Chunk.unsafeFromArray(out)
      })
    return requestsOf(input).pipe(
      Stream.mapChunksEffect(takeChunk),
      Stream.mapEffect((result) => result),
      Stream.concat(Stream.flattenChunks(Stream.fromEffect(finish)))
    )
  }))

/**
 * The requests of a part's file whose `custom_id` `keep` accepts, as JSONL bytes (for a follow-up batch); the whole
 * file, as it is, without `keep`.
 *
 * @since 0.2.0
 * @category Planning
 */
export const lines = (
  part: Pick<Part, "file">,
  keep?: (customId: string) => boolean
): Stream.Stream<Uint8Array, BatchError.LocalFileError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) => {
    const bytes = Stream.mapError(fs.stream(part.file), localFile(part.file, "read"))
    if (keep === undefined) return bytes
    return decodeLines((text: string) => {
      const id = customIdOf(Either.getOrUndefined(parseJson(text)))
      return Either.right(id !== undefined && keep(id) ? `${text}\n` : "")
    })(bytes).pipe(
      Stream.filter((text) => text.length > 0),
      Stream.grouped(1024),
      Stream.map((texts) => encoder.encode(Chunk.join(texts, "")))
    )
  }))

/**
 * Counts and estimates the requests of a part's file whose `custom_id` `keep` accepts (the claim of a follow-up).
 *
 * @since 0.2.0
 * @category Planning
 */
export const tally = (
  part: Pick<Part, "file">,
  keep: (customId: string) => boolean,
  estimate: JobBudget.Estimator = (request) => JobBudget.estimateTokens(request)
): Effect.Effect<
  { readonly requests: number; readonly tokens: number },
  BatchError.LocalFileError,
  FileSystem.FileSystem
> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    decodeLines((text: string) => {
      const request = Either.getOrUndefined(Either.flatMap(parseJson(text), checkRequest))
      return Either.right(request !== undefined && keep(request.custom_id) ? estimate(request) : -1)
    })(Stream.mapError(fs.stream(part.file), localFile(part.file, "read"))).pipe(
      Stream.runFold(
        { requests: 0, tokens: 0 },
        (sum, tokens) => tokens < 0 ? sum : { requests: sum.requests + 1, tokens: sum.tokens + tokens }
      )
    ))
