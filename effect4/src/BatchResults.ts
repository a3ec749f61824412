/**
 * A batch's results, streamed: the lines of its output file and then of its error file, each decoded as it
 * arrives into `Succeeded | FailedResponse | Errored` (see `BatchLine`), with memory bounded by the longest line,
 * not the file.
 *
 * It reads whatever files the batch has, so it serves completed batches, the partial results of expired and
 * cancelled ones, and completed batches whose every request failed (`output_file_id` null, all lines in the error
 * file). Results come in the API's order, not the input's: join them by `custom_id` with `join` or `toMap`.
 *
 * The Effect 4 edition: a line decodes to a `Result`; a malformed line's issue is worded by the path and the rule
 * broken (as the request pipeline words a response's), not Schema's tree; the collectors run their stream directly
 * (Effect 4's stream runs log no "unhandled error" fiber failure, which Effect 3's needed `internal/runStream` for).
 *
 * @since 4.0.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type * as SchemaIssue from "effect/SchemaIssue"
import * as Stream from "effect/Stream"
import * as Batch from "./Batch.js"
import * as BatchError from "./BatchError.js"
import * as BatchLine from "./BatchLine.js"
import * as Decoder from "./internal/decoder.js"
import { excerpt } from "./internal/http/errors.js"
import * as Operation from "./internal/http/operation.js"
import { decodeLines, parseJson } from "./internal/jsonl.js"
import * as Params from "./internal/params.js"
import * as OpenAiFiles from "./OpenAiFiles.js"

/**
 * Options of `stream` and `decode`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface StreamOptions {
  /**
   * What a malformed line does: `"fail"` (default) fails the stream with `BatchError.MalformedLineError` after the lines
   * before it; `"skip"` drops it, hands it to `onMalformed` and goes on.
   */
  readonly malformed?: "fail" | "skip" | undefined
  /** Called with each skipped line's error (with `malformed: "skip"`), e.g. to count or log them. */
  readonly onMalformed?: ((error: BatchError.MalformedLineError) => Effect.Effect<void>) | undefined
  /**
   * The longest line to read, in characters (for the API's JSON, about bytes); default `defaultMaxLineLength`. A
   * longer line is a `MalformedLineError` naming its file and line as soon as it outgrows the cap (with
   * `malformed: "skip"`, its rest is read past without being held).
   */
  readonly maxLineLength?: number | undefined
}

/**
 * The default cap on a results line: 128 Mi characters. The longest line the API can write is about 90 MB (an
 * embeddings response of 2,048 inputs of 3,072 dimensions, as JSON numbers); 128 Mi leaves room above it, and stays
 * well below V8's longest string (2^29 − 24 characters), past which reading the line would die with a RangeError
 * rather than fail with a typed error. A line held whole costs up to twice its length in memory (UTF-16).
 *
 * @since 4.0.0
 * @category Constants
 */
export const defaultMaxLineLength: number = 128 * 1024 * 1024

const decodeOutput = Decoder.make(BatchLine.BatchRequestOutput)
const malformedLine = (fileId: string, file: "output" | "error", line: number, text: string, issue: string) =>
  new BatchError.MalformedLineError({
    fileId,
    file,
    line,
    issue,
    excerpt: excerpt(text)
  })

/** A parse issue in one line: the path and the rule broken, never the value found there. */
const summarize = (issue: SchemaIssue.Issue): string => {
  const described = Params.describe(issue)
  return described.field === undefined ? described.issue : `${described.field} ${described.issue}`
}

const lineDecoder =
  (fileId: string, file: "output" | "error") =>
  (text: string, line: number): Result.Result<BatchLine.BatchResult, BatchError.MalformedLineError> => {
    const malformed = (issue: string) => malformedLine(fileId, file, line, text, issue)
    const json = parseJson(text)
    if (Result.isFailure(json)) return Result.fail(malformed(`not JSON (${json.failure})`))
    const decoded = decodeOutput(json.success)
    if (Result.isFailure(decoded)) return Result.fail(malformed(summarize(decoded.failure)))
    return Result.mapError(BatchLine.classify(decoded.success), malformed)
  }

/**
 * Decodes a results file's bytes (from anywhere: a download, a file on disk) into results. `fileId` and `file`
 * name the file in errors.
 *
 * @since 4.0.0
 * @category Decoding
 */
export const decode = (
  source: { readonly fileId: string; readonly file: "output" | "error" },
  options: Pick<StreamOptions, "malformed" | "onMalformed" | "maxLineLength"> = {}
) =>
<E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<BatchLine.BatchResult, E | BatchError.MalformedLineError, R> => {
  const maxLength = options.maxLineLength ?? defaultMaxLineLength
  return decodeLines(
    lineDecoder(source.fileId, source.file),
    options.malformed === "skip" ? (options.onMalformed ?? (() => Effect.void)) : "fail",
    {
      maxLength,
      tooLong: (line, head) =>
        malformedLine(source.fileId, source.file, line, head, `is longer than ${maxLength} characters`)
    }
  )(bytes)
}

/**
 * The results of a batch: its output file's lines, then its error file's, downloaded and decoded incrementally.
 * A batch with neither file that is not terminal fails with `BatchError.ResultsNotReadyError`; a terminal one without files
 * (a `failed` batch) gives an empty stream.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { type Batch, BatchResults } from "effect-openai-batch"
 *
 * const failures = (batch: Batch.Batch) =>
 *   BatchResults.stream(batch).pipe(
 *     Stream.filter((result) => result._tag !== "Succeeded"),
 *     Stream.runForEach((result) => Effect.logWarning(`${result.custom_id}: ${result._tag}`))
 *   )
 * ```
 *
 * @since 4.0.0
 * @category Streams
 */
export const stream = (
  batch: Batch.Batch,
  options: StreamOptions = {}
): Stream.Stream<
  BatchLine.BatchResult,
  BatchError.RequestError | BatchError.MalformedLineError | BatchError.ResultsNotReadyError,
  OpenAiFiles.OpenAiFiles
> => {
  const files: ReadonlyArray<{ readonly fileId: string; readonly file: "output" | "error" }> = [
    ...(batch.output_file_id === undefined ? [] : [{ fileId: batch.output_file_id, file: "output" as const }]),
    ...(batch.error_file_id === undefined ? [] : [{ fileId: batch.error_file_id, file: "error" as const }])
  ]
  if (files.length === 0 && !Batch.isTerminal(batch)) {
    return Stream.fail(
      new BatchError.ResultsNotReadyError({
        batchId: batch.id,
        status: batch.status
      })
    )
  }
  return Stream.fromIterable(files).pipe(
    Stream.flatMap((source) => decode(source, options)(OpenAiFiles.downloadFile(source.fileId))),
    Operation.namedStream("BatchResults.stream"),
    Operation.streamSpan("BatchResults.stream", { "openai.batch_id": batch.id })
  )
}

/**
 * Collects results into a map by `custom_id` (a repeated id keeps its last result).
 *
 * @since 4.0.0
 * @category Collecting
 */
export const toMap = <E, R>(
  results: Stream.Stream<BatchLine.BatchResult, E, R>
): Effect.Effect<ReadonlyMap<string, BatchLine.BatchResult>, E, R> =>
  Stream.runFold(
    results,
    () => new Map<string, BatchLine.BatchResult>(),
    (map, result) => map.set(result.custom_id, result)
  )

/**
 * A batch's results by `custom_id`, and the malformed lines skipped (only with `malformed: "skip"`).
 *
 * @since 4.0.0
 * @category Collecting
 */
export const collect = (
  batch: Batch.Batch,
  options: StreamOptions = {}
): Effect.Effect<
  {
    readonly byCustomId: ReadonlyMap<string, BatchLine.BatchResult>
    readonly skipped: ReadonlyArray<BatchError.MalformedLineError>
  },
  BatchError.RequestError | BatchError.MalformedLineError | BatchError.ResultsNotReadyError,
  OpenAiFiles.OpenAiFiles
> =>
  Effect.suspend(() => {
    const skipped: Array<BatchError.MalformedLineError> = []
    const onMalformed = (error: BatchError.MalformedLineError) =>
      Effect.andThen(
        Effect.sync(() => skipped.push(error)),
        options.onMalformed === undefined ? Effect.void : options.onMalformed(error)
      )
    return Effect.map(toMap(stream(batch, { ...options, onMalformed })), (byCustomId) => ({ byCustomId, skipped }))
  })

/**
 * One input with its result.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Matched<I> {
  readonly input: I
  readonly result: BatchLine.BatchResult
}

/**
 * Results joined to their inputs by `custom_id`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Joined<I> {
  /** Inputs that have a result, in input order. */
  readonly matched: ReadonlyArray<Matched<I>>
  /** Inputs without any result (a batch that failed or was cut short before writing them). */
  readonly missing: ReadonlyArray<I>
  /** Results whose `custom_id` is not among the inputs. */
  readonly unmatched: ReadonlyArray<BatchLine.BatchResult>
}

/**
 * Joins results to inputs by `custom_id`. The inputs are indexed in memory; the results are consumed as they
 * stream (a repeated id keeps its last result).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { type Batch, BatchLine, BatchResults } from "effect-openai-batch"
 *
 * const inputs = [BatchLine.embedding("doc-0", { model: "text-embedding-3-small", input: "hello" })]
 *
 * const joined = (batch: Batch.Batch) =>
 *   BatchResults.stream(batch).pipe(
 *     BatchResults.join(inputs),
 *     Effect.map(({ matched, missing }) => ({ answered: matched.length, missing: missing.length }))
 *   )
 * ```
 *
 * @since 4.0.0
 * @category Collecting
 */
export const join: {
  <I extends { readonly custom_id: string }>(
    inputs: Iterable<I>
  ): <E, R>(results: Stream.Stream<BatchLine.BatchResult, E, R>) => Effect.Effect<Joined<I>, E, R>
  <I extends { readonly custom_id: string }, E, R>(
    results: Stream.Stream<BatchLine.BatchResult, E, R>,
    inputs: Iterable<I>
  ): Effect.Effect<Joined<I>, E, R>
} = dual(2, <I extends { readonly custom_id: string }, E, R>(
  results: Stream.Stream<BatchLine.BatchResult, E, R>,
  inputs: Iterable<I>
): Effect.Effect<Joined<I>, E, R> =>
  Effect.suspend(() => {
    // Read once: a generator cannot be iterated twice.
    const all = Array.from(inputs)
    const known = new Set<string>()
    for (const input of all) known.add(input.custom_id)
    const unmatched: Array<BatchLine.BatchResult> = []
    const byId = new Map<string, BatchLine.BatchResult>()
    return Effect.map(
      Stream.runForEach(results, (result) =>
        Effect.sync(() => {
          if (known.has(result.custom_id)) byId.set(result.custom_id, result)
          else unmatched.push(result)
        })),
      () => {
        const matched: Array<Matched<I>> = []
        const missing: Array<I> = []
        for (const input of all) {
          const result = byId.get(input.custom_id)
          if (result === undefined) missing.push(input)
          else matched.push({ input, result })
        }
        return { matched, missing, unmatched }
      }
    )
  }))

/**
 * The result for a `custom_id` in a map built by `toMap`, as an `Option`.
 *
 * @since 4.0.0
 * @category Collecting
 */
export const get = (
  results: ReadonlyMap<string, BatchLine.BatchResult>,
  customId: string
): Option.Option<BatchLine.BatchResult> => Option.fromNullishOr(results.get(customId))
