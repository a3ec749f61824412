/**
 * The file routes: upload (`multipart/form-data`, with the API's checks of purpose, size, `.jsonl` for batch input
 * and `expires_after`), list (`purpose`, `order`, `after`, `limit`), retrieve, content and delete.
 *
 * @internal
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type { Env, Step } from "./env.js"
import * as Multipart from "./multipart.js"
import type { State } from "./state.js"
import { storeFile } from "./state.js"
import type { Answer } from "./wire.js"
import { apiError, fileObject, json, missingParameter } from "./wire.js"

const filePurposes: ReadonlySet<string> = new Set(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"])

const defaultMaxFileBytes = 200 * 1024 * 1024

const noFile = (id: string) => apiError(404, `No such File object: ${id}`, { param: "id" })

/** Reads `expires_after[anchor]` and `expires_after[seconds]`: the seconds, none, or the 400 to answer. */
const expiresAfterOf = (parts: ReadonlyArray<Multipart.Part>): number | undefined | Answer => {
  const anchor = parts.find((part) => part.name === "expires_after[anchor]")
  const secondsPart = parts.find((part) => part.name === "expires_after[seconds]")
  if (anchor === undefined && secondsPart === undefined) return undefined
  if (anchor === undefined || Multipart.text(anchor) !== "created_at") {
    return apiError(400, "Invalid value for 'expires_after.anchor': only 'created_at' is supported.", {
      param: "expires_after.anchor",
      code: "invalid_value"
    })
  }
  const text = secondsPart === undefined ? "" : Multipart.text(secondsPart)
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < 3600 || value > 2_592_000) {
    return apiError(400, "Invalid 'expires_after.seconds': expected an integer between 3600 and 2592000.", {
      param: "expires_after.seconds",
      code: "invalid_value"
    })
  }
  return value
}

const createFile = (state: State, env: Env): Step => {
  const parts = env.body.multipart()
  if (parts === undefined) {
    return [apiError(400, "Expected a multipart/form-data body with the fields 'file' and 'purpose'."), state]
  }
  if (typeof parts === "string") return [apiError(400, `Could not parse the multipart body: ${parts}.`), state]
  const purposePart = parts.find((part) => part.name === "purpose")
  const filePart = parts.find((part) => part.name === "file")
  if (purposePart === undefined) return [missingParameter("purpose"), state]
  const purpose = Multipart.text(purposePart)
  if (!filePurposes.has(purpose)) {
    return [
      apiError(400, `Invalid value for 'purpose': '${purpose}'.`, { param: "purpose", code: "invalid_value" }),
      state
    ]
  }
  if (filePart === undefined || filePart.filename === undefined) return [missingParameter("file"), state]
  const maxBytes = env.config.options.maxFileBytes ?? defaultMaxFileBytes
  if (filePart.data.length > maxBytes) {
    const message = `File is too large: ${filePart.data.length} bytes; the maximum is ${maxBytes}.`
    return [apiError(400, message, { param: "file", code: "file_too_large" }), state]
  }
  if (purpose === "batch" && !filePart.filename.toLowerCase().endsWith(".jsonl")) {
    const message = "Invalid file format for Batch API. Must be .jsonl"
    return [apiError(400, message, { param: "file", code: "invalid_file_format" }), state]
  }
  const expiresAfter = expiresAfterOf(parts)
  if (typeof expiresAfter === "object") return [expiresAfter, state]
  const [stored, next] = storeFile(state, env.now, {
    // A copy: the part is a view into the request body, which may be the caller's own buffer.
    content: filePart.data.slice(),
    filename: filePart.filename,
    purpose,
    expiresAfter
  })
  return [json(200, fileObject(stored)), next]
}

/** `GET /v1/files`: by creation (newest first unless `order=asc`), of one `purpose`, after a file id, paged. */
const listFiles = (state: State, env: Env): Answer => {
  const { after, limit: limitText, order = "desc", purpose } = env.request.query
  if (order !== "asc" && order !== "desc") {
    return apiError(400, `Invalid value for 'order': expected 'asc' or 'desc', got '${order}'.`, {
      param: "order",
      code: "invalid_value"
    })
  }
  let limit = 10_000
  if (limitText !== undefined) {
    const value = /^-?\d+$/.test(limitText) ? Number(limitText) : Number.NaN
    if (!Number.isSafeInteger(value) || value < 1 || value > 10_000) {
      return apiError(400, `Invalid 'limit': expected an integer between 1 and 10000, got '${limitText}'.`, {
        param: "limit",
        code: "invalid_value"
      })
    }
    limit = value
  }
  // Creation order is `seq` (ids and `created_at` seconds can tie).
  const sorted = [...HashMap.values(state.files)]
    .filter((file) => purpose === undefined || file.purpose === purpose)
    .sort((a, b) => order === "asc" ? a.seq - b.seq : b.seq - a.seq)
  let start = 0
  if (after !== undefined) {
    const cursor = Option.getOrUndefined(HashMap.get(state.files, after))
    if (cursor === undefined) {
      return apiError(400, `Invalid 'after': no file with id '${after}'.`, { param: "after", code: "invalid_value" })
    }
    start = sorted.findIndex((file) => order === "asc" ? file.seq > cursor.seq : file.seq < cursor.seq)
    if (start < 0) start = sorted.length
  }
  const data = sorted.slice(start, start + limit).map(fileObject)
  return json(200, {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: start + limit < sorted.length
  })
}

/**
 * `/v1/files[/{id}[/content]]`, or `undefined` for a method or path it does not serve.
 *
 * @internal
 */
export const route = (
  state: State,
  env: Env,
  id: string | undefined,
  action: string | undefined
): Step | undefined => {
  const { method } = env.request
  if (id === undefined) {
    if (method === "POST") return createFile(state, env)
    if (method === "GET") return [listFiles(state, env), state]
    return undefined
  }
  const file = Option.getOrUndefined(HashMap.get(state.files, id))
  if (action === undefined && method === "GET") {
    return [file === undefined ? noFile(id) : json(200, fileObject(file)), state]
  }
  if (action === undefined && method === "DELETE") {
    return file === undefined
      ? [noFile(id), state]
      : [json(200, { id, object: "file", deleted: true }), { ...state, files: HashMap.remove(state.files, id) }]
  }
  if (action === "content" && method === "GET") {
    return [
      file === undefined ? noFile(id) : { status: 200, body: file.content, contentType: "application/octet-stream" },
      state
    ]
  }
  return undefined
}
