/**
 * A part's results as its runner reads them (./part.ts): the results of one of its batches that count (not the
 * lines of requests that never ran, not the ones to re-send unless `final`), and the `custom_id`s with a result so
 * far, read again from its earlier batches (what a follow-up leaves out).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Batch from "../../Batch.js"
import * as BatchError from "../../BatchError.js"
import * as BatchLine from "../../BatchLine.js"
import * as BatchResults from "../../BatchResults.js"
import type * as JobPlan from "../../JobPlan.js"
import * as IdSet from "./idSet.js"
import type { Env } from "./partEnv.js"

/** The results of `batch` that count; a file that cannot be read fails the part (`"delivery"`). @internal */
export const results = <E, R, X, RX>(env: Env<E, R, X, RX>, part: JobPlan.Part, batch: Batch.Batch, final: boolean) => {
  const files = [
    ...(batch.output_file_id === undefined ? [] : [{ fileId: batch.output_file_id, file: "output" as const }]),
    ...(batch.error_file_id === undefined ? [] : [{ fileId: batch.error_file_id, file: "error" as const }])
  ]
  return Stream.fromIterable(files).pipe(
    Stream.flatMap((source) =>
      BatchResults.decode(source, { malformed: env.malformed, onMalformed: env.onMalformed })(
        env.files.downloadFile(source.fileId)
      ).pipe(
        Stream.mapError((error) =>
          error._tag === "MalformedLineError" ? error : new BatchError.PartFailedError({
            jobId: env.jobId,
            part: part.index,
            reason: "delivery",
            errors: [],
            fileId: source.fileId,
            batch,
            cause: error,
            operation: env.operation
          })
        )
      )
    ),
    Stream.filter((result) =>
      !BatchLine.neverRan(result) &&
      (final || env.resendWhen === undefined || !env.resendWhen(result))
    )
  )
}

/** The `custom_id`s with a result so far, read again from the part's earlier `batches`. @internal */
export const covered = <E, R, X, RX>(
  env: Env<E, R, X, RX>,
  part: JobPlan.Part,
  batches: ReadonlyArray<Batch.Batch>
) =>
  Effect.gen(function*() {
    const ids = IdSet.make(Math.min(part.requests, 65_536))
    for (const batch of batches) {
      yield* env.downloads.withPermits(1)(
        Stream.runForEach(results(env, part, batch, false), (result) => Effect.sync(() => ids.add(result.custom_id)))
      )
    }
    return ids
  })
