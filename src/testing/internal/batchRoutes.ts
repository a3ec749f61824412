/**
 * The batch routes: create (with the API's validation and 400s naming `param`), retrieve, list (newest first,
 * `after` and `limit`) and cancel.
 *
 * @internal
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Batch from "../../Batch.js"
import type { Env, Step } from "./env.js"
import { isRecord } from "./json.js"
import * as Lifecycle from "./lifecycle.js"
import * as Lines from "./lines.js"
import type { RequestLine, Script } from "./model.js"
import { defaultScript } from "./model.js"
import * as Results from "./results.js"
import * as Scripts from "./script.js"
import type { LiveBatch, State } from "./state.js"
import { addBatch, batchIdOf, seconds, updateBatch } from "./state.js"
import type { Answer } from "./wire.js"
import { apiError, batchObject, expiresAfterIssue, json, missingParameter } from "./wire.js"

/** A batch created from a file id the simulator never saw gets stand-in requests. */
const syntheticInput = (endpoint: string, count: number, onLine: (line: RequestLine) => void) => {
  for (const line of Lines.syntheticLines(endpoint, count)) onLine(line)
  return { count, errors: [] }
}

const endpoints: ReadonlySet<string> = new Set(Batch.knownEndpoints)
const createFields: ReadonlySet<string> = new Set([
  "input_file_id",
  "endpoint",
  "completion_window",
  "metadata",
  "output_expires_after"
])

const invalid = (param: string, message: string, code = "invalid_value") => apiError(400, message, { param, code })

const validateMetadata = (metadata: unknown): Answer | undefined => {
  if (metadata === undefined || metadata === null) return undefined
  if (!isRecord(metadata)) {
    return invalid("metadata", "Invalid type for 'metadata': expected an object.", "invalid_type")
  }
  const keys = Object.keys(metadata)
  if (keys.length > 16) {
    return invalid(
      "metadata",
      `Invalid 'metadata': too many properties. Expected at most 16, got ${keys.length}.`,
      "object_above_max_properties"
    )
  }
  for (const key of keys) {
    const value = metadata[key]
    if (key.length > 64) {
      return invalid("metadata", "Invalid 'metadata': a key is longer than 64 characters.", "string_above_max_length")
    }
    if (typeof value !== "string") {
      return invalid(`metadata.${key}`, `Invalid type for 'metadata.${key}': expected a string.`, "invalid_type")
    }
    if (value.length > 512) {
      return invalid(
        `metadata.${key}`,
        `Invalid 'metadata.${key}': string too long. Expected at most 512 characters.`,
        "string_above_max_length"
      )
    }
  }
  return undefined
}

const validateCreate = (body: Record<string, unknown>): Answer | undefined => {
  for (const key of Object.keys(body)) {
    if (!createFields.has(key)) return apiError(400, `Unrecognized request argument supplied: ${key}`, { param: key })
  }
  const { completion_window, endpoint, input_file_id } = body
  if (input_file_id === undefined) return missingParameter("input_file_id")
  if (typeof input_file_id !== "string" || input_file_id.length === 0) {
    return invalid("input_file_id", "Invalid type for 'input_file_id': expected a non-empty string.", "invalid_type")
  }
  if (endpoint === undefined) return missingParameter("endpoint")
  if (typeof endpoint !== "string" || !endpoints.has(endpoint)) {
    return invalid(
      "endpoint",
      `Invalid value for 'endpoint': expected one of ${[...endpoints].map((e) => `'${e}'`).join(", ")}.`
    )
  }
  if (completion_window === undefined) return missingParameter("completion_window")
  if (completion_window !== "24h") {
    return invalid("completion_window", "Invalid value for 'completion_window': only '24h' is supported.")
  }
  return validateMetadata(body["metadata"]) ?? expiresAfterIssue(body["output_expires_after"], "output_expires_after")
}

const createBatch = (state: State, env: Env): Step => {
  const parsed = env.body.json()
  if (!parsed.ok) {
    return [apiError(400, "We could not parse the JSON body of your request. (HINT: send valid JSON.)"), state]
  }
  if (!isRecord(parsed.value)) return [apiError(400, "The request body must be a JSON object."), state]
  const body = parsed.value
  const invalidBody = validateCreate(body)
  if (invalidBody !== undefined) return [invalidBody, state]
  const { options } = env.config
  const endpoint = String(body["endpoint"])
  const inputFileId = String(body["input_file_id"])
  const idempotencyKey = options.honourIdempotencyKey === true ? env.request.headers["idempotency-key"] : undefined
  if (idempotencyKey !== undefined) {
    const existing = Option.flatMap(
      HashMap.get(state.idempotency, idempotencyKey),
      (id) => HashMap.get(state.batches, id)
    )
    if (Option.isSome(existing)) return [json(200, batchObject(existing.value, env.now, env.config.options)), state]
  }
  const file = Option.getOrUndefined(HashMap.get(state.files, inputFileId))
  const uploaded = file !== undefined && file.purpose === "batch"
  if (!uploaded && options.requireInputFile !== false) {
    const message = `Cannot find file ${inputFileId}, or it was not uploaded with purpose 'batch'.`
    return [apiError(400, message, { param: "input_file_id", code: "invalid_file" }), state]
  }
  const [next, ...rest] = state.nextScripts
  const script: Script = { ...state.defaultScript, ...next }
  const counter = state.counter + 1
  const id = batchIdOf(counter)
  const answers = Results.answering(id, seconds(env.now), env.config.responder)
  const read = uploaded
    ? Lines.readInput(file.content, endpoint, answers.add)
    : syntheticInput(endpoint, script.requestCount ?? defaultScript.requestCount, answers.add)
  const answered = answers.done()
  const expiresAfter = body["output_expires_after"]
  const metadata = body["metadata"]
  const batch: LiveBatch = {
    _tag: "Live",
    id,
    seq: state.batchCount,
    endpoint,
    inputFileId,
    metadata: isRecord(metadata) ? Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])) : null,
    outputExpiresAfter: isRecord(expiresAfter) && typeof expiresAfter["seconds"] === "number"
      ? expiresAfter["seconds"]
      : undefined,
    createdAtMs: env.now,
    scriptSource: script,
    script: Scripts.resolve(script),
    requestCount: read.count,
    invalid: read.errors.length > 0,
    cancelRequestedAtMs: undefined,
    admission: Lifecycle.undecided,
    resultLines: answered.resultLines,
    tally: answered.tally,
    validationErrors: read.errors,
    model: answered.model,
    tokens: answered.tokens,
    outputFileId: null,
    errorFileId: null
  }
  const added = addBatch({ ...state, counter, nextScripts: rest }, batch)
  return [
    json(200, batchObject(batch, env.now, env.config.options)),
    idempotencyKey === undefined ? added : { ...added, idempotency: HashMap.set(state.idempotency, idempotencyKey, id) }
  ]
}

const noBatch = (id: string) => apiError(404, `No batch found with id '${id}'.`, { param: "batch_id" })

const retrieveBatch = (state: State, env: Env, id: string): Answer => {
  const batch = Option.getOrUndefined(HashMap.get(state.batches, id))
  return batch === undefined ? noBatch(id) : json(200, batchObject(batch, env.now, env.config.options))
}

const listBatches = (state: State, env: Env): Answer => {
  const { after, limit: limitText } = env.request.query
  let limit = 20
  if (limitText !== undefined) {
    const value = /^-?\d+$/.test(limitText) ? Number(limitText) : Number.NaN
    if (!Number.isSafeInteger(value) || value < 1 || value > 100) {
      return invalid("limit", `Invalid 'limit': expected an integer between 1 and 100, got '${limitText}'.`)
    }
    limit = value
  }
  let start = state.batchCount - 1
  if (after !== undefined) {
    const cursor = Option.getOrUndefined(HashMap.get(state.batches, after))
    if (cursor === undefined) return invalid("after", `Invalid 'after': no batch with id '${after}'.`)
    start = cursor.seq - 1
  }
  const data: Array<Record<string, unknown>> = []
  let seq = start
  for (; seq >= 0 && data.length < limit; seq--) {
    const batch = Option.getOrUndefined(
      Option.flatMap(HashMap.get(state.bySeq, seq), (id) => HashMap.get(state.batches, id))
    )
    if (batch !== undefined) data.push(batchObject(batch, env.now, env.config.options))
  }
  return json(200, {
    object: "list",
    data,
    first_id: data[0]?.["id"] ?? null,
    last_id: data[data.length - 1]?.["id"] ?? null,
    has_more: seq >= 0
  })
}

const cancelBatch = (state: State, env: Env, id: string): Step => {
  const batch = Option.getOrUndefined(HashMap.get(state.batches, id))
  if (batch === undefined) return [noBatch(id), state]
  const wire = batchObject(batch, env.now, env.config.options)
  const status = String(wire["status"])
  if (Batch.terminalStatuses.has(status)) {
    return [
      apiError(400, `Cannot cancel a batch with status '${status}'.`, { param: null, code: "invalid_state" }),
      state
    ]
  }
  if (status === "cancelling") return [json(200, wire), state]
  const cancelled: LiveBatch = { ...batch, cancelRequestedAtMs: env.now }
  return [json(200, batchObject(cancelled, env.now, env.config.options)), updateBatch(state, cancelled)]
}

/**
 * `/v1/batches[/{id}[/cancel]]`, or `undefined` for a method or path it does not serve.
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
    if (method === "POST") return createBatch(state, env)
    if (method === "GET") return [listBatches(state, env), state]
    return undefined
  }
  if (action === undefined && method === "GET") return [retrieveBatch(state, env, id), state]
  if (action === "cancel" && method === "POST") return cancelBatch(state, env, id)
  return undefined
}
