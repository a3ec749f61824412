/**
 * The Uploads API routes: create (JSON, with the checks of `POST /v1/files`: purpose, `.jsonl` for batch input,
 * `expires_after`, and the 8 GiB cap), add a part (multipart field `data`, at most 64 MiB), complete (the parts in
 * order must add up to the upload's bytes; an `md5` is checked) and cancel. A pending upload reads as `expired`
 * an hour after its creation. Parts are kept until their upload completes (they become its file) or is cancelled.
 *
 * @internal
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Md5 from "../../internal/md5.js"
import type { SimUpload } from "../BatchApiSimulator.js"
import type { Env, Step } from "./env.js"
import { isRecord } from "./json.js"
import type { State, StoredUpload } from "./state.js"
import { partIdOf, seconds, storeFile, uploadIdOf } from "./state.js"
import type { Answer } from "./wire.js"
import { apiError, expiresAfterIssue, fileObject, json, missingParameter } from "./wire.js"

const purposes: ReadonlySet<string> = new Set(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"])
const createFields: ReadonlySet<string> = new Set(["filename", "purpose", "bytes", "mime_type", "expires_after"])
const maxUploadBytes = 8 * 1024 ** 3
const maxPartBytes = 64 * 1024 ** 2
const hourMs = 60 * 60 * 1000

const invalid = (param: string, message: string, code = "invalid_value") => apiError(400, message, { param, code })

/** `pending`, `completed`, `cancelled`, or `expired` for a pending one past its hour. @internal */
export const statusAt = (upload: StoredUpload, now: number): string =>
  upload.status === "pending" && now >= upload.createdAtMs + hourMs ? "expired" : upload.status

/** The Upload object at `now`. @internal */
export const uploadObject = (state: State, upload: StoredUpload, now: number): Record<string, unknown> => {
  const file = upload.fileId === undefined ? undefined : Option.getOrUndefined(HashMap.get(state.files, upload.fileId))
  return {
    id: upload.id,
    object: "upload",
    bytes: upload.bytes,
    created_at: seconds(upload.createdAtMs),
    expires_at: seconds(upload.createdAtMs + hourMs),
    filename: upload.filename,
    purpose: upload.purpose,
    status: statusAt(upload, now),
    file: file === undefined ? null : fileObject(file)
  }
}

/** The upload as tests see it (`Simulator.upload`). @internal */
export const simUpload = (state: State, upload: StoredUpload, now: number): SimUpload => {
  let parts = 0
  let received = 0
  for (const part of HashMap.values(state.uploadParts)) {
    if (part.uploadId !== upload.id) continue
    parts++
    received += part.data.length
  }
  return {
    id: upload.id,
    filename: upload.filename,
    purpose: upload.purpose,
    bytes: upload.bytes,
    mime_type: upload.mimeType,
    status: statusAt(upload, now),
    parts,
    bytesReceived: received,
    fileId: upload.fileId
  }
}

/** The JSON object of the request, or the 400 to answer. */
const jsonObject = (env: Env): { readonly body: Record<string, unknown> } | { readonly refused: Answer } => {
  const parsed = env.body.json()
  if (!parsed.ok) {
    return { refused: apiError(400, "We could not parse the JSON body of your request. (HINT: send valid JSON.)") }
  }
  return isRecord(parsed.value)
    ? { body: parsed.value }
    : { refused: apiError(400, "The request body must be a JSON object.") }
}

const createUpload = (state: State, env: Env): Step => {
  const parsed = jsonObject(env)
  if ("refused" in parsed) return [parsed.refused, state]
  const body = parsed.body
  for (const key of Object.keys(body)) {
    if (!createFields.has(key)) return [apiError(400, `Unrecognized request argument supplied: ${key}`), state]
  }
  const { bytes, filename, mime_type, purpose } = body
  for (
    const [param, value] of [["filename", filename], ["purpose", purpose], ["bytes", bytes], ["mime_type", mime_type]]
  ) {
    if (value === undefined) return [missingParameter(String(param)), state]
  }
  if (typeof filename !== "string" || filename.length === 0) {
    return [invalid("filename", "Invalid type for 'filename': expected a non-empty string.", "invalid_type"), state]
  }
  if (typeof purpose !== "string" || !purposes.has(purpose)) {
    return [invalid("purpose", `Invalid value for 'purpose': '${String(purpose)}'.`), state]
  }
  if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0 || bytes > maxUploadBytes) {
    return [invalid("bytes", `Invalid 'bytes': expected an integer between 0 and ${maxUploadBytes}.`), state]
  }
  if (typeof mime_type !== "string" || mime_type.length === 0) {
    return [invalid("mime_type", "Invalid type for 'mime_type': expected a non-empty string.", "invalid_type"), state]
  }
  if (purpose === "batch" && !filename.toLowerCase().endsWith(".jsonl")) {
    return [invalid("filename", "Invalid file format for Batch API. Must be .jsonl", "invalid_file_format"), state]
  }
  const expiresIssue = expiresAfterIssue(body["expires_after"], "expires_after")
  if (expiresIssue !== undefined) return [expiresIssue, state]
  const expiresAfter = isRecord(body["expires_after"]) && typeof body["expires_after"]["seconds"] === "number"
    ? body["expires_after"]["seconds"]
    : undefined
  const counter = state.counter + 1
  const upload: StoredUpload = {
    id: uploadIdOf(counter),
    filename,
    purpose,
    bytes,
    mimeType: mime_type,
    expiresAfter,
    createdAtMs: env.now,
    status: "pending",
    fileId: undefined
  }
  return [
    json(200, uploadObject(state, upload, env.now)),
    { ...state, counter, uploads: HashMap.set(state.uploads, upload.id, upload) }
  ]
}

/** The 400 for adding to, completing or cancelling an upload that is no longer pending. */
const notPending = (upload: StoredUpload, now: number) =>
  invalid("upload_id", `Upload ${upload.id} is ${statusAt(upload, now)}: it is no longer pending.`, "invalid_state")

/** The upload's parts dropped (they are only kept while it is pending). */
const dropParts = (state: State, uploadId: string): State => {
  let parts = state.uploadParts
  for (const part of HashMap.values(state.uploadParts)) {
    if (part.uploadId === uploadId) parts = HashMap.remove(parts, part.id)
  }
  return { ...state, uploadParts: parts }
}

const addPart = (state: State, env: Env, upload: StoredUpload): Step => {
  if (statusAt(upload, env.now) !== "pending") return [notPending(upload, env.now), state]
  const parts = env.body.multipart()
  if (parts === undefined) return [apiError(400, "Expected a multipart/form-data body with the field 'data'."), state]
  if (typeof parts === "string") return [apiError(400, `Could not parse the multipart body: ${parts}.`), state]
  const data = parts.find((part) => part.name === "data")
  if (data === undefined) return [missingParameter("data"), state]
  if (data.data.length > maxPartBytes) {
    const message = `Part is too large: ${data.data.length} bytes; the maximum is ${maxPartBytes}.`
    return [invalid("data", message, "part_too_large"), state]
  }
  const counter = state.counter + 1
  // A copy: the part is a view into the request body, which may be the caller's own buffer.
  const part = { id: partIdOf(counter), uploadId: upload.id, createdAt: seconds(env.now), data: data.data.slice() }
  return [
    json(200, { id: part.id, object: "upload.part", created_at: part.createdAt, upload_id: upload.id }),
    { ...state, counter, uploadParts: HashMap.set(state.uploadParts, part.id, part) }
  ]
}

const complete = (state: State, env: Env, upload: StoredUpload): Step => {
  if (statusAt(upload, env.now) !== "pending") return [notPending(upload, env.now), state]
  const parsed = jsonObject(env)
  if ("refused" in parsed) return [parsed.refused, state]
  const { md5, part_ids } = parsed.body
  if (part_ids === undefined) return [missingParameter("part_ids"), state]
  if (!Array.isArray(part_ids) || !part_ids.every((id) => typeof id === "string")) {
    return [invalid("part_ids", "Invalid type for 'part_ids': expected an array of strings.", "invalid_type"), state]
  }
  if (md5 !== undefined && typeof md5 !== "string") {
    return [invalid("md5", "Invalid type for 'md5': expected a string.", "invalid_type"), state]
  }
  if (new Set(part_ids).size !== part_ids.length) {
    return [invalid("part_ids", "Invalid 'part_ids': a part is listed more than once."), state]
  }
  const chunks: Array<Uint8Array> = []
  let total = 0
  for (const id of part_ids) {
    const part = Option.getOrUndefined(HashMap.get(state.uploadParts, String(id)))
    if (part === undefined || part.uploadId !== upload.id) {
      return [invalid("part_ids", `Invalid 'part_ids': no part ${String(id)} in upload ${upload.id}.`), state]
    }
    chunks.push(part.data)
    total += part.data.length
  }
  if (total !== upload.bytes) {
    const message =
      `The number of bytes uploaded (${total}) does not match the number of bytes expected (${upload.bytes}).`
    return [invalid("part_ids", message), state]
  }
  const content = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    content.set(chunk, offset)
    offset += chunk.length
  }
  if (md5 !== undefined && Md5.hex(content) !== md5.toLowerCase()) {
    return [invalid("md5", "The md5 checksum does not match the bytes uploaded."), state]
  }
  const [file, stored] = storeFile(dropParts(state, upload.id), env.now, {
    content,
    filename: upload.filename,
    purpose: upload.purpose,
    expiresAfter: upload.expiresAfter
  })
  const completed: StoredUpload = { ...upload, status: "completed", fileId: file.id }
  const next = { ...stored, uploads: HashMap.set(stored.uploads, upload.id, completed) }
  return [json(200, uploadObject(next, completed, env.now)), next]
}

const cancel = (state: State, env: Env, upload: StoredUpload): Step => {
  if (statusAt(upload, env.now) !== "pending") return [notPending(upload, env.now), state]
  const cancelled: StoredUpload = { ...upload, status: "cancelled" }
  const next = dropParts({ ...state, uploads: HashMap.set(state.uploads, upload.id, cancelled) }, upload.id)
  return [json(200, uploadObject(next, cancelled, env.now)), next]
}

/**
 * `/v1/uploads[/{id}/(parts|complete|cancel)]`, or `undefined` for a method or path it does not serve.
 *
 * @internal
 */
export const route = (
  state: State,
  env: Env,
  id: string | undefined,
  action: string | undefined
): Step | undefined => {
  if (env.request.method !== "POST") return undefined
  if (id === undefined) return createUpload(state, env)
  const upload = Option.getOrUndefined(HashMap.get(state.uploads, id))
  if (action !== "parts" && action !== "complete" && action !== "cancel") return undefined
  if (upload === undefined) return [apiError(404, `No such Upload: ${id}`, { param: "upload_id" }), state]
  return action === "parts"
    ? addPart(state, env, upload)
    : action === "complete"
    ? complete(state, env, upload)
    : cancel(state, env, upload)
}
