/**
 * `OpenAiUploads.uploadStream`: a stream cut into parts as it arrives, each part sent (and retried) on its own,
 * the MD5 computed on the way, the upload completed with its parts in order, or cancelled on any failure or
 * interruption.
 *
 * The Effect 4 edition: a chunk's full parts go out with `Stream.mapEffect` and `Stream.flattenIterable` (Effect 3:
 * `mapConcatEffect`); the part ids are collected as an array.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import type * as BatchError from "../../BatchError.js"
import type * as OpenAiUploads from "../../OpenAiUploads.js"
import * as Md5 from "../md5.js"
import * as Params from "../params.js"

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

/** @internal */
export const upload = <E, R>(
  uploads: OpenAiUploads.Service,
  source: Stream.Stream<Uint8Array, E, R>,
  params: OpenAiUploads.UploadStreamParams
): Effect.Effect<OpenAiUploads.CompletedUpload, BatchError.RequestError | E, R> =>
  Effect.gen(function*() {
    const partSize = params.partSize ?? maxPartBytes
    const concurrency = params.concurrency ?? 1
    if (!Number.isSafeInteger(partSize) || partSize < 1 || partSize > maxPartBytes) {
      return yield* Effect.fail(Params.invalid("uploadStream", "must be a whole number from 1 to 64 MiB", "partSize"))
    }
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      return yield* Effect.fail(Params.invalid("uploadStream", "must be a positive whole number", "concurrency"))
    }
    const created = yield* uploads.createUpload({
      filename: params.filename,
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
      return yield* uploads.completeUpload(created.id, { part_ids: ids, md5: md5.digestHex() })
    }).pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? Effect.void
          : uploads.cancelUpload(created.id).pipe(
            Effect.tapError((error) =>
              Effect.logWarning(`effect-openai-batch: could not cancel upload ${created.id}: ${error.message}`)
            ),
            Effect.ignore
          )
      )
    )
  })
