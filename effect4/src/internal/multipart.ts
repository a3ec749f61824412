/**
 * The multipart/form-data body of a Files upload, written around the content rather than by a `FormData`: the
 * platform's clients disagree on `FormData` (undici 7, under `NodeHttpClient.layerUndici`, rejects the one Node
 * 20's globals build, from its bundled undici 6), and a `Stream` cannot be put in a `FormData` at all.
 *
 * The Effect 4 edition: `effect/http`'s `HttpBody`; a stream is recognised by `Stream.isStream`.
 *
 * @internal
 */
import * as HttpBody from "effect/http/HttpBody"
import * as Stream from "effect/Stream"

/** What can be uploaded (see `OpenAiFiles.UploadContent`). @internal */
export type Content<E> = Blob | Uint8Array | string | Stream.Stream<Uint8Array, E>

/** The form fields of an upload (see `OpenAiFiles.UploadParams`). @internal */
export interface Params {
  readonly filename: string
  readonly purpose: string
  readonly expires_after?: { readonly anchor: string; readonly seconds: number } | undefined
  readonly contentType?: string | undefined
}

const encoder = new TextEncoder()

/** Escapes a form field or file name as browsers do (WHATWG multipart/form-data encoding). */
const escapeName = (name: string) => name.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22")

/** @internal */
export const isStream = <E>(content: Content<E>): content is Stream.Stream<Uint8Array, E> => Stream.isStream(content)

const formFields = (params: Params): ReadonlyArray<readonly [string, string]> => [
  ["purpose", params.purpose],
  ...(params.expires_after === undefined ? [] : [
    ["expires_after[anchor]", params.expires_after.anchor] as const,
    ["expires_after[seconds]", String(params.expires_after.seconds)] as const
  ])
]

/**
 * The multipart/form-data envelope of a file field and the fields before it: the fields and the file part's
 * header before the content, the closing boundary after it. What `FormData` would serialize, without
 * materializing the file part.
 */
const envelope = (
  fields: ReadonlyArray<readonly [string, string]>,
  file: { readonly field: string; readonly filename: string; readonly contentType: string | undefined }
) => {
  const boundary = `----effect-openai-batch-${crypto.randomUUID()}`
  const head = fields
    .map(([name, value]) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value}\r\n`
    )
    .join("") +
    `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(file.field)}"; filename="${
      escapeName(file.filename)
    }"\r\nContent-Type: ${file.contentType ?? "application/octet-stream"}\r\n\r\n`
  return {
    head: encoder.encode(head),
    tail: encoder.encode(`\r\n--${boundary}--\r\n`),
    contentType: `multipart/form-data; boundary=${boundary}`
  }
}

/**
 * The upload's body: one buffer for bytes and strings, a stream of known length for a Blob (read from its source
 * on each attempt, so replayable), chunked for a Stream (sent once).
 *
 * @internal
 */
export const body = <E>(params: Params, content: Content<E>): HttpBody.HttpBody => {
  const { contentType, head, tail } = envelope(formFields(params), {
    field: "file",
    filename: params.filename,
    contentType: params.contentType
  })
  if (isStream(content)) {
    return HttpBody.stream(
      Stream.make(head).pipe(Stream.concat(content), Stream.concat(Stream.make(tail))),
      contentType
    )
  }
  if (content instanceof Blob) {
    const file = Stream.fromReadableStream({ evaluate: () => content.stream(), onError: (cause) => cause })
    return HttpBody.stream(
      Stream.make(head).pipe(Stream.concat(file), Stream.concat(Stream.make(tail))),
      contentType,
      head.length + content.size + tail.length
    )
  }
  const bytes = typeof content === "string" ? encoder.encode(content) : content
  const body = new Uint8Array(head.length + bytes.length + tail.length)
  body.set(head, 0)
  body.set(bytes, head.length)
  body.set(tail, head.length + bytes.length)
  return HttpBody.uint8Array(body, contentType)
}

/**
 * The body of an Uploads part (`POST /v1/uploads/{id}/parts`): one file field, `data`, holding `bytes`. Sent as
 * a stream of known length over the caller's buffer (no copy of a 64 MB part), and replayable: a retry sends the
 * same bytes again.
 *
 * @internal
 */
export const partBody = (bytes: Uint8Array): HttpBody.HttpBody => {
  const { contentType, head, tail } = envelope([], { field: "data", filename: "part", contentType: undefined })
  return HttpBody.stream(Stream.make(head, bytes, tail), contentType, head.length + bytes.length + tail.length)
}
