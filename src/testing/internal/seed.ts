/**
 * Seeded batches: fixed snapshots added straight to the state (no requests, no lifecycle), for list and
 * pagination tests that need many batches in every status.
 *
 * @internal
 */
import * as Batch from "../../Batch.js"
import type { SeedOptions } from "./model.js"
import type { SeededBatch, State } from "./state.js"
import { addBatch, batchIdOf, seconds } from "./state.js"

/**
 * Adds `options.count` batches, oldest first, the newest created at `now`; returns their ids.
 *
 * @internal
 */
export const seedBatches = (
  state: State,
  options: SeedOptions,
  now: number
): readonly [ReadonlyArray<string>, State] => {
  const status = options.status ?? "completed"
  const endpoint = options.endpoint ?? "/v1/chat/completions"
  const spacing = options.spacingSeconds ?? 60
  const nowSeconds = seconds(now)
  const ids: Array<string> = []
  let next = state
  for (let i = 0; i < options.count; i++) {
    const counter = next.counter + 1
    const id = batchIdOf(counter)
    const created = nowSeconds - (options.count - 1 - i) * spacing
    const ran = status !== "validating" && status !== "failed"
    const ended = Batch.terminalStatuses.has(status)
    const total = ran ? 10 : 0
    const completed = status === "completed" ? 10 : ran && ended ? 5 : 0
    const wire: Record<string, unknown> = {
      id,
      object: "batch",
      endpoint,
      model: null,
      errors: status === "failed"
        ? { object: "list", data: [{ code: "invalid_json_line", message: "Seeded failure.", param: null, line: 1 }] }
        : null,
      input_file_id: `file-seed${counter.toString(36)}`,
      completion_window: "24h",
      status,
      output_file_id: null,
      error_file_id: null,
      created_at: created,
      in_progress_at: ran ? created + 30 : null,
      expires_at: created + 86_400,
      finalizing_at: status === "finalizing" || status === "completed" ? created + 330 : null,
      completed_at: status === "completed" ? created + 360 : null,
      failed_at: status === "failed" ? created + 30 : null,
      expired_at: status === "expired" ? created + 86_400 : null,
      cancelling_at: status === "cancelling" || status === "cancelled" ? created + 60 : null,
      cancelled_at: status === "cancelled" ? created + 180 : null,
      request_counts: { total, completed, failed: 0 },
      metadata: options.metadata === undefined ? null : { ...options.metadata }
    }
    const seeded: SeededBatch = { _tag: "Seeded", id, seq: next.batchCount, wire }
    next = addBatch({ ...next, counter }, seeded)
    ids.push(id)
  }
  return [ids, next]
}
