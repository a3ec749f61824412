/**
 * The part of the Files API a batch needs: upload an input file (multipart `POST /v1/files`, streamed), retrieve
 * and delete a file, download a file's content as a byte stream (`GET /v1/files/{file_id}/content`), and list
 * files (`GET /v1/files`: one page, or every file as a lazy `Stream`).
 *
 * Every upload's multipart/form-data body is written by the library, around the content, rather than by a
 * `FormData` (the platform's clients disagree on `FormData`; see `internal/multipart.ts`). Bytes and a string are
 * sent as one body with its length; a `Blob` is streamed from its source with its length known, so a file-backed
 * one (Node's `fs.openAsBlob`) is never read whole; both are replayable and retried like every JSON call. A
 * `Stream` is sent chunked as it is produced, once (it cannot be replayed).
 *
 * Uploads are as duplicate-free as creates: the filename carries a marker unique to the call, and an upload whose
 * outcome is unknown is looked up by it before it is sent again (see `UploadOptions`). Downloads resume where they
 * stopped after a fault.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as BatchError from "./BatchError.js"
import * as BatchSchedule from "./BatchSchedule.js"
import * as Decoder from "./internal/decoder.js"
import * as Download from "./internal/download.js"
import * as Operation from "./internal/http/operation.js"
import * as Http from "./internal/http/pipeline.js"
import * as Retry from "./internal/http/retry.js"
import * as Paginate from "./internal/paginate.js"
import * as Params from "./internal/params.js"
import * as PathSegment from "./internal/pathSegment.js"
import * as Upload from "./internal/upload.js"
import type * as OpenAiConfig from "./OpenAiConfig.js"

// --- Models ---

/** Absent or `null` both decode to an absent key. */
const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { nullable: true })

/**
 * The purposes the API documents for a file (upload purposes and the ones it gives its own files).
 *
 * @since 0.1.0
 * @category Models
 */
export const knownPurposes = [
  "assistants",
  "assistants_output",
  "batch",
  "batch_output",
  "fine-tune",
  "fine-tune-results",
  "vision",
  "user_data",
  "evals"
] as const

/**
 * A file's purpose: a documented one or, for a purpose added later, a branded string.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FilePurpose = Schema.Union(
  Schema.Literal(...knownPurposes),
  Schema.String.pipe(Schema.brand("UnknownFilePurpose"))
)

/**
 * @since 0.1.0
 * @category Models
 */
export type FilePurpose = typeof FilePurpose.Type

/**
 * A file, as the API returns it. `status` and `status_details` are deprecated: the spec still lists `status` as
 * required, but its own examples (and the API) omit it, so both are optional here.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class OpenAIFile extends Schema.Class<OpenAIFile>("effect-openai-batch/OpenAIFile")({
  id: Schema.String,
  object: Schema.Literal("file"),
  bytes: Schema.Number,
  created_at: Schema.Number,
  expires_at: optional(Schema.Number),
  filename: Schema.String,
  purpose: FilePurpose,
  status: optional(Schema.String),
  status_details: optional(Schema.String)
}) {}

/**
 * The answer of `DELETE /v1/files/{file_id}`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class DeletedFile extends Schema.Class<DeletedFile>("effect-openai-batch/DeletedFile")({
  id: Schema.String,
  object: Schema.String,
  deleted: Schema.Boolean
}) {}

/**
 * The parameters of `listFiles` (`GET /v1/files`): only files of `purpose`, in `order` of creation (default
 * `desc`, newest first), after the file id `after`, at most `limit` (1 to 10,000; the API's default is 10,000).
 *
 * @since 0.3.0
 * @category Schemas
 */
export const ListFilesParams = Schema.Struct({
  purpose: Schema.optional(Schema.String.pipe(Schema.nonEmptyString({ message: () => "must not be empty" }))),
  order: Schema.optional(Schema.Literal("asc", "desc")),
  after: Schema.optional(Schema.String.pipe(Schema.nonEmptyString({ message: () => "must not be empty" }))),
  limit: Schema.optional(
    Schema.Number.pipe(
      Schema.int({ message: () => "must be an integer between 1 and 10000" }),
      Schema.between(1, 10_000, { message: () => "must be an integer between 1 and 10000" })
    )
  )
})

/**
 * @since 0.3.0
 * @category Models
 */
export type ListFilesParams = typeof ListFilesParams.Type

/**
 * One page of `GET /v1/files`.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const FilePage = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(OpenAIFile),
  first_id: optional(Schema.String),
  last_id: optional(Schema.String),
  has_more: Schema.Boolean
}).annotations({ identifier: "FilePage" })

/**
 * @since 0.3.0
 * @category Models
 */
export interface FilePage extends Schema.Schema.Type<typeof FilePage> {}

const decodeFile = Decoder.make(OpenAIFile)
const decodeDeleted = Decoder.make(DeletedFile)
const decodeFilePage = Decoder.make(FilePage)

const uploadDecoders: Upload.Decoders<OpenAIFile> = { file: decodeFile, page: decodeFilePage }

/**
 * A file id as accepted in a path: not empty, at most 256 characters, and nothing that changes the path
 * (`/`, `?`, `#`, `%`, `\`, `..`, whitespace or control characters).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FileId = Schema.String.pipe(Schema.filter((id) => {
  const rule = PathSegment.issue(id)
  return rule === undefined || `a file id ${rule}`
}))

/**
 * When an uploaded file expires (1 hour to 30 days after its creation; batch files default to 30 days).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FileExpiresAfter = Schema.Struct({
  anchor: Schema.Literal("created_at"),
  seconds: Schema.Int.pipe(
    Schema.between(3600, 2_592_000, { message: () => "must be between 3600 and 2592000" })
  )
})

/**
 * @since 0.1.0
 * @category Models
 */
export type FileExpiresAfter = typeof FileExpiresAfter.Type

/**
 * What to upload. A `Blob` (a file-backed one from `fs.openAsBlob` is read as it is sent), bytes or a string are
 * replayable; a `Stream` is sent as it is produced, once.
 *
 * @since 0.1.0
 * @category Models
 */
export type UploadContent<E = never> = Blob | Uint8Array | string | Stream.Stream<Uint8Array, E>

/**
 * The parameters of `uploadFile`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface UploadParams<E = never> {
  readonly file: UploadContent<E>
  /** The name the file gets (the API shows it back in `filename`); use a `.jsonl` name for batch input. */
  readonly filename: string
  readonly purpose: "assistants" | "batch" | "fine-tune" | "vision" | "user_data" | "evals"
  readonly expires_after?: FileExpiresAfter | undefined
  /** The `Content-Type` of the file part; default `application/octet-stream`. */
  readonly contentType?: string | undefined
  /**
   * The `Stream` can be run again from its start (a file read, say): its upload is then retried like the others.
   * Default `false`: a stream is sent once.
   */
  readonly replayable?: boolean | undefined
}

/**
 * Options of an upload.
 *
 * @since 0.3.0
 * @category Models
 */
export interface UploadOptions {
  /**
   * Whether to mark the filename with a key unique to the call (`requests.jsonl` is stored as
   * `requests.eob-1f3a9c0d2b4e6f80.jsonl`: 16 random hex digits), so that an upload whose outcome is unknown (the response lost after the server
   * stored the file) is found among the newest files instead of stored twice. Default `true`. With `false`, an
   * upload whose outcome is unknown is not retried.
   */
  readonly idempotencyMarker?: boolean | undefined
}

/**
 * The Files operations.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  readonly uploadFile: <E = never>(
    params: UploadParams<E>,
    options?: UploadOptions
  ) => Effect.Effect<OpenAIFile, BatchError.RequestError | E>
  readonly retrieveFile: (fileId: string) => Effect.Effect<OpenAIFile, BatchError.RequestError>
  /**
   * The file's content as it arrives. A failure to connect or in the middle of the body is retried under the retry
   * policy and resumes where it stopped (`Range: bytes=N-`; a server that ignores ranges sends it all again and the
   * bytes already delivered are dropped): the consumer sees every byte once. It fails when the policy gives up,
   * with the typed error of the last failure.
   */
  readonly downloadFile: (fileId: string) => Stream.Stream<Uint8Array, BatchError.RequestError>
  readonly deleteFile: (fileId: string) => Effect.Effect<DeletedFile, BatchError.RequestError>
  /** One page of `GET /v1/files` (`streamFiles` walks them all). */
  readonly listFiles: (params?: ListFilesParams) => Effect.Effect<FilePage, BatchError.RequestError>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class OpenAiFiles extends Context.Tag("effect-openai-batch/OpenAiFiles")<OpenAiFiles, Service>() {}

/**
 * The default timeout of one upload attempt (`BatchSchedule.timeoutDefaults.upload`), used unless the region sets
 * one (`BatchSchedule.withTimeout`).
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultUploadTimeout: Duration.Duration = BatchSchedule.timeoutDefaults.upload

// --- The HTTP implementation ---

/**
 * Builds the service over the `HttpClient` and the `OpenAiConfig` in context.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<Service, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Effect.gen(
  function*() {
    const { pipeline } = yield* Http.context

    const filePath = (operation: string, fileId: string) => Params.path(operation, "file", "/files/", fileId)

    /** One attempt of a request whose 2xx JSON answer is decoded. */
    const sendJson = <A>(spec: Http.RequestSpec, decode: Decoder.Decoder<A>) =>
      Effect.map(pipeline.request(spec, decode), (decoded) => decoded.value)

    const uploadFile = <E>(params: UploadParams<E>, options?: UploadOptions) =>
      Operation.span("OpenAiFiles.uploadFile", undefined, (span) =>
        Effect.gen(function*() {
          if (params.expires_after !== undefined) {
            yield* Params.validate("uploadFile", FileExpiresAfter, params.expires_after)
          }
          const refused = Upload.paramsIssue(params)
          if (refused !== undefined) return yield* Effect.fail(Params.invalid("uploadFile", refused[1], refused[0]))
          span.attribute("openai.file.purpose", params.purpose)
          const file = yield* Upload.upload(
            pipeline,
            uploadDecoders,
            params,
            options?.idempotencyMarker !== false,
            span
          )
          span.attribute("openai.file_id", file.id)
          return file
        }))

    const onFile = <A>(
      name: string,
      method: "GET" | "DELETE",
      fileId: string,
      decode: Decoder.Decoder<A>
    ): Effect.Effect<A, BatchError.RequestError> =>
      Operation.span(`OpenAiFiles.${name}`, { "openai.file_id": fileId }, (span) =>
        Effect.flatMap(
          filePath(name, fileId),
          (path) => Retry.retry(sendJson({ operation: name, method, path, span }, decode))
        ))

    const retrieveFile = (fileId: string) => onFile("retrieveFile", "GET", fileId, decodeFile)

    const deleteFile = (fileId: string) => onFile("deleteFile", "DELETE", fileId, decodeDeleted)

    const downloadFile = (fileId: string): Stream.Stream<Uint8Array, BatchError.RequestError> =>
      Stream.unwrap(
        Operation.span("OpenAiFiles.downloadFile", { "openai.file_id": fileId }, (span) =>
          Effect.map(filePath("downloadFile", fileId), (path) =>
            Download.download(pipeline, `${path}/content`, span)))
      )

    const listFiles = (params?: ListFilesParams) =>
      Operation.span("OpenAiFiles.listFiles", undefined, (span) =>
        Effect.flatMap(
          Params.validate("listFiles", ListFilesParams, params ?? {}),
          (valid) =>
            Retry.retry(
              sendJson(
                { operation: "listFiles", method: "GET", path: "/files", query: { ...valid }, span },
                decodeFilePage
              )
            )
        ))

    return { uploadFile, retrieveFile, downloadFile, deleteFile, listFiles } satisfies Service
  }
)

/**
 * The service over the `HttpClient` and the `OpenAiConfig` in context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<OpenAiFiles, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Layer.effect(
  OpenAiFiles,
  make
)

// --- Accessors ---

/**
 * `POST /v1/files` (multipart). See the module comment for what is streamed and what is retried.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchLine, OpenAiFiles } from "effect-openai-batch"
 * import { BatchApiSimulator } from "effect-openai-batch/testing"
 *
 * const line = BatchLine.embedding("a", { model: "text-embedding-3-small", input: "hi" })
 * const program = OpenAiFiles.uploadFile({
 *   file: JSON.stringify(line) + "\n", // a Blob, bytes or a Stream of bytes work too
 *   filename: "requests.jsonl",
 *   purpose: "batch"
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(BatchApiSimulator.layerBatchApi()))).then((file) => {
 *   assert.strictEqual(file.purpose, "batch")
 *   assert.match(file.filename, /^requests\.eob-[0-9a-f]{16}\.jsonl$/) // the marker a retry looks for
 * })
 * ```
 *
 * @since 0.1.0
 * @category Operations
 */
export const uploadFile = <E = never>(
  params: UploadParams<E>,
  options?: UploadOptions
): Effect.Effect<OpenAIFile, BatchError.RequestError | E, OpenAiFiles> =>
  Effect.flatMap(OpenAiFiles, (files) => files.uploadFile(params, options))

/**
 * `GET /v1/files/{file_id}`.
 *
 * @since 0.1.0
 * @category Operations
 */
export const retrieveFile = (fileId: string): Effect.Effect<OpenAIFile, BatchError.RequestError, OpenAiFiles> =>
  Effect.flatMap(OpenAiFiles, (files) => files.retrieveFile(fileId))

/**
 * `GET /v1/files/{file_id}/content`, as a byte stream.
 *
 * @since 0.1.0
 * @category Operations
 */
export const downloadFile = (fileId: string): Stream.Stream<Uint8Array, BatchError.RequestError, OpenAiFiles> =>
  Stream.unwrap(Effect.map(OpenAiFiles, (files) => files.downloadFile(fileId)))

/**
 * `DELETE /v1/files/{file_id}`.
 *
 * @since 0.1.0
 * @category Operations
 */
export const deleteFile = (fileId: string): Effect.Effect<DeletedFile, BatchError.RequestError, OpenAiFiles> =>
  Effect.flatMap(OpenAiFiles, (files) => files.deleteFile(fileId))

/**
 * `GET /v1/files`: one page, newest first unless `order: "asc"`. See `streamFiles` for every file.
 *
 * @since 0.3.0
 * @category Operations
 */
export const listFiles = (params?: ListFilesParams): Effect.Effect<FilePage, BatchError.RequestError, OpenAiFiles> =>
  Effect.flatMap(OpenAiFiles, (files) => files.listFiles(params))

/**
 * Options of `streamFiles`.
 *
 * @since 0.3.0
 * @category Models
 */
export interface StreamFilesOptions {
  /** Only files of this purpose (e.g. `batch`, `batch_output`). */
  readonly purpose?: string | undefined
  /** By creation time: `desc` (the default, newest first) or `asc`. */
  readonly order?: "asc" | "desc" | undefined
  /** Files per page, 1..10,000. Default 10,000 (the API's own default: fewest round trips). */
  readonly pageSize?: number | undefined
  /** Start after this file id. */
  readonly after?: string | undefined
}

/**
 * Every file (of a purpose), page by page as the consumer pulls: `Stream.take(5)` fetches one page. A page that
 * says `has_more` but is empty, or a cursor that repeats, fails with `PaginationError` instead of ending silently
 * or looping (the rules of `BatchApi.streamBatches`).
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { OpenAiFiles } from "effect-openai-batch"
 * import { BatchApiSimulator } from "effect-openai-batch/testing"
 *
 * const program = Effect.gen(function*() {
 *   const simulator = yield* BatchApiSimulator.BatchApiSimulator
 *   for (let i = 0; i < 5; i++) yield* simulator.putFile({ content: "{}\n", filename: `part-${i}.jsonl` })
 *   yield* simulator.putFile({ content: "notes", filename: "notes.txt", purpose: "user_data" })
 *   // oldest first, two per page: three pages
 *   const batchFiles = yield* OpenAiFiles.streamFiles({ purpose: "batch", order: "asc", pageSize: 2 }).pipe(
 *     Stream.map((file) => file.filename),
 *     Stream.runCollect
 *   )
 *   return Array.from(batchFiles)
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(BatchApiSimulator.layerBatchApi()))).then((names) => {
 *   assert.deepStrictEqual(names, ["part-0.jsonl", "part-1.jsonl", "part-2.jsonl", "part-3.jsonl", "part-4.jsonl"])
 * })
 * ```
 *
 * @since 0.3.0
 * @category Streams
 */
export const streamFiles = (
  options: StreamFilesOptions = {}
): Stream.Stream<OpenAIFile, BatchError.RequestError | BatchError.PaginationError, OpenAiFiles> => {
  const base: ListFilesParams = {
    limit: options.pageSize ?? 10_000,
    ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
    ...(options.order === undefined ? {} : { order: options.order })
  }
  return Stream.unwrap(Effect.map(OpenAiFiles, (files) =>
    Paginate.stream(
      "streamFiles",
      options.after,
      (after) => files.listFiles(after === undefined ? base : { ...base, after })
    )))
}
