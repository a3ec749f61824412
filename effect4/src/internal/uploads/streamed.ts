/**
 * `OpenAiUploads.uploadStream`: a stream cut into parts as it arrives, each part sent (and retried) on its own,
 * the MD5 computed on the way, the upload completed with its parts in order, or cancelled on any failure or
 * interruption.
 *
 * The Effect 4 edition: a chunk's full parts go out with `Stream.mapEffect` and `Stream.flattenIterable` (Effect 3:
 * `mapConcatEffect`); the part ids are collected as an array; a failed completion is looked up with `Effect.catch`
 * (Effect 3: `catchAll`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BatchError from "../../BatchError.js"
import * as BatchSchedule from "../../BatchSchedule.js"
import type * as OpenAiFiles from "../../OpenAiFiles.js"
import type * as OpenAiUploads from "../../OpenAiUploads.js"
import * as Retry from "../http/retry.js"
import * as Md5 from "../md5.js"
import * as Params from "../params.js"
import * as Upload from "../upload.js"

/** `OpenAiUploads.limits.maxPartBytes` (an internal module imports no value of the public one it implements). */
const maxPartBytes = 64 * 1024 ** 2

const mismatch = (declared: number, produced: string) =>
  Params.invalid(
    "uploadStream",
    `is ${declared}, but the stream produced ${produced} (the upload was cancelled)`,
    "bytes"
  )

/** A part cut from the stream; `release` gives its buffer back for the next part once it is sent. @internal */
export interface Part {
  readonly bytes: Uint8Array
  readonly release: () => void
}

/**
 * Cuts `source` into parts of `partSize` bytes (the last one shorter), feeding every byte to `onBytes` in order.
 * A part is a buffer filled from the chunks (or a view of a chunk that holds a whole part): it is emitted as soon
 * as it is full, so at most one part is being filled at a time. Buffers are reused: a released part's buffer holds
 * a later part, so parts leave no garbage behind (only the source's own chunks do).
 *
 * @internal
 */
export const cut = <E, E2, R>(
  source: Stream.Stream<Uint8Array, E, R>,
  partSize: number,
  onBytes: (chunk: Uint8Array) => Effect.Effect<void, E2>
): Stream.Stream<Part, E | E2, R> =>
  Stream.suspend(() => {
    const pool: Array<Uint8Array> = []
    const pooled = (buffer: Uint8Array): Part["release"] => () => pool.push(buffer)
    const keep: Part["release"] = () => undefined
    let part: Uint8Array | undefined
    let filled = 0
    const split = (chunk: Uint8Array): Array<Part> => {
      const full: Array<Part> = []
      let offset = 0
      while (offset < chunk.length) {
        if (part === undefined && chunk.length - offset >= partSize) {
          full.push({ bytes: chunk.subarray(offset, offset + partSize), release: keep })
          offset += partSize
          continue
        }
        part ??= pool.pop() ?? new Uint8Array(partSize)
        const n = Math.min(partSize - filled, chunk.length - offset)
        part.set(chunk.subarray(offset, offset + n), filled)
        filled += n
        offset += n
        if (filled === partSize) {
          full.push({ bytes: part, release: pooled(part) })
          part = undefined
          filled = 0
        }
      }
      return full
    }
    const rest = Stream.suspend(() =>
      part === undefined ? Stream.empty : Stream.make({ bytes: part.subarray(0, filled), release: keep })
    )
    return source.pipe(
      // One chunk at a time: a part leaves as soon as it is full, before the next chunk is read.
      Stream.rechunk(1),
      Stream.mapEffect((chunk) => Effect.as(onBytes(chunk), split(chunk))),
      Stream.flattenIterable,
      Stream.concat(rest)
    )
  })

/** An upload and the file its completion made (the answer's, or the one found after a lost answer). @internal */
export interface Completed {
  readonly upload: OpenAiUploads.Upload
  readonly file: OpenAiFiles.OpenAIFile
}

/** A completed upload's file, found by its marked filename among the newest files of its purpose. */
const findFile = (
  files: Pick<OpenAiFiles.Service, "listFiles">,
  purpose: string,
  filename: string,
  sinceSeconds: number
): Effect.Effect<Option.Option<OpenAiFiles.OpenAIFile>, BatchError.RequestError> =>
  Upload.findIn(
    (after) => files.listFiles({ purpose, order: "desc", limit: 100, ...(after === undefined ? {} : { after }) }),
    filename,
    sinceSeconds
  )

/**
 * A completion that may have happened without its answer: the connection dropped or the attempt timed out after the
 * server made the file, or a retry is told the upload "is no longer pending" because an earlier attempt completed
 * it. Either way the file, if it exists, is found by the upload's marked filename; only then is the completion
 * tried again, under the retry policy in effect.
 */
const mayHaveCompleted = (error: BatchError.RequestError): boolean =>
  BatchError.transience(error) !== "permanent" ||
  (error._tag === "BadRequestError" && /no longer pending|complete/i.test(error.apiMessage ?? ""))

const complete = (
  uploads: OpenAiUploads.Service,
  files: Pick<OpenAiFiles.Service, "listFiles">,
  created: OpenAiUploads.Upload,
  body: OpenAiUploads.CompleteUploadParams,
  found: { readonly filename: string; readonly since: number }
): Effect.Effect<Completed, BatchError.RequestError> => {
  const attempt = uploads.completeUpload(created.id, body).pipe(
    Effect.map((answer): Completed => ({ upload: answer, file: answer.file })),
    BatchSchedule.withRetry(BatchSchedule.noRetry),
    Effect.catch((error) =>
      mayHaveCompleted(error)
        ? Effect.flatMap(
          findFile(files, created.purpose, found.filename, found.since),
          Option.match({
            onNone: () => Effect.fail(error),
            onSome: (file) =>
              Effect.as(
                Effect.logInfo(`effect-openai-batch: upload ${created.id} was completed as ${file.id}`),
                { upload: created, file }
              )
          })
        )
        : Effect.fail(error)
    )
  )
  return Retry.retry(attempt)
}

/** @internal */
export const upload = <E, R>(
  uploads: OpenAiUploads.Service,
  files: Pick<OpenAiFiles.Service, "listFiles">,
  source: Stream.Stream<Uint8Array, E, R>,
  params: OpenAiUploads.UploadStreamParams
): Effect.Effect<Completed, BatchError.RequestError | E, R> =>
  Effect.gen(function*() {
    const partSize = params.partSize ?? maxPartBytes
    const concurrency = params.concurrency ?? 1
    if (!Number.isSafeInteger(partSize) || partSize < 1 || partSize > maxPartBytes) {
      return yield* Effect.fail(Params.invalid("uploadStream", "must be a whole number from 1 to 64 MiB", "partSize"))
    }
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      return yield* Effect.fail(Params.invalid("uploadStream", "must be a positive whole number", "concurrency"))
    }
    // The filename carries a marker: a completion whose answer is lost is found by it among the files.
    const filename = Upload.markFilename(params.filename, Upload.newMarker())
    const since = Math.floor((yield* Clock.currentTimeMillis) / 1000) - Upload.lookupSkewSeconds
    const created = yield* uploads.createUpload({
      filename,
      purpose: params.purpose,
      bytes: params.bytes,
      mime_type: params.mime_type ??
        (params.filename.toLowerCase().endsWith(".jsonl") ? "text/jsonl" : "application/octet-stream"),
      ...(params.expires_after === undefined ? {} : { expires_after: params.expires_after })
    })
    const md5 = Md5.make()
    let produced = 0
    const count = (chunk: Uint8Array) => {
      produced += chunk.length
      md5.update(chunk)
      return produced > params.bytes ? Effect.fail(mismatch(params.bytes, "more")) : Effect.void
    }
    const partIds = cut(source, partSize, count).pipe(
      Stream.mapEffect((part) =>
        Effect.map(uploads.addUploadPart(created.id, part.bytes), (added) => {
          part.release()
          return added.id
        }), { concurrency }),
      Stream.runCollect
    )
    return yield* Effect.gen(function*() {
      const ids = yield* partIds
      if (produced !== params.bytes) return yield* Effect.fail(mismatch(params.bytes, `${produced} bytes`))
      return yield* complete(uploads, files, created, { part_ids: ids, md5: md5.digestHex() }, { filename, since })
    }).pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? Effect.void
          : uploads.cancelUpload(created.id).pipe(
            // Bounded as a batch's cancel is: one attempt of at most 10 s, so an interrupt never waits on a retry
            // policy against a network that is down (the upload expires within the hour anyway).
            BatchSchedule.withRetry(BatchSchedule.noRetry),
            BatchSchedule.withTimeout("10 seconds"),
            Effect.tapError((error) =>
              Effect.logWarning(`effect-openai-batch: could not cancel upload ${created.id}: ${error.message}`)
            ),
            Effect.ignore
          )
      )
    )
  })
