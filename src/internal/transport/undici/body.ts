/**
 * Request bodies for the undici transport: every body kind as something undici's `dispatch` sends.
 *
 * A `FormData` is serialized here (WHATWG multipart/form-data, byte for byte the encoding undici's and fetch's own
 * encoders write) for a portability reason: undici 7 rejects Node 20's global `FormData`, whose class comes from
 * the undici 6 bundled in Node ("action is not a function"). Doing it here also gives the request a
 * `Content-Length` (every part's size is known) and streams `Blob` parts from their source, so a file-backed Blob
 * (`fs.openAsBlob`) is never read whole. undici itself reads a Blob body into memory before sending it: a Blob
 * is streamed the same way.
 *
 * Effect-free, shared verbatim by both editions (effect4/test/sharedSources.test.ts): each edition's client.ts maps
 * its `HttpBody` onto these (an Effect `Stream` body becomes a web ReadableStream there, then `fromWeb` here).
 *
 * @internal
 */
import { Readable } from "node:stream"

/** What undici sends, and the headers the body itself determines. @internal */
export interface Encoded {
  readonly body: string | Uint8Array | Readable | null
  /** Set only when the request has no `content-type` yet (a FormData boundary, a Blob's type). */
  readonly contentType?: string | undefined
  /** Set when the body's length is known and undici cannot see it (a Blob or FormData sent as a stream). */
  readonly contentLength?: number | undefined
}

/** A body this transport cannot send (a `Raw` body of another type, a locked ReadableStream...). @internal */
export class UnsupportedBody {
  constructor(readonly description: string, readonly cause?: unknown) {}
}

/** No body. @internal */
export const empty: Encoded = { body: null }
const encoder = new TextEncoder()
const crlf = encoder.encode("\r\n")

/** Reads a Blob as it is sent; cancelling the reader when the consumer stops (an aborted request). */
async function* blobChunks(blob: Blob): AsyncGenerator<Uint8Array> {
  const reader = blob.stream().getReader()
  try {
    for (;;) {
      const next = await reader.read()
      if (next.done) return
      yield next.value
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
}

async function* partChunks(parts: ReadonlyArray<Uint8Array | Blob>): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if (part instanceof Uint8Array) yield part
    else yield* blobChunks(part)
  }
}

const bytesStream = (chunks: AsyncGenerator<Uint8Array>): Readable => Readable.from(chunks, { objectMode: false })

/**
 * A web ReadableStream as a Node Readable that cancels the stream when destroyed, even while a read is pending
 * (an async generator over it could only stop after the pending read; a stalled source would never let go).
 *
 * @internal
 */
export const fromWeb = (stream: ReadableStream<Uint8Array>): Readable => {
  const reader = stream.getReader()
  return new Readable({
    read() {
      reader.read().then(
        (next) => {
          this.push(next.done ? null : next.value)
        },
        (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error)))
      )
    },
    destroy(error, callback) {
      reader.cancel(error ?? undefined).then(() => callback(error), () => callback(error))
    }
  })
}

// The multipart/form-data encoding of the HTML standard, as undici (fetch's body extraction) writes it.
const escapeName = (name: string) => name.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22")
const normalizeLinefeeds = (value: string) => value.replace(/\r?\n|\r/g, "\r\n")

/** A FormData as a streamed multipart body with its exact length. @internal */
export const formData = (form: FormData): Encoded => {
  const boundary = `----formdata-effect-openai-batch-${crypto.randomUUID()}`
  const prefix = `--${boundary}\r\nContent-Disposition: form-data`
  const parts: Array<Uint8Array | Blob> = []
  let length = 0
  form.forEach((value, name) => {
    if (typeof value === "string") {
      const chunk = encoder.encode(
        `${prefix}; name="${escapeName(normalizeLinefeeds(name))}"\r\n\r\n${normalizeLinefeeds(value)}\r\n`
      )
      parts.push(chunk)
      length += chunk.byteLength
    } else {
      const head = encoder.encode(
        `${prefix}; name="${escapeName(normalizeLinefeeds(name))}"${
          value.name ? `; filename="${escapeName(value.name)}"` : ""
        }\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`
      )
      parts.push(head, value, crlf)
      length += head.byteLength + value.size + crlf.byteLength
    }
  })
  const tail = encoder.encode(`--${boundary}--\r\n`)
  parts.push(tail)
  length += tail.byteLength
  return {
    body: bytesStream(partChunks(parts)),
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: length
  }
}

const blob = (value: Blob): Encoded => ({
  body: fromWeb(value.stream()),
  contentType: value.type === "" ? undefined : value.type,
  contentLength: value.size
})

const isAsyncIterable = (value: object): value is AsyncIterable<Uint8Array> => Symbol.asyncIterator in value

/** A `Raw` body (an `HttpBody.raw` value) as undici sends it. @internal */
export const raw = (value: unknown): Encoded | UnsupportedBody => {
  if (value === null || value === undefined) return empty
  if (typeof value === "string" || value instanceof Uint8Array) return { body: value }
  if (value instanceof ArrayBuffer) return { body: new Uint8Array(value) }
  if (ArrayBuffer.isView(value)) return { body: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) }
  if (value instanceof Blob) return blob(value)
  if (value instanceof FormData) return formData(value)
  if (value instanceof Readable) return { body: value }
  if (value instanceof ReadableStream) return { body: fromWeb(value) }
  if (typeof value === "object" && isAsyncIterable(value)) return { body: Readable.from(value, { objectMode: false }) }
  return new UnsupportedBody(`a Raw body of type ${typeof value === "object" ? value.constructor?.name : typeof value}`)
}
