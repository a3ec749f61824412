/**
 * A small synchronous `multipart/form-data` reader for the simulator's `POST /v1/files`. Hand-written for two
 * reasons: it must be synchronous, so that the simulator's core stays a pure step over bytes whichever transport
 * delivered them (the platform's `Multipart` and `Response.formData()` are asynchronous), and it must use web
 * standards only (`Uint8Array`, `TextEncoder`), so the simulator runs where there is no `Buffer`.
 *
 * @internal
 */

/** @internal */
export interface Part {
  readonly name: string
  readonly filename: string | undefined
  readonly contentType: string | undefined
  readonly data: Uint8Array
}

/** Reads the boundary out of a `multipart/form-data; boundary=...` content type. @internal */
export const boundaryOf = (contentType: string | undefined): string | undefined => {
  if (contentType === undefined || !/^multipart\/form-data\b/i.test(contentType.trim())) return undefined
  const match = /;\s*boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType)
  const boundary = match?.[1] ?? match?.[2]?.trim()
  return boundary === undefined || boundary.length === 0 ? undefined : boundary
}

const decoder = new TextDecoder()

const parseDisposition = (value: string) => {
  const param = (key: string) => {
    const match = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(value) ??
      new RegExp(`;\\s*${key}=([^;]+)`, "i").exec(value)
    return match?.[1]?.replace(/\\(.)/g, "$1")
  }
  return { name: param("name"), filename: param("filename") }
}

const encoder = new TextEncoder()

/**
 * The first index of `needle` in `haystack` at or after `from`, or -1. The first byte is found with the native
 * `indexOf`; only its hits are compared further, so a 10 MB upload is scanned at memchr speed.
 */
const indexOf = (haystack: Uint8Array, needle: Uint8Array, from: number): number => {
  const first = needle[0]
  if (first === undefined) return from
  const last = haystack.length - needle.length
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1
    while (j < needle.length && haystack[i + j] === needle[j]) j++
    if (j === needle.length) return i
  }
  return -1
}

const crlf = encoder.encode("\r\n")
const headerEnd = encoder.encode("\r\n\r\n")

/**
 * Splits a multipart body into its parts, or returns a reason why it cannot. Parts without a name are dropped.
 * A part's data is a view into `body` (no copy).
 *
 * @internal
 */
export const parse = (body: Uint8Array, boundary: string): ReadonlyArray<Part> | string => {
  const delimiter = encoder.encode(`--${boundary}`)
  const nextDelimiter = encoder.encode(`\r\n--${boundary}`)
  const parts: Array<Part> = []
  let position = indexOf(body, delimiter, 0)
  if (position < 0) return "the body does not contain the multipart boundary"
  for (;;) {
    position += delimiter.length
    // "--" after a delimiter closes the body.
    if (body[position] === 0x2d && body[position + 1] === 0x2d) return parts
    const headerStart = indexOf(body, crlf, position)
    if (headerStart < 0) return "a multipart part is cut short"
    const headersEnd = indexOf(body, headerEnd, headerStart)
    if (headersEnd < 0) return "a multipart part has no end of headers"
    const next = indexOf(body, nextDelimiter, headersEnd + 4)
    if (next < 0) return "the multipart body has no closing boundary"
    const headers = decoder.decode(body.subarray(headerStart + 2, headersEnd)).split("\r\n")
    let disposition: { name: string | undefined; filename: string | undefined } = {
      name: undefined,
      filename: undefined
    }
    let contentType: string | undefined
    for (const line of headers) {
      const colon = line.indexOf(":")
      if (colon < 0) continue
      const key = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (key === "content-disposition") disposition = parseDisposition(value)
      if (key === "content-type") contentType = value
    }
    if (disposition.name !== undefined) {
      parts.push({
        name: disposition.name,
        filename: disposition.filename,
        contentType,
        data: body.subarray(headersEnd + 4, next)
      })
    }
    position = next + 2
  }
}

/** @internal */
export const text = (part: Part): string => decoder.decode(part.data)
