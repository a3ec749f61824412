/**
 * The planner behind `JobPlan.plan`: one pass over the requests, each checked, routed to its model's open part and
 * written to the spool; a part is emitted once it is complete. See `JobPlan` for the rules.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as BatchError from "../../BatchError.js"
import type * as BatchLine from "../../BatchLine.js"
import * as JobBudget from "../../JobBudget.js"
import type * as JobPlan from "../../JobPlan.js"
import * as TokenEstimate from "../../TokenEstimate.js"
import { checkLine, customIdOf, embeddingInputs } from "../requestCheck.js"
import * as Budgets from "./budgets.js"
import * as IdSet from "./idSet.js"
import { lineOf, valueOf } from "./input.js"
import { inputLine } from "./partFile.js"
import type * as Spool from "./spool.js"

/**
 * The API's limits for one batch, used as the default part limits: requests, bytes, and the inputs of an
 * `/v1/embeddings` batch (across its requests: an array input counts each item). @internal
 */
export const defaultLimits = { maxRequests: 50_000, maxBytes: 200_000_000, maxInputs: 50_000 } as const

/**
 * What planning needs besides the spool: `JobPlan.PlanOptions` without the directory, and at most how many parts
 * (one batch's run: a request that would open another part is refused, as too many or too large).
 *
 * @internal
 */
export interface Options extends Omit<JobPlan.PlanOptions, "dir"> {
  /** The public operation planning for (`Job.run`, `JobPlan.plan`, ...), named by the input errors. */
  readonly operation?: string | undefined
  readonly maxParts?: number | undefined
  /** The set of the ids read so far (tests: one whose every hit is false, to go through the confirmation). */
  readonly idSet?: (() => IdSet.IdSet) | undefined
}

const encoder = new TextEncoder()
/** Each open part's lines are written to its file in pieces of at most this many bytes. */
const flushBytes = 256 * 1024

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
  /** Its embedding inputs (0 off `/v1/embeddings`: nothing counts them there). */
  readonly inputs: number
}

interface OpenPart {
  readonly model: string
  readonly file: string
  readonly firstLine: number
  /** The most tokens this part may hold: the model's cap, packed (see `pack`). */
  readonly tokenLimit: number
  readonly digest: ReturnType<typeof IdSet.digest>
  /** Its input lines as runs of consecutive lines: [first, count]. */
  readonly lines: Array<[number, number]>
  requests: number
  bytes: number
  tokens: number
  inputs: number
  /** Its lines not written yet, as UTF-8 (allocated when the part opens; reused after each write). */
  buffer: Uint8Array
  filled: number
  /** Whether its file was started (the first write truncates: planning again into the same directory is safe). */
  started: boolean
}

/** A write of a part's lines to its spool file (from its start, or after what it holds). */
interface Write {
  readonly _tag: "Write"
  readonly file: string
  readonly data: Uint8Array
  readonly append: boolean
  /** The buffer `data` views, free again once written. */
  readonly recycle?: Uint8Array | undefined
}

/** What one synchronous pass over a chunk of requests asks for, in order (see `take` in `plan`). */
type Step =
  | Write
  | { readonly _tag: "Part"; readonly part: JobPlan.Part }
  | { readonly _tag: "Fail"; readonly error: BatchError.PlanError }
  | {
    readonly _tag: "Suspect"
    readonly request: Checked
    readonly line: number
    /** The chunk's requests, and where the pass stopped: it goes on from there once the id is confirmed new. */
    readonly items: ReadonlyArray<unknown>
    readonly at: number
  }

/**
 * Splits `requests` (as read from the job's input: unknown values, checked here) into parts written to `spool`.
 *
 * @internal
 */
export const plan = <E, R>(
  requests: Stream.Stream<unknown, E, R>,
  options: Options,
  spool: Spool.Spool
): Stream.Stream<JobPlan.Part, E | BatchError.PlanError, R> =>
  Stream.unwrap(Effect.gen(function*() {
    const maxRequests = options.maxRequests ?? defaultLimits.maxRequests
    const named = options.operation === undefined ? {} : { operation: options.operation } // named by input errors
    const maxBytes = options.maxBytes ?? defaultLimits.maxBytes
    const maxInputs = options.maxInputs ?? defaultLimits.maxInputs
    const countsInputs = options.endpoint === "/v1/embeddings"
    const safetyFactor = options.safetyFactor ?? JobBudget.defaults.safetyFactor
    const partFraction = options.partFraction ?? JobBudget.defaults.partFraction
    const estimate = options.estimate ??
      ((request: BatchLine.BatchRequestInput) => TokenEstimate.estimateTokens(request))
    const configIssue: readonly [string, string] | undefined = !(Number.isInteger(maxRequests) && maxRequests >= 1)
      ? ["maxRequests", "must be a whole number of at least 1"]
      : !(maxBytes >= 1)
      ? ["maxBytes", "must be at least 1"]
      : !(Number.isInteger(maxInputs) && maxInputs >= 1)
      ? ["maxInputs", "must be a whole number of at least 1"]
      : !(partFraction > 0 && partFraction <= 1)
      ? ["partFraction", "must be in (0, 1]"]
      : undefined
    if (configIssue !== undefined) {
      const [field, issue] = configIssue
      return Stream.fail(
        new BatchError.InvalidParamsError({
          operation: "JobPlan.plan",
          field,
          issue
        })
      )
    }

    // Per model: the part caps, checked once.
    const caps = new Map<string, Caps>()
    const capsOf = (model: string): Either.Either<Caps, BatchError.InvalidParamsError> => {
      const known = caps.get(model)
      if (known !== undefined) return Either.right(known)
      const budget = Budgets.budgetOf(options.budgets, model)
      const issue = Budgets.budgetIssue(budget, safetyFactor)
      if (issue !== undefined) {
        return Either.left(
          new BatchError.InvalidParamsError({
            operation: "JobPlan.plan",
            field: "budget",
            issue
          })
        )
      }
      const share = (limit: number | undefined) =>
        Math.max(1, Math.floor(Budgets.usable(limit, safetyFactor) * partFraction))
      const usableRequests = Budgets.usable(budget.requests, safetyFactor)
      const cap = {
        tokens: budget.tokens === undefined ? Infinity : share(budget.tokens),
        usableTokens: Budgets.usable(budget.tokens, safetyFactor),
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
    const ids = options.idSet?.() ?? IdSet.make(4096)
    /** Each spool file's input lines (its part's runs), to tell where a duplicate's first occurrence was. */
    const linesOf = new Map<string, ReadonlyArray<readonly [number, number]>>()
    const open = new Map<string, OpenPart>()
    let lineNumber = 0
    let parts = 0
    let spooled = 0

    // Each line is encoded into its part's buffer as it is checked; a full buffer is handed to the spool and the part
    // takes a spare one (the write runs after the chunk's synchronous pass), the written buffer becoming a spare: a
    // line's text dies young (held as a string until a flush, it lived long enough to be promoted to the old
    // generation, which then grew with the input), and the buffers are a few, reused (a fresh one per write was the
    // input's size again in array buffers to collect; bench/RESULTS.md, jobs at scale).
    const spare: Array<Uint8Array> = []
    const noBuffer = new Uint8Array(0)
    /** The write of a part's buffered lines (undefined if none); the part is given a spare buffer unless `closing`. */
    const takeBuffer = (part: OpenPart, closing: boolean): Write | undefined => {
      const { buffer, filled } = part
      if (filled === 0 && !closing) return undefined
      part.buffer = closing ? noBuffer : spare.pop() ?? new Uint8Array(flushBytes)
      part.filled = 0
      if (filled > 0) return { ...writeOf(part, buffer.subarray(0, filled)), recycle: buffer }
      if (buffer !== noBuffer) spare.push(buffer)
      return undefined
    }
    const writeOf = (part: OpenPart, data: Uint8Array): Write => {
      const append = part.started
      part.started = true
      return { _tag: "Write", file: part.file, data, append }
    }
    const write = (step: Write) =>
      Effect.map(spool.write(step.file, step.data, step.append), () => {
        if (step.recycle !== undefined) spare.push(step.recycle)
      })
    const flush = (part: OpenPart, closing: boolean) =>
      Effect.suspend(() => {
        const step = takeBuffer(part, closing)
        return step === undefined ? Effect.void : write(step)
      })

    /** The part's summary (its lines must have been handed to the spool: `takeBuffer`). */
    const partOf = (part: OpenPart): JobPlan.Part => ({
      index: ++parts,
      model: part.model,
      requests: part.requests,
      bytes: part.bytes,
      tokens: part.tokens,
      digest: part.digest.value(),
      file: part.file,
      firstLine: part.firstLine,
      lines: part.lines
    })

    const close = (part: OpenPart) => Effect.as(flush(part, true), partOf(part))

    /**
     * The input line of `customId` in a file written so far, or `undefined`: a hash hit is confirmed against the
     * files, and the line found there is where the id was first (a file's lines are its part's, in input order).
     */
    const written = (customId: string) =>
      Effect.gen(function*() {
        for (const part of open.values()) yield* flush(part, false)
        for (let n = 1; n <= spooled; n++) {
          const file = spool.fileName(n)
          const lines = (yield* spool.readText(file)).split("\n").filter((line) => line.length > 0)
          const at = lines.findIndex((line) => customIdOf(JSON.parse(line)) === customId)
          if (at >= 0) return inputLine({ lines: linesOf.get(file) ?? [] }, at + 1)
        }
        return undefined
      })

    /**
     * Checks one request, without effects: a valid line for the endpoint whose model's caps allow it, written as
     * JSON. Most of planning's time is here, per request; keeping it out of `Effect.gen` (a generator and fiber
     * steps per request) halved it.
     */
    const check = (raw: unknown, line: number): Either.Either<Checked, BatchError.PlanError> => {
      const checked = checkLine(valueOf(raw), line, options.endpoint, options.operation)
      if (Either.isLeft(checked)) return Either.left(checked.left)
      const { bytes, request, text } = checked.right
      const model = typeof request.body["model"] === "string" ? request.body["model"] : ""
      const cap = capsOf(model)
      if (Either.isLeft(cap)) return Either.left(cap.left)
      const tokens = estimate(request)
      const inputs = countsInputs ? embeddingInputs(request) : 0
      const tooLarge = (limit: "bytes" | "tokens" | "inputs", value: number, max: number) =>
        Either.left(
          new BatchError.RequestTooLargeError({ line, customId: request.custom_id, limit, value, max, ...named })
        )
      if (bytes > maxBytes) return tooLarge("bytes", bytes, maxBytes)
      if (tokens > cap.right.tokens) return tooLarge("tokens", tokens, cap.right.tokens)
      if (inputs > maxInputs) return tooLarge("inputs", inputs, maxInputs)
      return Either.right({ customId: request.custom_id, model, cap: cap.right, text, bytes, tokens, inputs })
    }

    /** Adds a checked request to its model's open part; returns the part it closed to make room, if any. */
    /** With `maxParts`: the error for a request that would open a part past it. */
    const overflow = (request: Checked, line: number): BatchError.PlanError | undefined => {
      if (options.maxParts === undefined || spooled < options.maxParts) return undefined
      const part = open.get(request.model)
      if (part === undefined) {
        return new BatchError.InvalidRequestError({
          line,
          customId: request.customId,
          issue: "body.model must be the model of the batch's other requests (a batch holds one model)",
          ...named
        })
      }
      if (part.requests + 1 > request.cap.requests) {
        return new BatchError.TooManyLinesError({
          line,
          maxLines: request.cap.requests,
          ...named
        })
      }
      if (part.inputs + request.inputs > maxInputs) {
        const issue = `its ${request.inputs} embedding inputs take the batch over ${maxInputs} inputs`
        return new BatchError.InvalidRequestError({
          line,
          customId: request.customId,
          issue,
          ...named
        })
      }
      if (part.bytes + request.bytes > maxBytes) {
        return new BatchError.InputTooLargeError({
          line,
          bytes: part.bytes + request.bytes,
          maxBytes,
          ...named
        })
      }
      return undefined
    }

    const route = (
      request: Checked,
      line: number
    ): { readonly part: OpenPart; readonly closed: OpenPart | undefined } => {
      const { bytes, cap, inputs, model, tokens } = request
      const stats = seen.get(model) ?? { requests: 0, tokens: 0 }
      stats.requests++
      stats.tokens += tokens
      seen.set(model, stats)
      let closed: OpenPart | undefined
      let part = open.get(model)
      if (
        part !== undefined &&
        (part.requests + 1 > cap.requests || part.bytes + bytes > maxBytes || part.tokens + tokens > part.tokenLimit ||
          part.inputs + inputs > maxInputs)
      ) {
        closed = part
        open.delete(model)
        part = undefined
      }
      if (part === undefined) {
        spooled++
        part = {
          model,
          file: spool.fileName(spooled),
          firstLine: line,
          lines: [],
          // Without a token budget, nothing to pack into: the part is cut by requests and bytes alone.
          tokenLimit: Number.isFinite(cap.usableTokens)
            ? pack(Math.min(cap.tokens, cap.requests * (stats.tokens / stats.requests)), cap.usableTokens)
            : cap.tokens,
          digest: IdSet.digest(),
          requests: 0,
          bytes: 0,
          tokens: 0,
          inputs: 0,
          buffer: spare.pop() ?? new Uint8Array(flushBytes),
          filled: 0,
          started: false
        }
        open.set(model, part)
        linesOf.set(part.file, part.lines)
      }
      const run = part.lines[part.lines.length - 1]
      if (run !== undefined && run[0] + run[1] === line) run[1]++
      else part.lines.push([line, 1])
      part.requests++
      part.bytes += bytes
      part.tokens += tokens
      part.inputs += inputs
      part.digest.update(request.text)
      return { part, closed }
    }

    // The parts still open at the end, in the order they were opened (by their first line).
    const finish = Effect.gen(function*() {
      if (lineNumber === 0) {
        return yield* Effect.fail(new BatchError.EmptyInputError(named))
      }
      const rest = [...open.values()].sort((a, b) => a.firstLine - b.firstLine)
      open.clear()
      const closed: Array<JobPlan.Part> = []
      for (const part of rest) closed.push(yield* close(part))
      return Chunk.unsafeFromArray(closed)
    })

    yield* spool.open
    /**
     * One synchronous pass over a chunk of requests (from `from`): the steps it makes, in order. It stops at the
     * first violation (parts cut before a bad line are emitted, and their batches may go ahead; the one it falls in
     * never is), and at an id the set has probably seen, to be confirmed against the files (`Suspect`).
     *
     * Synchronous on purpose: run as an effect per chunk (`Stream.mapChunksEffect`), the requests of the chunk lived
     * through young-generation collections and were promoted, and the old generation grew by most of the input
     * between full collections (planning 1,000,000 requests peaked ~80 MiB higher; bench/RESULTS.md). The steps
     * hold no request, only bytes to write and parts.
     */
    const take = (
      items: ReadonlyArray<unknown>,
      from: number,
      confirmed?: { readonly request: Checked; readonly line: number }
    ): Array<Step> => {
      const steps: Array<Step> = []
      for (let i = from; i < items.length; i++) {
        const resumed = confirmed !== undefined && i === from
        const line = resumed ? confirmed.line : (lineNumber = lineOf(items[i], lineNumber))
        const checked = resumed ? Either.right(confirmed.request) : check(items[i], line)
        if (Either.isLeft(checked)) {
          steps.push({ _tag: "Fail", error: checked.left })
          break
        }
        const request = checked.right
        if (!resumed && ids.add(request.customId)) {
          steps.push({ _tag: "Suspect", request, line, items, at: i })
          break
        }
        const refused = overflow(request, line)
        if (refused !== undefined) {
          steps.push({ _tag: "Fail", error: refused })
          break
        }
        const { closed, part } = route(request, line)
        if (closed !== undefined) {
          const write = takeBuffer(closed, true)
          if (write !== undefined) steps.push(write)
          steps.push({ _tag: "Part", part: partOf(closed) })
        }
        const { bytes, text } = request
        if (part.filled + bytes > part.buffer.length) {
          const write = takeBuffer(part, false)
          if (write !== undefined) steps.push(write)
        }
        if (bytes > part.buffer.length) steps.push(writeOf(part, encoder.encode(text)))
        else part.filled += encoder.encodeInto(text, part.buffer.subarray(part.filled)).written
      }
      return steps
    }

    /** Carries out steps in order: the parts they emit, then the first violation if any. */
    const perform = (
      steps: ReadonlyArray<Step>
    ): Effect.Effect<Array<Either.Either<JobPlan.Part, BatchError.PlanError>>, BatchError.PlanError> =>
      Effect.gen(function*() {
        const out: Array<Either.Either<JobPlan.Part, BatchError.PlanError>> = []
        for (const step of steps) {
          switch (step._tag) {
            case "Write":
              yield* write(step)
              break
            case "Part":
              out.push(Either.right(step.part))
              break
            case "Fail":
              out.push(Either.left(step.error))
              return out
            case "Suspect": {
              // A hash hit: a duplicate if the files hold the id (the line found there is where it was first).
              const firstLine = yield* written(step.request.customId)
              if (firstLine !== undefined) {
                out.push(Either.left(
                  new BatchError.DuplicateCustomIdError({
                    line: step.line,
                    customId: step.request.customId,
                    firstLine,
                    ...named
                  })
                ))
                return out
              }
              // Not seen after all (two ids with the same hashes): the chunk goes on from this request.
              return out.concat(yield* perform(take(step.items, step.at, step)))
            }
          }
        }
        return out
      })

    return requests.pipe(
      // A pass holds its chunk's encoded lines until its writes run: a caller's single huge chunk
      // (`Stream.fromChunk` of a million requests) is taken 4,096 requests at a time, as an array is.
      Stream.rechunk(4096),
      Stream.mapChunks((chunk) => Chunk.of(take(Chunk.toReadonlyArray(chunk), 0))),
      Stream.mapConcatEffect(perform),
      Stream.mapEffect((result) => result),
      Stream.concat(Stream.flattenChunks(Stream.fromEffect(finish)))
    )
  }))
