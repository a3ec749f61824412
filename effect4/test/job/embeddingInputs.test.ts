/**
 * An embeddings batch holds at most 50,000 *inputs* (an array input counts each item): the planner counts them and
 * cuts a part before it would exceed the cap, refuses a single request over it before anything is uploaded, and a
 * job of many multi-input lines completes on the simulator (which enforces the cap as the API does).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Stream } from "effect"
import * as BatchLine from "../../src/BatchLine.js"
import { embeddingInputs } from "../../src/internal/requestCheck.js"
import * as Job from "../../src/Job.js"
import * as JobPlan from "../../src/JobPlan.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { drive, model, poll, processOver, tempDir } from "./support.js"

const endpoint = "/v1/embeddings" as const

/** A request of `n` string inputs. */
const many = (i: number, n: number) =>
  BatchLine.embedding(`doc-${i}`, { model, input: Array.from({ length: n }, (_, k) => `text ${i}.${k}`) })

/** Plans into a temporary directory (the Effect 3 edition's test plans into its in-memory file system). */
const plan = (input: ReadonlyArray<BatchLine.BatchRequestInput>, options: Partial<JobPlan.PlanOptions> = {}) =>
  Effect.flatMap(tempDir, (dir) => Stream.runCollect(JobPlan.plan(input, { endpoint, dir, ...options })))

describe("embedding inputs", () => {
  it("counts a string as one, an array of strings per item, an array of token arrays per inner array", () => {
    const count = (input: BatchLine.EmbeddingBody["input"]) =>
      embeddingInputs(BatchLine.embedding("x", { model, input }))
    assert.strictEqual(count("one text"), 1)
    assert.strictEqual(count(["a", "b", "c"]), 3)
    // One array of token ids is one input; an array of them, one per inner array.
    assert.strictEqual(count([1, 2, 3, 4]), 1)
    assert.strictEqual(count([[1, 2], [3], [4, 5, 6]]), 3)
  })

  it.effect("cuts a part before it would exceed the inputs per part, off the request count", () =>
    Effect.gen(function*() {
      // 10 requests of 4 inputs under a cap of 10 inputs: two requests (8 inputs) per part, never a third (12).
      const parts = yield* plan(Array.from({ length: 10 }, (_, i) => many(i, 4)), { maxInputs: 10 })
      assert.deepStrictEqual(parts.map((p) => p.requests), [2, 2, 2, 2, 2])
      // Single-string inputs count one each: the default cap does not cut 3 requests.
      const single = yield* plan(Array.from({ length: 3 }, (_, i) => many(i, 1)), { maxInputs: 2 })
      assert.deepStrictEqual(single.map((p) => p.requests), [2, 1])
      // Off /v1/embeddings, nothing counts inputs.
      const chat = Array.from(
        { length: 3 },
        (_, i) =>
          BatchLine.chatCompletion(`c-${i}`, { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      )
      const chats = yield* plan(chat, { endpoint: "/v1/chat/completions", maxInputs: 1 })
      assert.deepStrictEqual(chats.map((p) => p.requests), [3])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a request with more inputs than a part may hold is refused, naming its line", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.result(plan([many(0, 3), many(1, 6), many(2, 1)], { maxInputs: 5 }))
      assert.isTrue(Result.isFailure(refused))
      const error = Result.isFailure(refused) ? refused.failure : undefined
      assert.strictEqual(error?._tag, "RequestTooLargeError")
      if (error?._tag === "RequestTooLargeError") {
        assert.deepStrictEqual([error.line, error.customId, error.limit, error.value, error.max], [
          2,
          "doc-1",
          "inputs",
          6,
          5
        ])
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a job over the API's cap: refused before anything is uploaded", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const error = yield* Job.run([many(0, 10), many(1, 50_001)], { jobId: "too-many", endpoint, policy: { poll } })
        .pipe(Effect.flip, Effect.provide(processOver(simulator)))
      assert.strictEqual(error._tag, "RequestTooLargeError")
      assert.include(error.message, "request 2 (doc-1)")
      const sent = (yield* simulator.requests).filter((r) => r.method === "POST")
      assert.deepStrictEqual(sent, [])
    }))

  it.effect("a job of many multi-input lines completes: no batch over the cap the simulator enforces", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      // 1,100 requests of 50 inputs: 55,000 inputs. Cut by lines alone they were one batch, failed by the API.
      const requests = Array.from({ length: 1_100 }, (_, i) => many(i, 50))
      const summary = yield* drive(
        Job.run(requests, { jobId: "inputs", endpoint, policy: { poll } }).pipe(Effect.provide(processOver(simulator)))
      )
      assert.deepStrictEqual(summary.parts.map((p) => [p.requests, p.status]), [[1_000, "completed"], [
        100,
        "completed"
      ]])
      assert.strictEqual(summary.succeeded, 1_100)
      assert.isTrue(summary.parts.every((p) => p.attempts.every((a) => a.status === "completed")))
    }))

  it.effect("the option is checked: a whole number from 1 to 50,000", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const error = yield* Job.run([many(0, 1)], { jobId: "opt", endpoint, plan: { maxInputsPerPart: 50_001 } })
        .pipe(Effect.flip, Effect.provide(processOver(simulator)))
      assert.strictEqual(error._tag, "InvalidParamsError")
      assert.include(error.message, "plan.maxInputsPerPart")
    }))
})
