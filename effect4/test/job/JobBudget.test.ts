import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as BatchLine from "../../src/BatchLine.js"
import * as Budgets from "../../src/internal/job/budgets.js"
import * as Ledger from "../../src/internal/job/ledger.js"
import * as JobBudget from "../../src/JobBudget.js"
import * as TokenEstimate from "../../src/TokenEstimate.js"

describe("TokenEstimate.estimateTokens", () => {
  it("counts each string's pieces, the chat format's overhead, and the most the request may generate", () => {
    const chat = BatchLine.chatCompletion("a", {
      model: "m",
      messages: [{ role: "system", content: "x".repeat(10) }, {
        role: "user",
        content: [{ type: "text", text: "y".repeat(11) }]
      }],
      max_completion_tokens: 100,
      n: 2
    })
    // each string: 1, plus 1 per 3 letters (rounded up): "system" 3, "x" * 10 5, "user" 3, "y" * 11 5
    // the reply 3, each message 3: 3 + (3 + 3 + 5) + (3 + 3 + 5), then 100 twice
    assert.strictEqual(TokenEstimate.estimateTokens(chat), 25 + 200)
    // embeddings: every string on its own, no overhead; a token id is a token
    assert.strictEqual(
      TokenEstimate.estimateTokens(BatchLine.embedding("e", { model: "m", input: ["abcd", "ef"] })),
      3 + 2
    )
    assert.strictEqual(TokenEstimate.estimateTokens(BatchLine.embedding("t", { model: "m", input: [1, 2, 3, 4] })), 4)
    // a string input is one user message: the reply 3, the message 3, "user" 3, "z" * 9 4, then 5
    assert.strictEqual(
      TokenEstimate.estimateTokens(BatchLine.response("r", { model: "m", input: "z".repeat(9), max_output_tokens: 5 })),
      13 + 5
    )
    assert.strictEqual(
      TokenEstimate.estimateTokens(BatchLine.embedding("c", { model: "m", input: "abcdef" }), 2),
      1 + 3
    )
  })

  it("budgets: one for all, per model with a '*' fallback, or a function; invalid ones are explained", () => {
    assert.deepStrictEqual(Budgets.budgetOf({ tokens: 5 }, "any"), { tokens: 5 })
    assert.deepStrictEqual(Budgets.budgetOf({ a: { tokens: 1 }, "*": { tokens: 2 } }, "b"), { tokens: 2 })
    assert.deepStrictEqual(Budgets.budgetOf((model) => ({ requests: model.length }), "abc"), { requests: 3 })
    assert.deepStrictEqual(Budgets.budgetOf(undefined, "x"), {})
    assert.include(Budgets.budgetIssue({ tokens: -1 }, 0.95) ?? "", "positive")
    assert.include(Budgets.budgetIssue({ tokens: 1 }, 0.5) ?? "", "room for nothing")
    assert.include(Budgets.safetyFactorIssue(1.5) ?? "", "(0, 1]")
    assert.isUndefined(Budgets.budgetIssue({ tokens: 2_000_000 }, 0.95))
  })
})

describe("JobBudget ledger", () => {
  const claim = (model: string, tokens: number): JobBudget.Claim => ({ model, tokens, requests: 1 })
  const ceiling = (tokens: number): JobBudget.Ceiling => ({ tokens, requests: Infinity })
  const none = ceiling(Infinity)
  const ended: JobBudget.ReleaseOutcome = { _tag: "Ended" }
  const limitReached: JobBudget.ReleaseOutcome = { _tag: "LimitReached", dimension: "tokens" }

  it.effect("admits first come, first served per model, never over the ceiling; models do not block each other", () =>
    Effect.gen(function*() {
      const ledger = yield* JobBudget.make
      const order: Array<string> = []
      const take = (name: string, c: JobBudget.Claim, limit = ceiling(100)) =>
        Effect.forkChild(Effect.tap(ledger.reserve(c, limit), () => Effect.sync(() => order.push(name))))
      const first = yield* ledger.reserve(claim("a", 60), ceiling(100))
      const big = yield* take("big", claim("a", 50))
      // A small claim that would fit does not overtake the waiting one.
      const small = yield* take("small", claim("a", 10))
      const other = yield* take("other-model", claim("b", 1_000_000), none)
      yield* Fiber.join(other)
      assert.deepStrictEqual(order, ["other-model"])
      assert.strictEqual((yield* ledger.usage("a")).waiting, 2)
      yield* first.release(ended)
      yield* Fiber.join(big)
      yield* Fiber.join(small)
      assert.deepStrictEqual(order, ["other-model", "big", "small"])
      const usage = yield* ledger.usage("a", ceiling(100))
      assert.deepStrictEqual([usage.tokens, usage.tokenBudget, usage.waiting, usage.completed], [60, 100, 0, 1])
    }))

  it.effect("an interrupted waiter leaves the queue; reserveNow takes a claim at once; a reservation is released once", () =>
    Effect.gen(function*() {
      const ledger = yield* JobBudget.make
      yield* ledger.reserve(claim("m", 9), ceiling(10))
      const stuck = yield* Effect.forkChild(ledger.reserve(claim("m", 9), ceiling(10)))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(stuck)
      assert.strictEqual((yield* ledger.usage("m")).waiting, 0)
      const now = yield* ledger.reserveNow(claim("m", 5), ceiling(10))
      assert.strictEqual((yield* ledger.usage("m")).tokens, 14)
      yield* now.release(ended)
      yield* now.release(ended)
      assert.deepStrictEqual([(yield* ledger.usage("m")).tokens, (yield* ledger.usage("m")).completed], [9, 1])
    }))

  it.effect("two jobs with their own ceilings share the reserved total: neither over-admits", () =>
    Effect.gen(function*() {
      const ledger = yield* JobBudget.make
      yield* ledger.reserve(claim("m", 60), ceiling(100))
      // The second job believes it has 100 of its own: the 60 the first holds count against it too.
      const second = yield* Effect.forkChild(ledger.reserve(claim("m", 60), ceiling(100)))
      yield* Effect.yieldNow
      assert.strictEqual((yield* ledger.usage("m")).waiting, 1)
      yield* Fiber.interrupt(second)
    }))

  it.effect("a late limit failure lowers the limit to what stays in flight: a failure frees no room, an end does", () =>
    Effect.gen(function*() {
      const ledger = yield* JobBudget.make
      // Four parts of 25 admitted under a ceiling of 100; the API's real room is 50.
      const parts = yield* Effect.forEach([1, 2, 3, 4], () => ledger.reserve(claim("m", 25), ceiling(100)))
      const [a, b, c, d] = parts
      // The third fails at validation: 75 stay in flight (the fourth has not validated yet).
      yield* c!.release(limitReached)
      let usage = yield* ledger.usage("m", ceiling(100))
      assert.deepStrictEqual([usage.tokens, usage.tokenBudget, usage.learned, usage.limitFailures], [75, 75, true, 1])
      // Its re-send waits: 75 + 25 is over 75.
      const resend = yield* Effect.forkChild(ledger.reserve(claim("m", 25), ceiling(100)))
      yield* Effect.yieldNow
      // The fourth fails too: the limit drops to 50, and the released 25 is no room for the re-send.
      yield* d!.release(limitReached)
      yield* Effect.yieldNow
      usage = yield* ledger.usage("m", ceiling(100))
      assert.deepStrictEqual([usage.tokens, usage.tokenBudget, usage.waiting], [50, 50, 1])
      // A batch that ends frees room (and the limit grows back by 25² / 50, halved after the second failure).
      yield* a!.release(ended)
      yield* Fiber.join(resend)
      usage = yield* ledger.usage("m", ceiling(100))
      assert.deepStrictEqual([usage.tokens, usage.tokenBudget, usage.waiting], [50, 56.25, 0])
      yield* b!.release(ended)
    }))

  it.effect("the limit grows back as batches end, ever slower after each failure, and is forgotten at the ceiling", () =>
    Effect.gen(function*() {
      const state = (learned: number, streak: number) => ({
        tokens: 0,
        requests: 0,
        queue: [],
        learned: { tokens: learned, requests: Infinity },
        named: { tokens: Infinity, requests: Infinity },
        ceiling: { tokens: 100, requests: Infinity },
        streak,
        completed: 0,
        limitFailures: streak
      })
      const grown = (learned: number, streak: number) =>
        Ledger.released(state(learned, streak), claim("m", 10), ended).learned.tokens
      // One claim per window of completions: 10 × 10 / 50 = 2, halved at each further failure.
      assert.strictEqual(grown(50, 1), 52)
      assert.strictEqual(grown(50, 2), 51)
      assert.strictEqual(grown(50, 3), 50.5)
      // Reaching the largest ceiling forgets the learned limit.
      assert.strictEqual(grown(99, 1), Infinity)
      // A failure message that names the limit caps it (times the safety factor, applied by the job).
      const named = Ledger.released(state(Infinity, 0), claim("m", 10), {
        _tag: "LimitReached",
        dimension: "tokens",
        named: 40
      })
      assert.deepStrictEqual([named.named.tokens, named.learned.tokens, named.streak], [40, 1, 1])
    }))
})
