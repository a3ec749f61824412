/**
 * The part machine as a fold, without the simulator: events in, decisions out.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Batch from "../../src/Batch.js"
import type * as History from "../../src/internal/job/history.js"
import * as Machine from "../../src/internal/job/machine.js"

const part: Machine.PartInfo = { index: 1, model: "m", requests: 10, tokens: 100, digest: "d1" }
const policy: Machine.Policy = { maxResends: 2, maxFollowUps: 1 }

const batch = (id: string, status: Batch.Batch["status"], extra: Partial<Batch.Batch> = {}): Batch.Batch => ({
  id,
  object: "batch",
  endpoint: "/v1/embeddings",
  input_file_id: `file-${id}`,
  completion_window: "24h",
  status,
  created_at: 1,
  ...extra
})

const limitFailed = (id: string) =>
  batch(id, "failed", {
    errors: { object: "list", data: [{ code: "token_limit_exceeded", message: "Enqueued token limit reached" }] }
  })

/** Feeds `events` from the start and returns every decision. */
const run = (
  events: ReadonlyArray<Machine.Event>,
  found: ReadonlyArray<History.Found> = []
): ReadonlyArray<Machine.Decision> => {
  let [state, decision] = Machine.start(part, found, policy)
  const decisions = [decision]
  for (const event of events) {
    ;[state, decision] = Machine.step(state, event)
    decisions.push(decision)
  }
  return decisions
}

const tags = (decisions: ReadonlyArray<Machine.Decision>) => decisions.map((d) => d._tag)
const last = (decisions: ReadonlyArray<Machine.Decision>) => decisions[decisions.length - 1]!

describe("the part machine", () => {
  it("upload, create, await, deliver: done when every request has a result", () => {
    const decisions = run([
      { _tag: "Uploaded", fileId: "f1", requests: 10, tokens: 100 },
      { _tag: "Created", batch: batch("b1", "validating") },
      { _tag: "Ended", batch: batch("b1", "completed") },
      { _tag: "Delivered", counts: { succeeded: 9, failed: 1, errored: 0 } }
    ])
    assert.deepStrictEqual(tags(decisions), ["Upload", "Create", "Await", "Deliver", "Done"])
    const create = decisions[1]
    assert.deepStrictEqual(create?._tag === "Create" ? [create.attempt, create.fileId, create.claim.tokens] : [], [
      1,
      "f1",
      100
    ])
    const deliver = decisions[3]
    // A follow-up may still replace results: not final.
    assert.isFalse(deliver?._tag === "Deliver" && deliver.final)
    const done = last(decisions)
    assert.deepStrictEqual(
      done._tag === "Done"
        ? [done.summary.status, done.summary.succeeded, done.summary.failed, done.summary.missing]
        : [],
      ["completed", 9, 1, 0]
    )
  })

  it("an expired batch: its results, then a follow-up of what is missing (final, the last allowed), then partial", () => {
    const decisions = run([
      { _tag: "Uploaded", fileId: "f1", requests: 10, tokens: 100 },
      { _tag: "Created", batch: batch("b1", "in_progress") },
      { _tag: "Ended", batch: batch("b1", "expired") },
      { _tag: "Delivered", counts: { succeeded: 6, failed: 0, errored: 0 } },
      { _tag: "Uploaded", fileId: "f2", requests: 4, tokens: 40 },
      { _tag: "Created", batch: batch("b2", "validating") },
      { _tag: "Ended", batch: batch("b2", "expired") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } }
    ])
    assert.deepStrictEqual(tags(decisions), [
      "Upload",
      "Create",
      "Await",
      "Deliver",
      "Upload",
      "Create",
      "Await",
      "Deliver",
      "Done"
    ])
    const followUp = decisions[4]
    assert.deepStrictEqual(followUp?._tag === "Upload" ? [followUp.attempt, followUp.kind, followUp.missing] : [], [
      2,
      "missing",
      4
    ])
    const create = decisions[5]
    assert.deepStrictEqual(create?._tag === "Create" ? [create.kind, create.claim.requests] : [], ["missing", 4])
    assert.isTrue(decisions[7]?._tag === "Deliver" && decisions[7].final)
    const done = last(decisions)
    assert.deepStrictEqual(
      done._tag === "Done" ? [done.summary.status, done.summary.missing, done.summary.followUps] : [],
      ["partial", 3, 1]
    )
  })

  it("a late limit failure is created again from the same file and claim, up to maxResends, then fails the part", () => {
    const decisions = run([
      { _tag: "Uploaded", fileId: "f1", requests: 10, tokens: 100 },
      { _tag: "Created", batch: limitFailed("b1") },
      { _tag: "Ended", batch: limitFailed("b1") },
      { _tag: "Created", batch: batch("b2", "validating") },
      { _tag: "Ended", batch: limitFailed("b2") },
      { _tag: "Created", batch: batch("b3", "validating") },
      { _tag: "Ended", batch: limitFailed("b3") }
    ])
    assert.deepStrictEqual(tags(decisions), ["Upload", "Create", "Await", "Create", "Await", "Create", "Await", "Fail"])
    const resend = decisions[3]
    assert.deepStrictEqual(
      resend?._tag === "Create" ? [resend.attempt, resend.fileId, resend.resend, resend.claim.tokens] : [],
      [2, "file-b1", "token_limit_exceeded", 100]
    )
    const failed = last(decisions)
    assert.deepStrictEqual(failed._tag === "Fail" ? [failed.reason, failed.batch?.id] : [], ["limits", "b3"])
  })

  it("any other failure, or a refused create, fails the part with its reason", () => {
    const invalid = batch("b1", "failed", {
      errors: { object: "list", data: [{ code: "invalid_request", message: "bad line", line: 3 }] }
    })
    const failed = last(run([
      { _tag: "Uploaded", fileId: "f1", requests: 10, tokens: 100 },
      { _tag: "Created", batch: invalid },
      { _tag: "Ended", batch: invalid }
    ]))
    assert.strictEqual(failed._tag, "Fail")
    if (failed._tag === "Fail") {
      assert.strictEqual(failed.reason, "failed")
      assert.include(failed.message, "invalid_request: bad line (line 3 of its input file)")
      assert.strictEqual(failed.summary.status, "failed")
    }
    const refused = last(run([
      { _tag: "Uploaded", fileId: "f1", requests: 10, tokens: 100 },
      { _tag: "Rejected", message: "createBatch: 400" }
    ]))
    assert.deepStrictEqual(refused._tag === "Fail" ? refused.reason : undefined, "rejected")
  })

  it("a re-run takes an earlier run's batches first, counting a re-send after a limit failure, then goes on", () => {
    const found: ReadonlyArray<History.Found> = [
      { tag: { part: 1, attempt: 1, kind: "full", digest: "d1" }, batch: limitFailed("b1"), duplicates: [] },
      { tag: { part: 1, attempt: 2, kind: "full", digest: "d1" }, batch: batch("b2", "in_progress"), duplicates: [] }
    ]
    const decisions = run([
      { _tag: "Ended", batch: limitFailed("b1") },
      { _tag: "Ended", batch: batch("b2", "completed") },
      { _tag: "Delivered", counts: { succeeded: 10, failed: 0, errored: 0 } }
    ], found)
    assert.deepStrictEqual(tags(decisions), ["Await", "Await", "Deliver", "Done"])
    assert.isTrue(decisions.slice(0, 2).every((d) => d._tag === "Await" && d.resumed))
    const done = last(decisions)
    assert.deepStrictEqual(
      done._tag === "Done" ? [done.summary.resends, done.summary.attempts.map((a) => a.resumed)] : [],
      [1, [true, true]]
    )
  })

  it("batches cancelled by interrupted runs do not use up the follow-ups: a re-run sends what is still missing", () => {
    // Three runs, each interrupted (its batches cancelled on exit) after some results: the fourth run finds them all.
    const cancelled = (id: string, attempt: number, kind: "full" | "missing"): History.Found => ({
      tag: { part: 1, attempt, kind, digest: "d1" },
      batch: batch(id, "cancelled"),
      duplicates: []
    })
    const found = [cancelled("b1", 1, "full"), cancelled("b2", 2, "missing"), cancelled("b3", 3, "missing")]
    const decisions = run([
      { _tag: "Ended", batch: batch("b1", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 3, failed: 0, errored: 0 } },
      { _tag: "Ended", batch: batch("b2", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 2, failed: 0, errored: 0 } },
      { _tag: "Ended", batch: batch("b3", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } }
    ], found)
    assert.deepStrictEqual(tags(decisions), ["Await", "Deliver", "Await", "Deliver", "Await", "Deliver", "Upload"])
    const upload = last(decisions)
    assert.deepStrictEqual(upload._tag === "Upload" ? [upload.attempt, upload.kind, upload.missing] : [], [
      4,
      "missing",
      4
    ])
    // None of those deliveries is final: a follow-up may still replace their results.
    assert.isTrue(decisions.every((d) => d._tag !== "Deliver" || !d.final))
  })

  it("a re-run replays a chain as the run that made it: the same deliveries, final or not, and the same count", () => {
    // Run 1: b1 and b2 cancelled from the dashboard while it watched them, then b3 and b4 expired.
    const first = run([
      { _tag: "Uploaded", fileId: "f1", requests: 10, tokens: 100 },
      { _tag: "Created", batch: batch("b1", "in_progress") },
      { _tag: "Ended", batch: batch("b1", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 6, failed: 0, errored: 0 } },
      { _tag: "Uploaded", fileId: "f2", requests: 4, tokens: 40 },
      { _tag: "Created", batch: batch("b2", "in_progress") },
      { _tag: "Ended", batch: batch("b2", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } },
      { _tag: "Uploaded", fileId: "f3", requests: 3, tokens: 30 },
      { _tag: "Created", batch: batch("b3", "in_progress") },
      { _tag: "Ended", batch: batch("b3", "expired") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } },
      { _tag: "Uploaded", fileId: "f4", requests: 2, tokens: 20 },
      { _tag: "Created", batch: batch("b4", "in_progress") },
      { _tag: "Ended", batch: batch("b4", "expired") },
      { _tag: "Delivered", counts: { succeeded: 0, failed: 0, errored: 0 } }
    ])
    const delivers = (decisions: ReadonlyArray<Machine.Decision>) =>
      decisions.flatMap((d) => d._tag === "Deliver" ? [`${d.batch.id}:${d.final}`] : [])
    // The cancels cost no follow-up; the expired b3's follow-up (b4) spends the only one: b4's delivery is final.
    assert.deepStrictEqual(delivers(first), ["b1:false", "b2:false", "b3:false", "b4:true"])
    assert.strictEqual(last(first)._tag, "Done")
    // Run 2, the same job: it finds the four batches and decides as run 1 did, making none.
    const found: ReadonlyArray<History.Found> = [
      { tag: { part: 1, attempt: 1, kind: "full", digest: "d1" }, batch: batch("b1", "cancelled"), duplicates: [] },
      { tag: { part: 1, attempt: 2, kind: "missing", digest: "d1" }, batch: batch("b2", "cancelled"), duplicates: [] },
      { tag: { part: 1, attempt: 3, kind: "missing", digest: "d1" }, batch: batch("b3", "expired"), duplicates: [] },
      { tag: { part: 1, attempt: 4, kind: "missing", digest: "d1" }, batch: batch("b4", "expired"), duplicates: [] }
    ]
    const second = run([
      { _tag: "Ended", batch: batch("b1", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 6, failed: 0, errored: 0 } },
      { _tag: "Ended", batch: batch("b2", "cancelled") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } },
      { _tag: "Ended", batch: batch("b3", "expired") },
      { _tag: "Delivered", counts: { succeeded: 1, failed: 0, errored: 0 } },
      { _tag: "Ended", batch: batch("b4", "expired") },
      { _tag: "Delivered", counts: { succeeded: 0, failed: 0, errored: 0 } }
    ], found)
    assert.deepStrictEqual(delivers(second), delivers(first))
    const done = last(second)
    assert.deepStrictEqual(done._tag === "Done" ? [done.summary.status, done.summary.missing] : [], ["partial", 2])
  })

  it("a batch made from other requests (another digest) is reported, not taken", () => {
    const found: ReadonlyArray<History.Found> = [
      { tag: { part: 1, attempt: 1, kind: "full", digest: "other" }, batch: batch("b1", "completed"), duplicates: [] }
    ]
    const [decision] = run([], found)
    assert.deepStrictEqual(decision?._tag === "Changed" ? [decision.batch.id, decision.found] : [], ["b1", "other"])
  })
})
