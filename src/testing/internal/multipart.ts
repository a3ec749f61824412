/**
 * A small synchronous `multipart/form-data` reader for the simulator's `POST /v1/files`. Synchronous so that the
 * simulator's core stays a pure step over bytes, whichever transport delivered them.
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

/**
 * Splits a multipart body into its parts, or returns a reason why it cannot. Parts without a name are dropped.
 *
 * @internal
 */
export const parse = (body: Uint8Array, boundary: string): ReadonlyArray<Part> | string => {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: Array<Part> = []
  let position = buffer.indexOf(delimiter)
  if (position < 0) return "the body does not contain the multipart boundary"
  for (;;) {
    position += delimiter.length
    // "--" after a delimiter closes the body.
    if (buffer[position] === 0x2d && buffer[position + 1] === 0x2d) return parts
    const headerStart = buffer.indexOf("\r\n", position)
    if (headerStart < 0) return "a multipart part is cut short"
    const headerEnd = buffer.indexOf("\r\n\r\n", headerStart)
    if (headerEnd < 0) return "a multipart part has no end of headers"
    const next = buffer.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4)
    if (next < 0) return "the multipart body has no closing boundary"
    const headers = decoder.decode(buffer.subarray(headerStart + 2, headerEnd)).split("\r\n")
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
        data: new Uint8Array(buffer.subarray(headerEnd + 4, next))
      })
    }
    position = next + 2
  }
}

/** @internal */
export const text = (part: Part): string => decoder.decode(part.data)
