import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import * as BatchLine from "../../src/BatchLine.js"
import * as JobBudget from "../../src/JobBudget.js"

describe("JobBudget.estimateTokens", () => {
  it("counts the prompt at 3 characters per token, rounded up, plus the most the request may generate", () => {
    const chat = BatchLine.chatCompletion("a", {
      model: "m",
      messages: [{ role: "system", content: "x".repeat(10) }, {
        role: "user",
        content: [{ type: "text", text: "y".repeat(11) }]
      }],
      max_completion_tokens: 100,
      n: 2
    })
    assert.strictEqual(JobBudget.estimateTokens(chat), Math.ceil(21 / 3) + 200)
    assert.strictEqual(JobBudget.estimateTokens(BatchLine.embedding("e", { model: "m", input: ["abcd", "ef"] })), 2)
    assert.strictEqual(JobBudget.estimateTokens(BatchLine.embedding("t", { model: "m", input: [1, 2, 3, 4] })), 4)
    assert.strictEqual(
      JobBudget.estimateTokens(BatchLine.response("r", { model: "m", input: "z".repeat(9), max_output_tokens: 5 })),
      8
    )
    assert.strictEqual(JobBudget.estimateTokens(BatchLine.embedding("c", { model: "m", input: "abcdef" }), 2), 3)
  })

  it("budgets: one for all, per model with a '*' fallback, or a function; invalid ones are explained", () => {
    assert.deepStrictEqual(JobBudget.budgetOf({ tokens: 5 }, "any"), { tokens: 5 })
    assert.deepStrictEqual(JobBudget.budgetOf({ a: { tokens: 1 }, "*": { tokens: 2 } }, "b"), { tokens: 2 })
    assert.deepStrictEqual(JobBudget.budgetOf((model) => ({ requests: model.length }), "abc"), { requests: 3 })
    assert.deepStrictEqual(JobBudget.budgetOf(undefined, "x"), {})
    assert.include(JobBudget.budgetIssue({ tokens: -1 }, 0.95) ?? "", "positive")
    assert.include(JobBudget.budgetIssue({ tokens: 1 }, 0.5) ?? "", "room for nothing")
    assert.include(JobBudget.budgetIssue({}, 1.5) ?? "", "safety factor")
    assert.isUndefined(JobBudget.budgetIssue({ tokens: 2_000_000 }, 0.95))
  })
})

describe("JobBudget ledger", () => {
  const claim = (model: string, tokens: number): JobBudget.Claim => ({ model, tokens, requests: 1 })

  it.effect("admits first come, first served per model, never over the usable budget; models do not block each other", () =>
    Effect.gen(function*() {
      const ledger = yield* JobBudget.makeLedger({ a: { tokens: 100 } }, 1)
      const order: Array<string> = []
      const take = (name: string, c: JobBudget.Claim) =>
        Effect.fork(Effect.tap(ledger.reserve(c), () => Effect.sync(() => order.push(name))))
      yield* ledger.reserve(claim("a", 60))
      const big = yield* take("big", claim("a", 50))
      // A small claim that would fit does not overtake the waiting one.
      const small = yield* take("small", claim("a", 10))
      const other = yield* take("other-model", claim("b", 1_000_000))
      yield* Fiber.join(other)
      assert.deepStrictEqual(order, ["other-model"])
      assert.strictEqual((yield* ledger.usage("a")).waiting, 2)
      yield* ledger.release(claim("a", 60))
      yield* Fiber.join(big)
      yield* Fiber.join(small)
      assert.deepStrictEqual(order, ["other-model", "big", "small"])
      const usage = yield* ledger.usage("a")
      assert.deepStrictEqual([usage.tokens, usage.tokenBudget, usage.waiting, usage.released], [60, 100, 0, 1])
    }))

  it.effect("an interrupted waiter leaves the queue; reserveNow takes a claim at once; awaitRelease wakes on a release or times out", () =>
    Effect.gen(function*() {
      const ledger = yield* JobBudget.makeLedger({ tokens: 10 })
      yield* ledger.reserve(claim("m", 9))
      const stuck = yield* Effect.fork(ledger.reserve(claim("m", 9)))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(stuck)
      assert.strictEqual((yield* ledger.usage("m")).waiting, 0)
      yield* ledger.reserveNow(claim("m", 5))
      assert.strictEqual((yield* ledger.usage("m")).tokens, 14)
      const released = (yield* ledger.usage("m")).released
      const woken = yield* Effect.fork(ledger.awaitRelease("m", released, "1 hour"))
      yield* ledger.release(claim("m", 5))
      yield* Fiber.join(woken)
      const timedOut = yield* Effect.fork(ledger.awaitRelease("m", released + 1, "10 minutes"))
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.join(timedOut)
      assert.strictEqual((yield* ledger.usage("m")).released, released + 1)
    }))
})
