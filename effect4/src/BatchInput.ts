/**
 * A batch's input file, built from requests: serialized to JSONL line by line, checked as it goes (each request
 * well-formed, `custom_id`s unique, every `url` the batch's endpoint, at most 50,000 lines and 200 MB), and
 * uploaded as it is produced, so the file is never held whole in memory. Only the set of `custom_id`s is kept.
 *
 * A violation is a typed error naming its line. The checks run before each line's bytes are produced, so a bad
 * line is never sent; for a `Stream` source they run while uploading (the upload is then aborted and no file is
 * created), for an array they run in a dry pass before anything is sent.
 *
 * The Effect 4 edition: a line's check answers a `Result` (Effect 3: `Either`); the lines of a chunk of requests
 * go out as one string per chunk (`Stream.mapArrayEffect`).
 *
 * @since 4.0.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as BatchError from "./BatchError.js"
import type * as BatchLine from "./BatchLine.js"
import * as Operation from "./internal/http/operation.js"
import { checkLine } from "./internal/requestCheck.js"
import * as OpenAiFiles from "./OpenAiFiles.js"

// ---------------------------------------------------------------------------------------------------------------
// Building the file
// ---------------------------------------------------------------------------------------------------------------

/**
 * The API's limits for one input file. 200 MB is read as 200,000,000 bytes, the stricter reading: a file the
 * API would refuse is better caught here.
 *
 * @since 4.0.0
 * @category Constants
 */
export const defaultLimits = { maxLines: 50_000, maxBytes: 200_000_000 } as const

/**
 * Where requests come from: an array or any iterable, or a `Stream`.
 *
 * @since 4.0.0
 * @category Models
 */
export type Requests<E = never, R = never> =
  | Iterable<BatchLine.BatchRequestInput>
  | Stream.Stream<BatchLine.BatchRequestInput, E, R>

/**
 * Options of `encode` and `check`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface EncodeOptions {
  /** The batch's endpoint; every request's `url` must equal it. */
  readonly endpoint: string
  /** Default 50,000. */
  readonly maxLines?: number | undefined
  /** Default 200,000,000 (bytes of the JSONL file). */
  readonly maxBytes?: number | undefined
}

/**
 * What a checked file holds.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Summary {
  readonly lines: number
  readonly bytes: number
}

const encoder = new TextEncoder()

const isStream = <E, R>(requests: Requests<E, R>): requests is Stream.Stream<BatchLine.BatchRequestInput, E, R> =>
  Stream.isStream(requests)

/** The checker's state for one pass. */
const checker = (options: EncodeOptions, operation: string) => {
  const maxLines = options.maxLines ?? defaultLimits.maxLines
  const maxBytes = options.maxBytes ?? defaultLimits.maxBytes
  const seen = new Map<string, number>()
  const summary = { lines: 0, bytes: 0 }

  /** Checks one request and returns its line (with the newline), or the violation. */
  const line = (request: unknown): Result.Result<string, BatchError.InputError> => {
    const number = summary.lines + 1
    const checked = checkLine(request, number, options.endpoint, operation)
    if (Result.isFailure(checked)) return Result.fail(checked.failure)
    const { bytes, text } = checked.success
    const valid = checked.success.request
    const first = seen.get(valid.custom_id)
    if (first !== undefined) {
      return Result.fail(
        new BatchError.DuplicateCustomIdError({
          line: number,
          customId: valid.custom_id,
          firstLine: first,
          operation
        })
      )
    }
    if (number > maxLines) {
      return Result.fail(
        new BatchError.TooManyLinesError({
          line: number,
          maxLines,
          operation
        })
      )
    }
    if (summary.bytes + bytes > maxBytes) {
      return Result.fail(
        new BatchError.InputTooLargeError({
          line: number,
          bytes: summary.bytes + bytes,
          maxBytes,
          operation
        })
      )
    }
    seen.set(valid.custom_id, number)
    summary.lines = number
    summary.bytes += bytes
    return Result.succeed(text)
  }

  const finish = (): Result.Result<Summary, BatchError.InputError> =>
    summary.lines === 0
      ? Result.fail(new BatchError.EmptyInputError({ operation }))
      : Result.succeed({ lines: summary.lines, bytes: summary.bytes })

  return { line, finish, summary }
}

const checkedLines = <E, R>(
  operation: string,
  requests: Requests<E, R>,
  options: EncodeOptions,
  onDone: (summary: Summary) => void
): Stream.Stream<string, E | BatchError.InputError, R> =>
  Stream.suspend(() => {
    const check = checker(options, operation)
    const source: Stream.Stream<BatchLine.BatchRequestInput, E, R> = isStream(requests)
      ? requests
      : Stream.fromIterable(requests)
    return source.pipe(
      Stream.mapArrayEffect((chunk) => {
        let out = ""
        for (const request of chunk) {
          const result = check.line(request)
          if (Result.isFailure(result)) return Effect.fail(result.failure)
          out += result.success
        }
        return Effect.succeed([out] as const)
      }),
      Stream.concat(Stream.suspend(() => {
        const done = check.finish()
        if (Result.isFailure(done)) return Stream.fail(done.failure)
        onDone(done.success)
        return Stream.empty
      }))
    )
  })

/**
 * The JSONL file as bytes, one chunk per chunk of requests, each line checked before it is written. The stream
 * fails with the first violation.
 *
 * @since 4.0.0
 * @category Encoding
 */
export const encode = <E = never, R = never>(
  requests: Requests<E, R>,
  options: EncodeOptions
): Stream.Stream<Uint8Array, E | BatchError.InputError, R> =>
  Stream.map(checkedLines("BatchInput.encode", requests, options, () => {}), (text) => encoder.encode(text))

/**
 * Runs every check without writing or sending anything, and tells how many lines and bytes the file has.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchInput, BatchLine } from "effect-openai-batch"
 *
 * const requests = [
 *   BatchLine.embedding("a", { model: "text-embedding-3-small", input: "one" }),
 *   BatchLine.embedding("a", { model: "text-embedding-3-small", input: "two" })
 * ]
 *
 * // nothing is written or sent: the duplicate custom_id is a typed error naming its line
 * const checked = BatchInput.check(requests, { endpoint: "/v1/embeddings" }).pipe(
 *   Effect.map(() => "ok"),
 *   Effect.catchTag("DuplicateCustomIdError", (error) => Effect.succeed(error._tag))
 * )
 * assert.strictEqual(Effect.runSync(checked), "DuplicateCustomIdError")
 * ```
 *
 * @since 4.0.0
 * @category Encoding
 */
export const check = <E = never, R = never>(
  requests: Requests<E, R>,
  options: EncodeOptions
): Effect.Effect<Summary, E | BatchError.InputError, R> =>
  Operation.span("BatchInput.check", undefined, () =>
    Effect.suspend(() => {
      let summary: Summary = { lines: 0, bytes: 0 }
      return Effect.flatMap(
        Stream.runDrain(checkedLines("BatchInput.check", requests, options, (done) => (summary = done))),
        () => Effect.sync(() => summary)
      )
    }))

// ---------------------------------------------------------------------------------------------------------------
// Uploading
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of `upload`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface UploadOptions extends EncodeOptions, OpenAiFiles.UploadOptions {
  /** Default `batch_input.jsonl`. */
  readonly filename?: string | undefined
  /** When the uploaded file expires (default: the API's 30 days for batch files). */
  readonly expires_after?: OpenAiFiles.FileExpiresAfter | undefined
  /**
   * Check the whole input in a dry pass before sending anything. Default: `true` for an array (it can be read
   * twice; the cost is serializing it twice), `false` otherwise (a stream or a generator may not be replayable;
   * its lines are checked while they are sent).
   */
  readonly precheck?: boolean | undefined
}

/**
 * An uploaded input file.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Uploaded extends Summary {
  readonly file: OpenAiFiles.OpenAIFile
}

/**
 * Builds the input file and uploads it with purpose `batch`, streamed. See the module comment for when the
 * checks run. A stream upload is sent once (it cannot be replayed); an upload failure leaves no file behind.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchApi, BatchInput, BatchLine } from "effect-openai-batch"
 *
 * const requests = ["one", "two"].map((input, i) =>
 *   BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input })
 * )
 *
 * const program = Effect.gen(function*() {
 *   const uploaded = yield* BatchInput.upload(requests, { endpoint: "/v1/embeddings" }) // checked, then streamed
 *   return yield* BatchApi.createBatch({
 *     input_file_id: uploaded.file.id,
 *     endpoint: "/v1/embeddings",
 *     completion_window: "24h"
 *   })
 * })
 * ```
 *
 * @since 4.0.0
 * @category Uploading
 */
export const upload = <E = never, R = never>(
  requests: Requests<E, R>,
  options: UploadOptions
): Effect.Effect<Uploaded, E | BatchError.InputError | BatchError.RequestError, R | OpenAiFiles.OpenAiFiles> =>
  Operation.span("BatchInput.upload", { "openai.endpoint": options.endpoint }, (span) =>
    Effect.gen(function*() {
      const files = yield* Effect.service(OpenAiFiles.OpenAiFiles)
      if (options.precheck ?? Array.isArray(requests)) yield* check(requests, options)
      let summary: Summary = { lines: 0, bytes: 0 }
      const context = yield* Effect.context<R>()
      const body = Stream.provideContext(
        Stream.map(
          checkedLines("BatchInput.upload", requests, options, (done) => (summary = done)),
          (text) => encoder.encode(text)
        ),
        context
      )
      const file = yield* files.uploadFile({
        file: body,
        filename: options.filename ?? "batch_input.jsonl",
        purpose: "batch",
        expires_after: options.expires_after
      })
      span.attribute("openai.file_id", file.id)
      span.attribute("batch.input.lines", summary.lines)
      return { file, lines: summary.lines, bytes: summary.bytes }
    }))
