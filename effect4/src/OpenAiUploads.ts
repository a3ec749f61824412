/**
 * The Uploads API: a file of up to 8 GB sent in parts of up to 64 MB (`POST /v1/uploads`, `.../parts`,
 * `.../complete`, `.../cancel`), for input files larger than one `POST /v1/files` should carry or produced as a
 * stream. An upload expires an hour after its creation; completing it makes the `File` (`CompletedUpload.file`).
 *
 * `uploadStream` does the whole dance for any `Stream` of bytes: it cuts the stream into parts as it arrives,
 * sends them (a failed part is retried on its own, with the retry policy in effect), computes the MD5 on the fly,
 * completes with the parts in order, and cancels the upload if anything fails or the fiber is interrupted. Memory
 * stays at about `concurrency + 1` parts whatever the size of the file.
 *
 * The operations go through the same request pipeline as `OpenAiFiles` (auth, headers, timeouts, typed errors,
 * retries), and fail only with the library's errors.
 *
 * The Effect 4 edition: `OpenAiUploads` is a `Context.Service`; the `HttpClient` is `effect/http`'s.
 *
 * @since 4.0.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as BatchError from "./BatchError.js"
import * as Decoder from "./internal/decoder.js"
import * as Operation from "./internal/http/operation.js"
import * as Http from "./internal/http/pipeline.js"
import * as Retry from "./internal/http/retry.js"
import * as Multipart from "./internal/multipart.js"
import * as Nullable from "./internal/nullable.js"
import * as Params from "./internal/params.js"
import * as PathSegment from "./internal/pathSegment.js"
import * as Streamed from "./internal/uploads/streamed.js"
import type * as OpenAiConfig from "./OpenAiConfig.js"
import * as OpenAiFiles from "./OpenAiFiles.js"

// ---------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------

/** Absent or `null` both decode to an absent key. */
const optional = Nullable.optional

/**
 * The API's limits: an upload holds at most 8 GB, a part at most 64 MB (taken as MiB, as openai-python's
 * chunked upload does), and an upload expires an hour after its creation.
 *
 * @since 4.0.0
 * @category Constants
 */
export const limits = {
  maxUploadBytes: 8 * 1024 ** 3,
  maxPartBytes: 64 * 1024 ** 2,
  expiresAfter: Duration.hours(1)
} as const

/**
 * An upload's status: a documented one or, for a status added later, a branded string.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const UploadStatus = Schema.Union([
  Schema.Literals(["pending", "completed", "cancelled", "expired"]),
  Schema.String.pipe(Schema.brand("UnknownUploadStatus"))
])

/**
 * @since 4.0.0
 * @category Models
 */
export type UploadStatus = typeof UploadStatus.Type

const uploadFields = {
  id: Schema.String,
  object: Schema.Literal("upload"),
  /** The number of bytes the upload was created for; the parts must add up to it. */
  bytes: Schema.Number,
  created_at: Schema.Number,
  expires_at: Schema.Number,
  filename: Schema.String,
  purpose: OpenAiFiles.FilePurpose,
  status: UploadStatus
}

/**
 * An upload, as the API returns it. `file` is the `File` made by its completion.
 *
 * @since 4.0.0
 * @category Schemas
 */
export class Upload extends Schema.Class<Upload>("effect-openai-batch/Upload")({
  ...uploadFields,
  file: optional(OpenAiFiles.OpenAIFile)
}) {}

/**
 * The answer of a completion: the upload with its `file`, ready for `createBatch`.
 *
 * @since 4.0.0
 * @category Schemas
 */
export class CompletedUpload extends Schema.Class<CompletedUpload>("effect-openai-batch/CompletedUpload")({
  ...uploadFields,
  file: OpenAiFiles.OpenAIFile
}) {}

/**
 * A part added to an upload.
 *
 * @since 4.0.0
 * @category Schemas
 */
export class UploadPart extends Schema.Class<UploadPart>("effect-openai-batch/UploadPart")({
  id: Schema.String,
  object: Schema.Literal("upload.part"),
  created_at: Schema.Number,
  upload_id: Schema.String
}) {}

const nonEmpty = Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" }))

/**
 * The parameters of `createUpload`, checked before anything is sent.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const CreateUploadParams = Schema.Struct({
  filename: nonEmpty,
  purpose: Schema.Literals(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]),
  /** The size of the whole file; the parts must add up to it. */
  bytes: Schema.Number.check(
    Schema.isInt({ message: "must be a whole number of bytes" }),
    Schema.isBetween({ minimum: 0, maximum: limits.maxUploadBytes }, { message: "must be between 0 and 8 GiB" })
  ),
  /** The file's media type, e.g. `text/jsonl` for batch input. */
  mime_type: nonEmpty,
  expires_after: Schema.optional(OpenAiFiles.FileExpiresAfter)
})

/**
 * @since 4.0.0
 * @category Models
 */
export type CreateUploadParams = typeof CreateUploadParams.Type

/**
 * The parameters of `completeUpload`: the part ids in the order of the file, and optionally the MD5 of the whole
 * file (32 hex digits) for the API to check.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const CompleteUploadParams = Schema.Struct({
  part_ids: Schema.Array(nonEmpty),
  md5: Schema.optional(
    Schema.String.check(Schema.isPattern(/^[0-9a-fA-F]{32}$/, { message: "must be 32 hexadecimal digits" }))
  )
})

/**
 * @since 4.0.0
 * @category Models
 */
export type CompleteUploadParams = typeof CompleteUploadParams.Type

/**
 * The operations of the Uploads API.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Service {
  readonly createUpload: (params: CreateUploadParams) => Effect.Effect<Upload, BatchError.RequestError>
  /**
   * Adds a part of at most 64 MB. The bytes are sent as they are (no copy) and resent on a retry. A part's
   * attempt may take up to `OpenAiFiles.defaultUploadTimeout`.
   */
  readonly addUploadPart: (uploadId: string, data: Uint8Array) => Effect.Effect<UploadPart, BatchError.RequestError>
  readonly completeUpload: (
    uploadId: string,
    params: CompleteUploadParams
  ) => Effect.Effect<CompletedUpload, BatchError.RequestError>
  readonly cancelUpload: (uploadId: string) => Effect.Effect<Upload, BatchError.RequestError>
}

/**
 * @since 4.0.0
 * @category Context
 */
export class OpenAiUploads extends Context.Service<OpenAiUploads, Service>()("effect-openai-batch/OpenAiUploads") {}

// ---------------------------------------------------------------------------------------------------------------
// The HTTP implementation
// ---------------------------------------------------------------------------------------------------------------

const decodeUpload = Decoder.make(Upload)
const decodeCompleted = Decoder.make(CompletedUpload)
const decodePart = Decoder.make(UploadPart)

const uploadPath = (operation: string, uploadId: string, action: string) => {
  const rule = typeof uploadId === "string" ? PathSegment.issue(uploadId) : "must be a string"
  return rule === undefined
    ? Effect.succeed(`/uploads/${encodeURIComponent(uploadId)}/${action}`)
    : Effect.fail(Params.invalid(operation, rule, "uploadId"))
}

/**
 * Builds the service over the `HttpClient` and the `OpenAiConfig` in context.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make: Effect.Effect<Service, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Effect.gen(
  function*() {
    const { pipeline } = yield* Http.context

    const send = <A>(spec: Http.RequestSpec, decode: Decoder.Decoder<A>) =>
      Retry.retry(Effect.map(pipeline.request(spec, decode), (decoded) => decoded.value))

    const createUpload = (params: CreateUploadParams) =>
      Operation.span("OpenAiUploads.createUpload", undefined, (span) =>
        Effect.gen(function*() {
          const body = yield* Params.validate("createUpload", CreateUploadParams, params)
          span.attribute("openai.file.purpose", body.purpose)
          const upload = yield* send(
            { operation: "createUpload", method: "POST", path: "/uploads", body, span },
            decodeUpload
          )
          span.attribute("openai.upload_id", upload.id)
          return upload
        }))

    const addUploadPart = (uploadId: string, data: Uint8Array) =>
      Operation.span("OpenAiUploads.addUploadPart", undefined, (span) =>
        Effect.gen(function*() {
          const path = yield* uploadPath("addUploadPart", uploadId, "parts")
          if (data.length > limits.maxPartBytes) {
            return yield* Effect.fail(Params.invalid("addUploadPart", "must be at most 64 MiB", "data"))
          }
          span.attribute("openai.upload_id", uploadId)
          return yield* send(
            {
              operation: "addUploadPart",
              method: "POST",
              path,
              httpBody: Multipart.partBody(data),
              defaultTimeout: OpenAiFiles.defaultUploadTimeout,
              span
            },
            decodePart
          )
        }))

    const completeUpload = (uploadId: string, params: CompleteUploadParams) =>
      Operation.span("OpenAiUploads.completeUpload", undefined, (span) =>
        Effect.gen(function*() {
          const path = yield* uploadPath("completeUpload", uploadId, "complete")
          const body = yield* Params.validate("completeUpload", CompleteUploadParams, params)
          span.attribute("openai.upload_id", uploadId)
          return yield* send({ operation: "completeUpload", method: "POST", path, body, span }, decodeCompleted)
        }))

    const cancelUpload = (uploadId: string) =>
      Operation.span("OpenAiUploads.cancelUpload", undefined, (span) =>
        Effect.gen(function*() {
          const path = yield* uploadPath("cancelUpload", uploadId, "cancel")
          span.attribute("openai.upload_id", uploadId)
          return yield* send({ operation: "cancelUpload", method: "POST", path, span }, decodeUpload)
        }))

    return { createUpload, addUploadPart, completeUpload, cancelUpload } satisfies Service
  }
)

/**
 * The service over the `HttpClient` and the `OpenAiConfig` in context.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer: Layer.Layer<OpenAiUploads, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Layer
  .effect(OpenAiUploads, make)

// ---------------------------------------------------------------------------------------------------------------
// Accessors
// ---------------------------------------------------------------------------------------------------------------

/**
 * `POST /v1/uploads`: an upload in status `pending`, expiring in an hour.
 *
 * @since 4.0.0
 * @category Operations
 */
export const createUpload = (
  params: CreateUploadParams
): Effect.Effect<Upload, BatchError.RequestError, OpenAiUploads> =>
  Effect.flatMap(Effect.service(OpenAiUploads), (uploads) => uploads.createUpload(params))

/**
 * `POST /v1/uploads/{upload_id}/parts` (multipart, field `data`): one part of at most 64 MB.
 *
 * @since 4.0.0
 * @category Operations
 */
export const addUploadPart = (
  uploadId: string,
  data: Uint8Array
): Effect.Effect<UploadPart, BatchError.RequestError, OpenAiUploads> =>
  Effect.flatMap(Effect.service(OpenAiUploads), (uploads) => uploads.addUploadPart(uploadId, data))

/**
 * `POST /v1/uploads/{upload_id}/complete`: the parts in order (they must add up to the upload's `bytes`); the
 * answer carries the new `File`.
 *
 * @since 4.0.0
 * @category Operations
 */
export const completeUpload = (
  uploadId: string,
  params: CompleteUploadParams
): Effect.Effect<CompletedUpload, BatchError.RequestError, OpenAiUploads> =>
  Effect.flatMap(Effect.service(OpenAiUploads), (uploads) => uploads.completeUpload(uploadId, params))

/**
 * `POST /v1/uploads/{upload_id}/cancel`: no part can be added after it.
 *
 * @since 4.0.0
 * @category Operations
 */
export const cancelUpload = (uploadId: string): Effect.Effect<Upload, BatchError.RequestError, OpenAiUploads> =>
  Effect.flatMap(Effect.service(OpenAiUploads), (uploads) => uploads.cancelUpload(uploadId))

// ---------------------------------------------------------------------------------------------------------------
// A stream, uploaded in parts
// ---------------------------------------------------------------------------------------------------------------

/**
 * The parameters of `uploadStream`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface UploadStreamParams {
  /** The exact number of bytes the stream produces (the API needs it first); a mismatch fails the upload. */
  readonly bytes: number
  readonly filename: string
  readonly purpose: CreateUploadParams["purpose"]
  /** Default `text/jsonl` for a `.jsonl` file name, else `application/octet-stream`. */
  readonly mime_type?: string | undefined
  readonly expires_after?: OpenAiFiles.FileExpiresAfter | undefined
  /** The size of every part but the last, 1 byte to 64 MiB. Default 64 MiB (the fewest requests). */
  readonly partSize?: number | undefined
  /** Parts sent at once. Default 1; memory holds about `concurrency + 1` parts. */
  readonly concurrency?: number | undefined
}

/**
 * Uploads a `Stream` of bytes through the Uploads API and returns the completed upload with its `file`. The
 * stream is cut into parts as it arrives (every part `partSize` bytes but the last); each part is sent as soon as
 * it is full, and a part that fails is retried on its own (the retry policy in effect, `BatchSchedule`); the MD5
 * of the whole file is computed on the way and checked by the API at completion. If anything fails (the stream,
 * a part after its retries, a size that does not match `bytes`) or the fiber is interrupted, the upload is
 * cancelled. Memory holds about `concurrency + 1` parts.
 *
 * The stream is read once. A mismatch between `bytes` and what the stream produced fails with
 * `InvalidParamsError` (field `bytes`) as soon as it shows: early when the stream runs over.
 *
 * The upload's filename carries a marker (as `OpenAiFiles.uploadFile`'s does): a completion whose answer is lost
 * (a dropped connection, a timeout, or a retry told the upload "is no longer pending") is found among the files by
 * it, with `OpenAiFiles`, before it is sent again. The file's `filename` keeps the marker. The cancel on a failure
 * or an interruption is one attempt of at most 10 s (the upload expires within the hour anyway).
 *
 * @since 4.0.0
 * @category Operations
 */
export const uploadStream = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  params: UploadStreamParams
): Effect.Effect<CompletedUpload, BatchError.RequestError | E, OpenAiUploads | OpenAiFiles.OpenAiFiles | R> =>
  Effect.flatMap(
    Effect.all([Effect.service(OpenAiUploads), Effect.service(OpenAiFiles.OpenAiFiles)]),
    ([uploads, files]) =>
      Effect.map(
        Streamed.upload(uploads, files, stream, params),
        ({ file, upload }) => new CompletedUpload({ ...upload, status: "completed", file })
      )
  )
