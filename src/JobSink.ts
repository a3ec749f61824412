/**
 * Where a job's results go: each batch's typed results are run into an Effect `Sink` as soon as the batch ends,
 * so the job never holds them all.
 *
 * A `JobSink` makes one `Sink` per delivery (job, part, attempt, batch). It must be idempotent per delivery: a job
 * re-run after a crash, or a durable step replayed, may deliver the same batch's results again. `stored` lets it
 * say it already has them, and the job then skips the delivery (it still reads the results to know which requests
 * are done). Within one delivery, every result reaches the sink once: a download cut off in the middle is resumed
 * where it stopped, not started over.
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
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
 * A destination for a job's results: a `Sink` per delivery, and optionally a way to tell that a delivery is
 * already stored.
 *
 * @since 0.3.0
 * @category Models
 */
export interface JobSink<E = never, R = never> {
  /** Whether the sink already holds this delivery (a re-run then skips it). Default: never. */
  readonly stored?: ((delivery: Delivery) => Effect.Effect<boolean, E, R>) | undefined
  /** The sink one delivery's results are run into. */
  readonly sink: (delivery: Delivery) => Sink.Sink<unknown, BatchLine.BatchResult, unknown, E, R>
}

/**
 * A job sink from a function that makes an Effect `Sink` per delivery. The sink must take every result of a
 * delivery: one that ends earlier (`Sink.take(n)`, `Sink.head`, `Sink.collectAllN` used as a first batch) fails the
 * part with `PartFailedError` of reason `"sink"` rather than lose the rest.
 *
 * @example
 * ```ts
 * import { Effect, Sink } from "effect"
 * import { JobSink } from "effect-openai-batch"
 *
 * // Counts the succeeded results of every delivery.
 * let succeeded = 0
 * const counting = JobSink.make(() =>
 *   Sink.forEach((result) => Effect.sync(() => { if (result._tag === "Succeeded") succeeded++ }))
 * )
 * ```
 *
 * @since 0.3.0
 * @category Constructors
 */
export const make = <E, R>(
  sink: (delivery: Delivery) => Sink.Sink<unknown, BatchLine.BatchResult, unknown, E, R>,
  options: { readonly stored?: ((delivery: Delivery) => Effect.Effect<boolean, E, R>) | undefined } = {}
): JobSink<E, R> => ({ sink, stored: options.stored })

/**
 * Drops the results (the job still counts them in its summary).
 *
 * @since 0.2.0
 * @category Sinks
 */
export const discard: JobSink = { sink: () => Sink.drain }

/**
 * Calls `f` with each result and its delivery.
 *
 * @since 0.2.0
 * @category Sinks
 */
export const forEach = <E, R>(
  f: (result: BatchLine.BatchResult, delivery: Delivery) => Effect.Effect<void, E, R>
): JobSink<E, R> => ({ sink: (delivery) => Sink.forEach((result) => f(result, delivery)) })

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
 * written under a temporary name (`.partial`), flushed to disk, closed and renamed when complete, and the directory
 * flushed after the rename, so a file that exists is whole, even after the machine stopped (a power cut, a kernel
 * panic): that is `stored`. Flushing the directory is skipped where the platform cannot (Windows).
 *
 * @since 0.2.0
 * @category Sinks
 */
export const jsonlFiles = (dir: string): JobSink<BatchError.LocalFileError, FileSystem.FileSystem | Path.Path> => {
  const failed = (path: string, action: string) => (cause: unknown) =>
    new BatchError.LocalFileError({ path, action, cause })
  const target = (delivery: Delivery) => Effect.map(Path.Path, (path) => path.join(dir, fileName(delivery)))
  return {
    stored: (delivery) =>
      Effect.flatMap(
        target(delivery),
        (file) => Effect.flatMap(FileSystem.FileSystem, (fs) => Effect.mapError(fs.exists(file), failed(file, "check")))
      ),
    sink: (delivery) =>
      Sink.unwrapScoped(Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const file = yield* target(delivery)
        const partial = `${file}.partial`
        yield* Effect.mapError(fs.makeDirectory(dir, { recursive: true }), failed(dir, "create"))
        // The file's own scope: closed before the rename (or with the sink's, if the delivery fails or stops).
        const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
        const handle = yield* Effect.mapError(
          Scope.extend(fs.open(partial, { flag: "w" }), scope),
          failed(partial, "write")
        )
        // The rename is durable once the directory's entry is on disk (a durable job journals the delivery next).
        const syncDirectory = Effect.ignore(Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (d) => d.sync)))
        return Sink.forEachChunk((results: Chunk.Chunk<BatchLine.BatchResult>) => {
          let text = ""
          for (const result of results) text += `${JSON.stringify(result)}\n`
          return Effect.mapError(handle.writeAll(encoder.encode(text)), failed(partial, "write"))
        }).pipe(
          Sink.mapEffect(() =>
            Effect.mapError(handle.sync, failed(partial, "flush")).pipe(
              Effect.zipRight(Scope.close(scope, Exit.void)),
              Effect.zipRight(Effect.mapError(fs.rename(partial, file), failed(file, "rename"))),
              Effect.zipRight(syncDirectory)
            )
          )
        )
      }))
  }
}
