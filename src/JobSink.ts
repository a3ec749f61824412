/**
 * Where a job's results go: a part's typed results are handed to a sink as soon as its batch ends, as a `Stream`,
 * so the job never holds them all.
 *
 * A sink must be idempotent per delivery (job, part, attempt, batch): a job re-run after a crash, or a durable
 * step replayed, may deliver the same batch's results again. `stored` lets it say it already has them, and the
 * job then skips the delivery (it still reads the results to know which requests are done).
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as EffectSink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as BatchError from "./BatchError.js"
import type * as BatchLine from "./BatchLine.js"

/**
 * Which batch's results a delivery holds.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Delivery {
  readonly jobId: string
  readonly part: number
  readonly attempt: number
  readonly batchId: string
}

/**
 * What a delivery's stream can fail with (the download and decoding of the results).
 *
 * @since 0.2.0
 * @category Models
 */
export type ReadError = BatchError.RequestError | BatchError.ResultsError

/**
 * A destination for results.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Sink<E = never, R = never> {
  /** Whether the sink already holds this delivery (a re-run then skips it). Default: never. */
  readonly stored?: ((delivery: Delivery) => Effect.Effect<boolean, E, R>) | undefined
  /** Consumes the whole stream (the job reads it once, through this). */
  readonly deliver: (
    delivery: Delivery,
    results: Stream.Stream<BatchLine.BatchResult, ReadError>
  ) => Effect.Effect<void, E | ReadError, R>
}

/**
 * Drops the results (the job still counts them in its summary).
 *
 * @since 0.2.0
 * @category Sinks
 */
export const discard: Sink = { deliver: (_, results) => Stream.runDrain(results) }

/**
 * Calls `f` with each result and its delivery.
 *
 * @since 0.2.0
 * @category Sinks
 */
export const forEach = <E, R>(
  f: (result: BatchLine.BatchResult, delivery: Delivery) => Effect.Effect<void, E, R>
): Sink<E, R> => ({
  deliver: (delivery, results) => Stream.runForEach(results, (result) => f(result, delivery))
})

/**
 * The name of a delivery's file: `<jobId>.part-0001.attempt-1.<batchId>.jsonl`.
 *
 * @since 0.2.0
 * @category Sinks
 */
export const fileName = (delivery: Delivery): string =>
  `${delivery.jobId}.part-${
    String(delivery.part).padStart(4, "0")
  }.attempt-${delivery.attempt}.${delivery.batchId}.jsonl`

const encoder = new TextEncoder()

/**
 * Writes each delivery as a JSONL file of typed results (`BatchLine.BatchResult`, one per line) in `dir`. A file is
 * written under a temporary name and renamed when complete, so a file that exists is whole: that is `stored`.
 *
 * @since 0.2.0
 * @category Sinks
 */
export const jsonlFiles = (dir: string): Sink<BatchError.LocalFileError, FileSystem.FileSystem | Path.Path> => {
  const failed = (path: string, action: string) => (cause: unknown) =>
    new BatchError.LocalFileError({ path, cause, message: `could not ${action} ${path}: ${String(cause)}` })
  const target = (delivery: Delivery) => Effect.map(Path.Path, (path) => path.join(dir, fileName(delivery)))
  return {
    stored: (delivery) =>
      Effect.flatMap(
        target(delivery),
        (file) => Effect.flatMap(FileSystem.FileSystem, (fs) => Effect.mapError(fs.exists(file), failed(file, "check")))
      ),
    deliver: (delivery, results) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const file = yield* target(delivery)
        const partial = `${file}.partial`
        yield* Effect.mapError(fs.makeDirectory(dir, { recursive: true }), failed(dir, "create"))
        yield* results.pipe(
          Stream.map((result) => `${JSON.stringify(result)}\n`),
          Stream.grouped(512),
          Stream.map((lines) => encoder.encode([...lines].join(""))),
          Stream.run(EffectSink.mapError(fs.sink(partial), failed(partial, "write")))
        )
        yield* Effect.mapError(fs.rename(partial, file), failed(file, "rename"))
      })
  }
}
