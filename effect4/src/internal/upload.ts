/**
 * The duplicate-free upload protocol of `OpenAiFiles.uploadFile`, the Files counterpart of ./create.ts.
 *
 * An upload whose outcome is unknown (the server stored the file and the response was lost: a connection reset, a
 * timeout while the server stores it late, a 5xx after storing, a 2xx cut short) must not simply be sent again: the
 * first file would be orphaned, billed for storage and counted against the organisation's limits. The Files API
 * takes no metadata, but it shows every file's `filename` back, in the answer and in `GET /v1/files`. So every
 * upload's filename carries a marker unique to the call (`requests.jsonl` -> `requests.eob-<16 hex>.jsonl`), and once
 * an attempt may have reached the server, the newest files are searched for that filename before sending again. A
 * 2xx whose body cannot be read is looked up at once and never sent again: the server said it stored the file.
 *
 * - Without a marker (opted out), an ambiguous failure is not retried.
 * - A `Stream` that cannot be replayed is sent once; after an ambiguous failure it is looked for again on the retry
 *   policy's pace, never sent again.
 * - The limit: a file stored only after the lookup ran (a request still being processed long after its timeout fired)
 *   can still be stored twice; both carry the same marker, so they are easy to find.
 *
 * The Effect 4 edition: an attempt's outcome is a `Result` (Effect 3: `Either`); `effect/http`'s `HttpBody`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as HttpBody from "effect/http/HttpBody"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as BatchError from "../BatchError.js"
import * as BatchSchedule from "../BatchSchedule.js"
import type * as Decoder from "./decoder.js"
import type * as Http from "./http/pipeline.js"
import * as Retry from "./http/retry.js"
import * as Multipart from "./multipart.js"

/** How far back (in seconds, against clock skew) a lookup looks. @internal */
export const lookupSkewSeconds = 300
/** How many pages of 100 a lookup reads at most (the newest 1,000 files of the purpose). */
const lookupMaxPages = 10

/** A stored file, as far as the protocol reads it (`OpenAiFiles.OpenAIFile`). @internal */
export interface StoredFile {
  readonly id: string
  readonly filename: string
  readonly created_at: number
}

/** One page of `GET /v1/files`, as far as a lookup needs it. @internal */
export interface FilePage<F extends StoredFile> {
  readonly data: ReadonlyArray<F>
  readonly has_more: boolean
}

/** What an upload decodes with (the schemas live in the public module). @internal */
export interface Decoders<F extends StoredFile> {
  readonly file: Decoder.Decoder<F>
  readonly page: Decoder.Decoder<FilePage<F>>
}

/** What to upload (`OpenAiFiles.UploadParams`). @internal */
export interface Params<E> extends Multipart.Params {
  readonly file: Multipart.Content<E>
  readonly replayable?: boolean | undefined
}

/** What `POST /v1/files` accepts as a purpose (checked before anything is sent: it also goes into a multipart part). */
const uploadPurposes: ReadonlySet<string> = new Set([
  "assistants",
  "batch",
  "fine-tune",
  "vision",
  "user_data",
  "evals"
])

/**
 * The first of an upload's parameters the API would refuse, as `[field, issue]`, checked before anything is sent
 * (the filename, the purpose and the content type go into the multipart head). `undefined` when they are fine.
 *
 * @internal
 */
export const paramsIssue = (
  params: Pick<Multipart.Params, "filename" | "purpose" | "contentType">
): readonly [field: string, issue: string] | undefined =>
  params.filename.length === 0
    ? ["filename", "must not be empty"]
    : !uploadPurposes.has(params.purpose)
    ? ["purpose", `must be one of ${[...uploadPurposes].join(", ")}`]
    : params.contentType !== undefined && !/^[\x21-\x7e]+(?:\s*;\s*[\x21-\x7e]+)*$/.test(params.contentType)
    ? ["contentType", "must be a plain media type (no line breaks)"]
    : undefined

/**
 * `requests.jsonl` with `marker` before its extension (`requests.<marker>.jsonl`; after the name if it has none):
 * the extension, which the API reads for some purposes, stays last.
 *
 * @internal
 */
export const markFilename = (filename: string, marker: string): string => {
  const dot = filename.lastIndexOf(".")
  return dot > 0 ? `${filename.slice(0, dot)}.${marker}${filename.slice(dot)}` : `${filename}.${marker}`
}

/** The marker of one upload call: 64 random bits, as 16 hex digits. @internal */
export const newMarker = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  let hex = "eob-"
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0")
  return hex
}

/** A 2xx answer to the upload that could not be read: the file was stored, its description was lost. */
const isUnreadableSuccess = (error: BatchError.RequestError) =>
  error._tag === "DecodeError" && error.status >= 200 && error.status < 300

const isAmbiguous = (error: BatchError.RequestError) => BatchError.transience(error) === "ambiguous"

/**
 * Looks, page by page (`page(after)`: the newest files of one purpose), among the files created since
 * `sinceSeconds` for one named `filename`.
 *
 * @internal
 */
export const findIn = <F extends StoredFile>(
  page: (after: string | undefined) => Effect.Effect<FilePage<F>, BatchError.RequestError>,
  filename: string,
  sinceSeconds: number
): Effect.Effect<Option.Option<F>, BatchError.RequestError> =>
  Effect.gen(function*() {
    let after: string | undefined
    for (let n = 0; n < lookupMaxPages; n++) {
      const result = yield* page(after)
      const files = result.data
      const found = files.find((file) => file.filename === filename && file.created_at >= sinceSeconds)
      if (found !== undefined) return Option.some(found)
      const last = files[files.length - 1]
      if (!result.has_more || last === undefined || last.id === after || last.created_at < sinceSeconds) break
      after = last.id
    }
    return Option.none<F>()
  })

/**
 * Looks among the newest files of `purpose`, created since `sinceSeconds`, for one named `filename`.
 *
 * @internal
 */
export const find = <F extends StoredFile>(
  pipeline: Http.Pipeline,
  decoders: Decoders<F>,
  purpose: string,
  filename: string,
  sinceSeconds: number,
  span: Tracer.Span
): Effect.Effect<Option.Option<F>, BatchError.RequestError> =>
  findIn(
    (after) =>
      Effect.map(
        pipeline.request({
          operation: "uploadFile",
          method: "GET",
          path: "/files",
          query: { purpose, order: "desc", limit: 100, after },
          span
        }, decoders.page),
        (result) => result.value
      ),
    filename,
    sinceSeconds
  )

/**
 * Uploads `params` at most once (see the module comment).
 *
 * @internal
 */
export const upload = <F extends StoredFile, E>(
  pipeline: Http.Pipeline,
  decoders: Decoders<F>,
  params: Params<E>,
  marked: boolean,
  span: Tracer.Span
): Effect.Effect<F, BatchError.RequestError | E> =>
  Effect.gen(function*() {
    const filename = marked ? markFilename(params.filename, newMarker()) : params.filename
    const since = Math.floor((yield* Clock.currentTimeMillis) / 1000) - lookupSkewSeconds
    const lookup = find(pipeline, decoders, params.purpose, filename, since, span)
    const sent = (httpBody: HttpBody.HttpBody) =>
      Effect.map(
        pipeline.request({
          operation: "uploadFile",
          method: "POST",
          path: "/files",
          httpBody,
          defaultTimeout: BatchSchedule.timeoutDefaults.upload,
          span
        }, decoders.file),
        (decoded) => decoded.value
      )

    // The body of every attempt: bytes, a string or a Blob are replayable; a Stream is sent once (unless the caller
    // says it replays), and its own failure is kept to be reported as it is (the client makes it a transport error).
    const content = params.file
    const streamFailure = yield* Ref.make(Option.none<E>())
    const replayable = !Multipart.isStream(content) || params.replayable === true
    const httpBody = Multipart.body(
      { ...params, filename },
      Multipart.isStream(content)
        ? Stream.tapError(content, (error) => Ref.set(streamFailure, Option.some(error)))
        : content
    )

    type Outcome = Result.Result<F, E>
    const fromLookup = (error: BatchError.RequestError) =>
      Effect.flatMap(
        lookup,
        Option.match({
          onNone: () => Effect.fail(error),
          onSome: (file) =>
            Effect.as(Effect.logInfo(`effect-openai-batch: upload already stored as ${file.id}`), Result.succeed(file))
        })
      )
    // Once an attempt may have reached the server, every later attempt first looks for its file.
    let mayExist = false
    let lastError: BatchError.RequestError | undefined
    const send: Effect.Effect<Outcome, BatchError.RequestError> = sent(httpBody).pipe(
      Effect.map((file): Outcome => Result.succeed(file)),
      Effect.catch((error) =>
        Effect.flatMap(
          Ref.getAndSet(streamFailure, Option.none()),
          Option.match({ onNone: () => Effect.fail(error), onSome: (cause) => Effect.succeed(Result.fail(cause)) })
        )
      ),
      Effect.catchIf(isUnreadableSuccess, (error) => marked ? fromLookup(error) : Effect.fail(error)),
      Effect.tapError((error) =>
        Effect.sync(() => {
          lastError = error
          if (isAmbiguous(error) || isUnreadableSuccess(error)) mayExist = true
        })
      )
    )
    const attempt = Effect.suspend(() => {
      const failed = lastError
      if (!mayExist || failed === undefined) return send
      // A stream that cannot be sent again is only looked for, on the retry policy's pace: a server may store it a
      // little after its answer was lost.
      return Effect.flatMap(
        lookup,
        Option.match({
          onNone: () => replayable ? send : Effect.fail(failed),
          onSome: (file) => Effect.succeed(Result.succeed(file))
        })
      )
    })
    // Without a marker nothing can be looked up: an ambiguous failure is returned, never sent again; a stream that
    // cannot be replayed is not sent twice either way.
    const outcome = Retry.retry(
      attempt,
      !marked ? (replayable ? isAmbiguous : () => true) : replayable ? undefined : () => !mayExist
    )
    return yield* Effect.flatMap(outcome, Result.match({ onFailure: Effect.fail, onSuccess: Effect.succeed }))
  })
