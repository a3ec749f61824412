/**
 * What the simulator sends: the JSON of a batch at an instant, of a file, and OpenAI's error envelope.
 *
 * @internal
 */
import { isRecord } from "./json.js"
import * as Lifecycle from "./lifecycle.js"
import type { Options, SimFile } from "./model.js"
import * as Results from "./results.js"
import type { StoredBatch } from "./state.js"
import { seconds } from "./state.js"

/** A response before transport concerns (request id, faults): status, bytes, content type. @internal */
export interface Answer {
  readonly status: number
  readonly body: Uint8Array
  readonly contentType: string
}

const encoder = new TextEncoder()

/** @internal */
export const json = (status: number, value: unknown): Answer => ({
  status,
  body: encoder.encode(JSON.stringify(value)),
  contentType: "application/json"
})

/** OpenAI's error envelope: `{ error: { message, type, param, code } }`. @internal */
export const apiError = (
  status: number,
  message: string,
  options: { readonly type?: string; readonly param?: string | null; readonly code?: string | null } = {}
): Answer =>
  json(status, {
    error: {
      message,
      type: options.type ?? "invalid_request_error",
      param: options.param ?? null,
      code: options.code ?? null
    }
  })

/** @internal */
export const missingParameter = (param: string): Answer =>
  apiError(400, `Missing required parameter: '${param}'.`, { param, code: "missing_required_parameter" })

/**
 * The 400 for an `{ anchor, seconds }` expiry that the API refuses (`param` names the field: `expires_after`,
 * `output_expires_after`), or `undefined` when it is absent or valid.
 *
 * @internal
 */
export const expiresAfterIssue = (value: unknown, param: string): Answer | undefined => {
  if (value === undefined || value === null) return undefined
  const invalid = (field: string, message: string, code = "invalid_value") =>
    apiError(400, message, { param: field, code })
  if (!isRecord(value)) return invalid(param, `Invalid type for '${param}': expected an object.`, "invalid_type")
  const s = value["seconds"]
  if (value["anchor"] !== "created_at") {
    return invalid(`${param}.anchor`, `Invalid value for '${param}.anchor': only 'created_at' is supported.`)
  }
  if (typeof s !== "number" || !Number.isInteger(s) || s < 3600 || s > 2_592_000) {
    return invalid(`${param}.seconds`, `Invalid '${param}.seconds': expected an integer between 3600 and 2592000.`)
  }
  return undefined
}

const scriptedFailure = [
  { code: "invalid_request", message: "The batch failed validation (scripted).", param: null, line: null }
] as const

/**
 * A batch as `GET /v1/batches/{id}` returns it at `now`, `usage` included (the sums over the requests done so
 * far, as the API reports them since September 2025).
 *
 * @internal
 */
export const batchObject = (
  batch: StoredBatch,
  now: number,
  options: Pick<Options, "absentErrorFileId">
): Record<string, unknown> => {
  const phase = Lifecycle.phaseAt(batch, now)
  const errors = phase.status !== "failed"
    ? undefined
    : batch.validationErrors.length > 0
    ? batch.validationErrors
    : batch.admission._tag === "Rejected"
    ? [batch.admission.error]
    : batch.script.errors ?? scriptedFailure
  const at = (ms: number | undefined) => (ms === undefined ? null : seconds(ms))
  const totals = Results.totalsAt(batch.tally, phase.processed, phase.total)
  return {
    id: batch.id,
    object: "batch",
    endpoint: batch.endpoint,
    model: batch.model ?? null,
    errors: errors === undefined ? null : { object: "list", data: errors },
    input_file_id: batch.inputFileId,
    completion_window: "24h",
    status: phase.status,
    output_file_id: phase.terminal ? batch.outputFileId : null,
    error_file_id: !phase.terminal ? null : batch.errorFileId ?? options.absentErrorFileId ?? null,
    created_at: seconds(batch.createdAtMs),
    in_progress_at: at(phase.inProgressAt),
    expires_at: seconds(batch.createdAtMs + Lifecycle.dayMs),
    finalizing_at: at(phase.finalizingAt),
    completed_at: at(phase.completedAt),
    failed_at: at(phase.failedAt),
    expired_at: at(phase.expiredAt),
    cancelling_at: at(phase.cancellingAt),
    cancelled_at: at(phase.cancelledAt),
    request_counts: totals.request_counts,
    usage: totals.usage,
    metadata: batch.metadata
  }
}

/** @internal */
export const fileObject = (file: SimFile) => ({
  id: file.id,
  object: "file",
  bytes: file.content.length,
  created_at: file.created_at,
  expires_at: file.expires_at,
  filename: file.filename,
  purpose: file.purpose,
  status: "processed",
  status_details: null
})
