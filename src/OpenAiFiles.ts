/**
 * The part of the Files API a batch needs: upload an input file (multipart `POST /v1/files`, streamed), retrieve
 * and delete a file, and download a file's content as a byte stream (`GET /v1/files/{file_id}/content`).
 *
 * Uploads of a `Blob`, bytes or a string go through `HttpBody.formData` and are retried like every JSON call (the
 * body can be sent again). A `Blob` is streamed by the HTTP client from its source, so a file-backed one (Node's
 * `fs.openAsBlob`) is never read whole. A `Stream` of bytes cannot be put in a web `FormData` (its parts are
 * strings and Blobs only), so its multipart envelope is written around the stream and sent with
 * `HttpBody.stream`: nothing is held in memory, and the upload is sent once (a stream cannot be replayed).
 *
 * @since 0.1.0
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BatchApi from "./BatchApi.js"
import * as BatchError from "./BatchError.js"
import * as OpenAiConfig from "./OpenAiConfig.js"
import * as Decoder from "./internal/decoder.js"
import * as Http from "./internal/http.js"
import * as PathSegment from "./internal/pathSegment.js"

// ---------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------

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

const decodeFile = Decoder.make(OpenAIFile)
/** What `POST /v1/files` accepts as a purpose (checked before anything is sent: it also goes into a multipart part). */
const uploadPurposes: ReadonlySet<string> = new Set(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"])
const decodeDeleted = Decoder.make(DeletedFile)

/**
 * A file id as accepted in a path: not empty, at most 256 characters, and nothing that changes the path
 * (`/`, `?`, `#`, `%`, `\`, `..`, whitespace or control characters).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FileId = Schema.String.pipe(Schema.filter((id) => PathSegment.issue("file", id) ?? true))

/**
 * When an uploaded file expires (1 hour to 30 days after its creation; batch files default to 30 days).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FileExpiresAfter = Schema.Struct({
  anchor: Schema.Literal("created_at"),
  seconds: Schema.Int.pipe(
    Schema.between(3600, 2_592_000, { message: () => "expires_after.seconds must be between 3600 and 2592000" })
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
}

/**
 * Per-call options of an upload.
 *
 * @since 0.1.0
 * @category Models
 */
export interface UploadOptions extends BatchApi.CallOptions {
  /**
   * The timeout of one upload attempt, body included; default 10 minutes (a 200 MB file on a slow link takes
   * a while, and the config's per-request timeout is meant for small JSON calls).
   */
  readonly timeout?: Duration.DurationInput | undefined
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
  readonly retrieveFile: (
    fileId: string,
    options?: BatchApi.CallOptions
  ) => Effect.Effect<OpenAIFile, BatchError.RequestError>
  /**
   * The file's content as it arrives. Connecting is retried; a failure in the middle of the body fails the
   * stream (the API offers no ranges to resume from).
   */
  readonly downloadFile: (
    fileId: string,
    options?: BatchApi.CallOptions
  ) => Stream.Stream<Uint8Array, BatchError.RequestError>
  readonly deleteFile: (
    fileId: string,
    options?: BatchApi.CallOptions
  ) => Effect.Effect<DeletedFile, BatchError.RequestError>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class OpenAiFiles extends Context.Tag("effect-openai-batch/OpenAiFiles")<OpenAiFiles, Service>() {}

/**
 * The default timeout of one upload attempt.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultUploadTimeout: Duration.Duration = Duration.minutes(10)

// ---------------------------------------------------------------------------------------------------------------
// Multipart
// ---------------------------------------------------------------------------------------------------------------

const encoder = new TextEncoder()

/** Escapes a form field or file name as browsers do (WHATWG multipart/form-data encoding). */
const escapeName = (name: string) => name.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22")

const isStream = (content: UploadContent<unknown>): content is Stream.Stream<Uint8Array, unknown> =>
  Predicate.hasProperty(content, Stream.StreamTypeId)

const formFields = (params: UploadParams<unknown>): ReadonlyArray<readonly [string, string]> => [
  ["purpose", params.purpose],
  ...(params.expires_after === undefined ? [] : [
    ["expires_after[anchor]", params.expires_after.anchor] as const,
    ["expires_after[seconds]", String(params.expires_after.seconds)] as const
  ])
]

/**
 * A multipart/form-data body around a byte stream: the fields, the file part's header, the stream, the closing
 * boundary. Equivalent to what `FormData` serializes, but the file part is never materialized.
 */
const multipartStream = <E>(
  params: UploadParams<E>,
  content: Stream.Stream<Uint8Array, E>
): { readonly body: Stream.Stream<Uint8Array, E>; readonly contentType: string } => {
  const boundary = `----effect-openai-batch-${crypto.randomUUID()}`
  const fields = formFields(params)
    .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value}\r\n`)
    .join("")
  const head = `${fields}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${
    escapeName(params.filename)
  }"\r\nContent-Type: ${params.contentType ?? "application/octet-stream"}\r\n\r\n`
  const tail = `\r\n--${boundary}--\r\n`
  return {
    body: Stream.make(encoder.encode(head)).pipe(
      Stream.concat(content),
      Stream.concat(Stream.sync(() => encoder.encode(tail)))
    ),
    contentType: `multipart/form-data; boundary=${boundary}`
  }
}

const formData = (params: UploadParams<unknown>, content: Blob | Uint8Array | string): FormData => {
  const form = new FormData()
  for (const [name, value] of formFields(params)) form.append(name, value)
  const type = params.contentType ?? "application/octet-stream"
  // A Uint8Array over a SharedArrayBuffer is no BlobPart: copying bytes the caller already holds is cheap.
  const part = content instanceof Blob
    ? content
    : new Blob([typeof content === "string" ? content : new Uint8Array(content)], { type })
  form.append("file", part, params.filename)
  return form
}

// ---------------------------------------------------------------------------------------------------------------
// The HTTP implementation
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of `make` and `layer`: the same as `BatchApi`'s (a retry schedule for every JSON call).
 *
 * @since 0.1.0
 * @category Models
 */
export type MakeOptions = BatchApi.MakeOptions

/**
 * Builds the service over the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: MakeOptions = {}
): Effect.Effect<Service, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const { config, pipeline, retrying } = yield* Http.context(options.retry)

    const filePath = (operation: string, fileId: string) => BatchApi.pathFor(operation, "file", "/files/", fileId)

    const timedOut = (method: string, url: string, timeout: Duration.Duration) => () =>
      new BatchError.TransportError({
        method,
        url,
        reason: "Timeout",
        message: `${method} ${url} timed out after ${Duration.format(timeout)}`
      })

    /** One attempt of a request whose 2xx JSON answer is decoded (the pipeline's rules, its own timeout). */
    const sendJson = <A>(spec: Http.RequestSpec, decode: Decoder.Decoder<A>) =>
      Effect.map(pipeline.request(spec, decode), (decoded) => decoded.value)

    const uploadFile = Effect.fn("OpenAiFiles.uploadFile")(
      function*<E>(params: UploadParams<E>, uploadOptions?: UploadOptions) {
        if (params.expires_after !== undefined) {
          yield* BatchApi.validate("uploadFile", FileExpiresAfter, params.expires_after)
        }
        const issue = params.filename.length === 0
          ? "filename must not be empty"
          : !uploadPurposes.has(params.purpose)
          ? `purpose must be one of ${[...uploadPurposes].join(", ")}`
          : params.contentType !== undefined && !/^[\x21-\x7e]+(?:\s*;\s*[\x21-\x7e]+)*$/.test(params.contentType)
          ? "contentType must be a plain media type (no line breaks)"
          : undefined
        if (issue !== undefined) {
          return yield* Effect.fail(
            new BatchError.InvalidParamsError({
              operation: "uploadFile",
              issue,
              message: `uploadFile: invalid parameters: ${issue}`
            })
          )
        }
        yield* Effect.annotateCurrentSpan("openai.file.purpose", params.purpose)
        const timeout = Duration.decode(uploadOptions?.timeout ?? defaultUploadTimeout)
        const content = params.file
        if (!isStream(content)) {
          const file = yield* retrying(
            sendJson({ method: "POST", path: "/files", httpBody: HttpBody.formData(formData(params, content)), timeout }, decodeFile),
            uploadOptions
          )
          yield* Effect.annotateCurrentSpan("openai.file_id", file.id)
          return file
        }
        // The HTTP client turns a failing body stream into a transport error; keep the stream's own error to
        // report it as it is.
        const streamFailure = yield* Ref.make(Option.none<E>())
        const multipart = multipartStream(
          params,
          Stream.tapError(content, (error) => Ref.set(streamFailure, Option.some(error)))
        )
        const httpBody = HttpBody.stream(multipart.body, multipart.contentType)
        const file = yield* sendJson({ method: "POST", path: "/files", httpBody, timeout }, decodeFile).pipe(
          Effect.catchAll((error) =>
            Effect.flatMap(
              Ref.get(streamFailure),
              Option.match({
                onNone: () => Effect.fail<BatchError.RequestError | E>(error),
                onSome: (cause) => Effect.fail<BatchError.RequestError | E>(cause)
              })
            )
          )
        )
        yield* Effect.annotateCurrentSpan("openai.file_id", file.id)
        return file
      }
    )

    const retrieveFile = Effect.fn("OpenAiFiles.retrieveFile")(
      function*(fileId: string, callOptions?: BatchApi.CallOptions) {
        const path = yield* filePath("retrieveFile", fileId)
        yield* Effect.annotateCurrentSpan("openai.file_id", fileId)
        const decoded = yield* retrying(pipeline.request({ method: "GET", path }, decodeFile), callOptions)
        return decoded.value
      }
    )

    const deleteFile = Effect.fn("OpenAiFiles.deleteFile")(
      function*(fileId: string, callOptions?: BatchApi.CallOptions) {
        const path = yield* filePath("deleteFile", fileId)
        yield* Effect.annotateCurrentSpan("openai.file_id", fileId)
        return yield* retrying(sendJson({ method: "DELETE", path }, decodeDeleted), callOptions)
      }
    )

    const connect = Effect.fn("OpenAiFiles.downloadFile")(
      function*(fileId: string, callOptions?: BatchApi.CallOptions) {
        const path = yield* filePath("downloadFile", fileId)
        yield* Effect.annotateCurrentSpan("openai.file_id", fileId)
        const url = `${config.baseUrl}${path}/content`
        // The timeout bounds the wait for the response head only: a large body takes as long as it takes.
        const head = Effect.timeoutFail(pipeline.raw(HttpClientRequest.get(`${path}/content`)), {
          duration: config.timeout,
          onTimeout: timedOut("GET", url, config.timeout)
        })
        const response = yield* retrying(head, callOptions)
        return Stream.mapError(
          response.stream,
          (error) =>
            new BatchError.TransportError({
              method: "GET",
              url,
              reason: "Transport",
              message: `GET ${url}: the download broke off: ${error.message}`
            })
        )
      }
    )

    const downloadFile = (fileId: string, callOptions?: BatchApi.CallOptions) =>
      Stream.unwrap(connect(fileId, callOptions))

    return { uploadFile, retrieveFile, downloadFile, deleteFile } satisfies Service
  })

/**
 * The service over the `HttpClient` in context, with `OpenAiConfig` from context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: MakeOptions = {}
): Layer.Layer<OpenAiFiles, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> =>
  Layer.effect(OpenAiFiles, make(options))

// ---------------------------------------------------------------------------------------------------------------
// Accessors
// ---------------------------------------------------------------------------------------------------------------

/**
 * `POST /v1/files` (multipart). See the module comment for what is streamed and what is retried.
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
export const retrieveFile = (
  fileId: string,
  options?: BatchApi.CallOptions
): Effect.Effect<OpenAIFile, BatchError.RequestError, OpenAiFiles> =>
  Effect.flatMap(OpenAiFiles, (files) => files.retrieveFile(fileId, options))

/**
 * `GET /v1/files/{file_id}/content`, as a byte stream.
 *
 * @since 0.1.0
 * @category Operations
 */
export const downloadFile = (
  fileId: string,
  options?: BatchApi.CallOptions
): Stream.Stream<Uint8Array, BatchError.RequestError, OpenAiFiles> =>
  Stream.unwrap(Effect.map(OpenAiFiles, (files) => files.downloadFile(fileId, options)))

/**
 * `DELETE /v1/files/{file_id}`.
 *
 * @since 0.1.0
 * @category Operations
 */
export const deleteFile = (
  fileId: string,
  options?: BatchApi.CallOptions
): Effect.Effect<DeletedFile, BatchError.RequestError, OpenAiFiles> =>
  Effect.flatMap(OpenAiFiles, (files) => files.deleteFile(fileId, options))
