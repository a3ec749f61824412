/**
 * KNOWN BUG (review of 3be5877), kept as `it.fails` until fixed: the follow-up of a cancelled batch is free when the
 * batch is `resumed` (made by an earlier run), so a re-run counts the follow-ups of a chain differently from the run
 * that made it. A batch cancelled from the dashboard while run 1 watched it was delivered `final` (its `resendWhen`
 * results went to the sink); on the re-run it is not final, its `resendWhen` results are re-sent and delivered again
 * (a second result for one custom_id, billed twice), and the re-run makes two new batches where run 1 had spent the
 * part's only follow-up. Remove `.fails` once a re-run decides the same as the run that made the batches.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Batch from "../../src/Batch.js"
import type * as History from "../../src/internal/job/history.js"
import * as Machine from "../../src/internal/job/machine.js"

const part: Machine.PartInfo = { index: 1, model: "m", requests: 10, tokens: 100, digest: "d1" }
const policy: Machine.Policy = { maxResends: 2, maxFollowUps: 1 }
const batch = (id: string, status: Batch.Batch["status"]): Batch.Batch => ({
  id,
  object: "batch",
  endpoint: "/v1/embeddings",
  input_file_id: `file-${id}`,
  completion_window: "24h",
  status,
  created_at: 1
})
const run = (events: ReadonlyArray<Machine.Event>, found: ReadonlyArray<History.Found> = []) => {
  let [state, decision] = Machine.start(part, found, policy)
  const decisions = [decision]
  for (const event of events) {
    ;[state, decision] = Machine.step(state, event)
    decisions.push(decision)
  }
  return decisions
}
const delivers = (ds: ReadonlyArray<Machine.Decision>) =>
  ds.flatMap((d) => d._tag === "Deliver" ? [`${d.batch.id}:${d.final}`] : [])

describe("re-run replays a chain as the run that made it", () => {
  it.fails("a batch cancelled while the first run watched it (delivered final) is final on the re-run too; no extra follow-ups", () => {
    // Run 1: b1 and b2 cancelled from the dashboard while it watched them.
    const first = run([
      { _tag: "Uploaded", fileId: "f1", requests: 10, tokens: 100 },
      { _tag: "Created", batch: batch("b1", "in_progress") },
      { _tag: "Ended", batch: batch("b1", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 6, failed: 0, errored: 0 } },
      { _tag: "Uploaded", fileId: "f2", requests: 4, tokens: 40 },
      { _tag: "Created", batch: batch("b2", "in_progress") },
      { _tag: "Ended", batch: batch("b2", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } }
    ])
    // Run 2, same job: it finds b1 and b2.
    const found: ReadonlyArray<History.Found> = [
      { tag: { part: 1, attempt: 1, kind: "full", digest: "d1" }, batch: batch("b1", "cancelled"), duplicates: [] },
      { tag: { part: 1, attempt: 2, kind: "missing", digest: "d1" }, batch: batch("b2", "cancelled"), duplicates: [] }
    ]
    const second = run([
      { _tag: "Ended", batch: batch("b1", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 6, failed: 0, errored: 0 } },
      { _tag: "Ended", batch: batch("b2", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } },
      { _tag: "Uploaded", fileId: "f3", requests: 3, tokens: 30 },
      { _tag: "Created", batch: batch("b3", "in_progress") },
      { _tag: "Ended", batch: batch("b3", "completed") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } }
    ], found)
    assert.deepStrictEqual(delivers(second).slice(0, 2), delivers(first))
    // At most one new batch (b3, for what has no result yet), and it is final: the follow-up run 1 spent stays spent.
    assert.deepStrictEqual(delivers(second)[2], "b3:true")
    assert.strictEqual(second[second.length - 1]?._tag, "Done")
  })
})
