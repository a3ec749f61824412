/**
 * The simulator's lifecycle as a pure function of time, tested directly: no HTTP, no Clock, no state.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Lifecycle from "../../src/testing/internal/lifecycle.js"
import * as Scripts from "../../src/testing/internal/script.js"

const minute = 60_000
const t0 = 1_000_000

const batch = (overrides: Partial<Lifecycle.LifecycleBatch> = {}): Lifecycle.LifecycleBatch => ({
  createdAtMs: t0,
  script: Scripts.resolve({}),
  requestCount: 100,
  invalid: false,
  cancelRequestedAtMs: undefined,
  admission: Lifecycle.admitted,
  ...overrides
})

const at = (b: Lifecycle.LifecycleBatch, ms: number) => {
  const phase = Lifecycle.phaseAt(b, t0 + ms)
  return `${phase.status} ${phase.processed}/${phase.total}`
}

describe("lifecycle", () => {
  it("the default script: validating 30 s, in_progress 5 min at an even pace, finalizing 30 s, completed", () => {
    const b = batch()
    assert.deepStrictEqual(
      [0, 29_999, 30_000, 30_000 + 150_000, 329_999, 330_000, 359_999, 360_000, 100 * minute].map((ms) => at(b, ms)),
      [
        "validating 0/0",
        "validating 0/0",
        "in_progress 0/100",
        "in_progress 50/100",
        "in_progress 99/100",
        "finalizing 100/100",
        "finalizing 100/100",
        "completed 100/100",
        "completed 100/100"
      ]
    )
    const done = Lifecycle.phaseAt(b, t0 + 360_000)
    assert.deepStrictEqual(
      [done.inProgressAt, done.finalizingAt, done.completedAt, done.endedAt],
      [t0 + 30_000, t0 + 330_000, t0 + 360_000, t0 + 360_000]
    )
    assert.strictEqual(Lifecycle.endOf(b), t0 + 360_000)
  })

  it("a cancel keeps what was processed; the batch ends cancellingMs later; endOf agrees with phaseAt", () => {
    const b = batch({ cancelRequestedAtMs: t0 + 30_000 + 60_000 })
    assert.strictEqual(at(b, 90_000), "cancelling 20/100")
    assert.strictEqual(at(b, 90_000 + 119_999), "cancelling 20/100")
    assert.strictEqual(at(b, 90_000 + 120_000), "cancelled 20/100")
    assert.strictEqual(Lifecycle.endOf(b), t0 + 90_000 + 120_000)
    // cancelled while validating: it never ran, and never reaches the enqueued-limit check
    const early = batch({ cancelRequestedAtMs: t0 + 10_000 })
    assert.strictEqual(at(early, 200_000), "cancelled 0/0")
    assert.isFalse(Lifecycle.reachesAdmission(early))
    assert.isTrue(Lifecycle.reachesAdmission(b))
  })

  it("a rejected admission fails the batch when validation ends, with nothing processed", () => {
    const error = { code: "token_limit_exceeded", message: "full", param: null, line: null }
    const b = batch({ admission: { _tag: "Rejected", error } })
    assert.strictEqual(at(b, 29_999), "validating 0/0")
    const failed = Lifecycle.phaseAt(b, t0 + 30_000)
    assert.strictEqual(failed.status, "failed")
    assert.strictEqual(failed.failedAt, t0 + 30_000)
    assert.isUndefined(failed.inProgressAt)
    assert.strictEqual(Lifecycle.endOf(b), t0 + 30_000)
  })

  it("outcome expired: in progress until expires_at with half done; a 48 h in_progress expires too", () => {
    const expiring = batch({ script: Scripts.resolve({ outcome: "expired" }) })
    assert.strictEqual(at(expiring, Lifecycle.dayMs - 1), "in_progress 49/100")
    assert.strictEqual(at(expiring, Lifecycle.dayMs), "expired 50/100")
    const slow = batch({ script: Scripts.resolve({ inProgress: "48 hours" }) })
    assert.strictEqual(Lifecycle.phaseAt(slow, t0 + Lifecycle.dayMs).status, "expired")
    assert.isUndefined(Lifecycle.phaseAt(slow, t0 + Lifecycle.dayMs).finalizingAt)
  })

  describe("decideAdmissions", () => {
    const limits = { tokens: 1000, requests: undefined }
    const enq = (id: string, seq: number, validationEnd: number, end: number, tokens: number, model = "m") => ({
      id,
      seq,
      model,
      tokens,
      requests: 1,
      validationEnd,
      end
    })

    it("decides in the order validations END, not the order of creation or of the input", () => {
      // b was created second but validates first: it is admitted, and a (600 + 600 > 1000) is the one rejected
      const a = enq("a", 0, 100, 1000, 600)
      const b = enq("b", 1, 50, 1000, 600)
      for (const input of [[a, b], [b, a]]) {
        const rejected = Lifecycle.decideAdmissions(input, [], limits)
        assert.deepStrictEqual([...rejected.keys()], ["a"])
        assert.strictEqual(rejected.get("a")?.code, "token_limit_exceeded")
      }
      // the same instant: creation order breaks the tie
      const rejected = Lifecycle.decideAdmissions([enq("y", 2, 50, 1000, 600), enq("x", 1, 50, 1000, 600)], [], limits)
      assert.deepStrictEqual([...rejected.keys()], ["y"])
    })

    it("a batch that ended by then does not count (ending AT the instant counts as ended); other models do not count", () => {
      const ended = enq("old", 0, 0, 100, 900)
      assert.strictEqual(Lifecycle.decideAdmissions([enq("new", 1, 100, 500, 900)], [ended], limits).size, 0)
      assert.strictEqual(Lifecycle.decideAdmissions([enq("new", 1, 99, 500, 900)], [ended], limits).size, 1)
      assert.strictEqual(Lifecycle.decideAdmissions([enq("new", 1, 99, 500, 900, "other")], [ended], limits).size, 0)
      // exactly at the limit is allowed
      assert.strictEqual(Lifecycle.decideAdmissions([enq("new", 1, 50, 500, 100)], [ended], limits).size, 0)
    })

    it("a rejected batch does not count against the ones after it", () => {
      const rejected = Lifecycle.decideAdmissions(
        [enq("a", 0, 10, 1000, 700), enq("b", 1, 20, 1000, 700), enq("c", 2, 30, 1000, 300)],
        [],
        limits
      )
      assert.deepStrictEqual([...rejected.keys()], ["b"])
    })

    it("per-model maps with a '*' fallback; request limits; the API's message with thousands separators", () => {
      const perModel = { tokens: { "gpt-4o-mini": 2_000_000, "*": 10 }, requests: 3 }
      const big = enq("big", 0, 10, 1000, 2_000_001, "gpt-4o-mini")
      const small = enq("small", 1, 10, 1000, 11, "text-embedding-3-small")
      const unknown = { ...enq("x", 2, 10, 1000, 5, "constructor"), requests: 4 }
      const rejected = Lifecycle.decideAdmissions([big, small, unknown], [], perModel)
      assert.strictEqual(
        rejected.get("big")?.message,
        "Enqueued token limit reached for gpt-4o-mini in organization org-simulator. Limit: 2,000,000 enqueued tokens. Please try again once some in_progress batches have been completed."
      )
      assert.strictEqual(rejected.get("small")?.code, "token_limit_exceeded")
      assert.deepStrictEqual(rejected.get("x"), {
        code: "request_limit_exceeded",
        message:
          "Enqueued request limit reached for constructor in organization org-simulator. Limit: 3 enqueued requests. Please try again once some in_progress batches have been completed.",
        param: null,
        line: null
      })
      assert.strictEqual(Lifecycle.limitFor({ "gpt-4o-mini": 5 }, "other"), undefined)
    })

    it("enqueuedAt counts admitted batches whose validation ended and that have not ended", () => {
      const ledger = [enq("a", 0, 10, 100, 300), enq("b", 1, 50, 200, 400), enq("c", 2, 10, 100, 999, "other")]
      assert.deepStrictEqual(Lifecycle.enqueuedAt(ledger, "m", 9), { tokens: 0, requests: 0, batches: 0 })
      assert.deepStrictEqual(Lifecycle.enqueuedAt(ledger, "m", 60), { tokens: 700, requests: 2, batches: 2 })
      assert.deepStrictEqual(Lifecycle.enqueuedAt(ledger, "m", 100), { tokens: 400, requests: 1, batches: 1 })
      assert.deepStrictEqual(Lifecycle.enqueuedAt(ledger, "m", 200), { tokens: 0, requests: 0, batches: 0 })
    })
  })
})
