/**
 * A part's input file, sent: in one `POST /v1/files` (`OpenAiFiles.uploadFile`, duplicate-free: its filename
 * carries a marker and an ambiguous failure is looked up before sending again), or, for a file larger than
 * `uploadsAbove` bytes, through the Uploads API (`OpenAiUploads.uploadStream`) in parts of 64 MiB, each retried on
 * its own: a connection reset costs one part, not the whole file.
 *
 * What a crash in the middle of an Uploads-API upload leaves: an upload that is not completed makes no file; it
 * expires an hour after its creation (and an interrupt or a failure cancels it at once). A crash after the upload
 * completed and before the batch was created leaves the file, which expires with `file_expires_after` (14 days by
 * default); the re-run uploads the part again and creates its batch from the new file. That is the same as the
 * Files path across a crash (its marker is unique to one call, not to the part): a file at most, never a batch,
 * made twice.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as BatchError from "../../BatchError.js"
import type * as JobPlan from "../../JobPlan.js"
import * as Streamed from "../uploads/streamed.js"
import type { Env } from "./partEnv.js"
import * as PartFile from "./partFile.js"

/** The default of `uploadsAbove`: 64 MiB, one part of the Uploads API (below it, one request does the same). @internal */
export const defaultUploadsAbove = 64 * 1024 ** 2

/**
 * Uploads the part's file (its requests `keep` accepts, or all of them) for `attempt`; returns the file's id.
 *
 * @internal
 */
export const upload = <E, R, X, RX>(
  env: Env<E, R, X, RX>,
  part: JobPlan.Part,
  attempt: number,
  keep: ((customId: string) => boolean) | undefined
): Effect.Effect<string, BatchError.RequestError | BatchError.LocalFileError | BatchError.InvalidParamsError> =>
  Effect.gen(function*() {
    const filename = `${env.jobId}.part-${part.index}.attempt-${attempt}.jsonl`
    const file = () => PartFile.lines(env.spool, part, keep)
    // A follow-up holds a subset of the part: measured only when the whole part is over the threshold.
    const bytes = part.bytes <= env.uploadsAbove
      ? part.bytes
      : keep === undefined
      ? part.bytes
      : yield* Stream.runFold(file(), () => 0, (n, chunk) => n + chunk.length)
    if (bytes > env.uploadsAbove) {
      const completed = yield* Streamed.upload(env.uploadsApi, env.files, file(), {
        bytes,
        filename,
        purpose: "batch",
        mime_type: "text/jsonl",
        ...(env.fileExpiresAfter === undefined ? {} : { expires_after: env.fileExpiresAfter })
      })
      return completed.file.id
    }
    const uploaded = yield* env.files.uploadFile({
      file: file(),
      filename,
      purpose: "batch",
      replayable: true,
      ...(env.fileExpiresAfter === undefined ? {} : { expires_after: env.fileExpiresAfter })
    })
    return uploaded.id
  }).pipe(Effect.withSpan("Job.partUpload", { attributes: { "job.part": part.index, "job.attempt": attempt } }))
