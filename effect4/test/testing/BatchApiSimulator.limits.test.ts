/**
 * Per-model enqueued limits, as the API enforces them: a create is accepted, and the batch fails after
 * `validating` when its model's enqueued tokens (or requests) plus its own would exceed the limit.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"
import { jsonl, send, start } from "./support.js"

/** Waits run on FastTestClock: Effect 4's TestClock.adjust leaves a forked wait at its first poll. */
const fast = Effect.provide(FastTestClock.layer)

/** A chat line of exactly 100 simulator tokens: 396 characters (99) + max_tokens 1. */
const line = (id: string, model = "gpt-4o-mini") => ({
  custom_id: id,
  method: "POST" as const,
  url: "/v1/chat/completions",
  body: { model, messages: [{ role: "user", content: "a".repeat(396) }], max_tokens: 1 }
})

/** Uploads `n` lines of 100 tokens each and creates a batch from them; returns its id. */
const create = (n: number, model = "gpt-4o-mini", script?: BatchApiSimulator.Script) =>
  Effect.gen(function*() {
    const simulator = yield* BatchApiSimulator.BatchApiSimulator
    if (script !== undefined) yield* simulator.scriptNext(script)
    const file = yield* simulator.putFile({ content: jsonl(Array.from({ length: n }, (_, i) => line(`r${i}`, model))) })
    const batch = yield* BatchApi.createBatch({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h"
    })
    assert.strictEqual(batch.status, "validating")
    return batch.id
  })

const status = (id: string) => Effect.map(BatchApi.retrieveBatch(id), (batch) => batch.status)
const errorCode = (id: string) => Effect.map(BatchApi.retrieveBatch(id), (batch) => batch.errors?.data?.[0]?.code)
const enqueued = (model = "gpt-4o-mini") =>
  Effect.flatMap(BatchApiSimulator.BatchApiSimulator, (simulator) => simulator.enqueued(model))

const run = <A, E>(
  effect: Effect.Effect<A, E, BatchApi.BatchApi | BatchApiSimulator.BatchApiSimulator>,
  options: BatchApiSimulator.Options
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* effect
  }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi(options)), fast)

describe("BatchApiSimulator enqueued limits", () => {
  it("estimateTokens: ceil(prompt characters / 4) + max output; token ids and text parts counted", () => {
    assert.strictEqual(BatchApiSimulator.estimateTokens(line("x")), 100)
    const chat = (content: unknown, extra = {}) => ({
      custom_id: "c",
      method: "POST" as const,
      url: "/v1/chat/completions",
      body: { model: "m", messages: [{ role: "system", content: "1234" }, { role: "user", content }], ...extra }
    })
    assert.strictEqual(BatchApiSimulator.estimateTokens(chat("12345")), 3) // 9 chars
    assert.strictEqual(
      BatchApiSimulator.estimateTokens(chat([{ type: "text", text: "1234" }, { type: "image_url" }])),
      2
    )
    assert.strictEqual(BatchApiSimulator.estimateTokens(chat("", { max_completion_tokens: 50 })), 51)
    const embed = (input: unknown) => ({
      custom_id: "e",
      method: "POST" as const,
      url: "/v1/embeddings",
      body: { model: "m", input }
    })
    assert.strictEqual(BatchApiSimulator.estimateTokens(embed(["12345678", "1234"])), 3)
    assert.strictEqual(BatchApiSimulator.estimateTokens(embed([[1, 2, 3], [4, 5]])), 5)
    const responses = {
      custom_id: "r",
      method: "POST" as const,
      url: "/v1/responses",
      body: {
        model: "m",
        input: [{ role: "user", content: [{ type: "input_text", text: "12345678" }] }],
        max_output_tokens: 7
      }
    }
    assert.strictEqual(BatchApiSimulator.estimateTokens(responses), 9)
  })

  it.effect("over the limit: the second batch is accepted, then fails after validating; the first runs", () =>
    run(
      Effect.gen(function*() {
        const first = yield* create(6)
        const second = yield* create(6)
        assert.deepStrictEqual(yield* enqueued(), { tokens: 0, requests: 0, batches: 0 })
        yield* TestClock.adjust("30 seconds")
        assert.deepStrictEqual([yield* status(first), yield* status(second)], ["in_progress", "failed"])
        assert.deepStrictEqual(yield* enqueued(), { tokens: 600, requests: 6, batches: 1 })
        const failed = yield* BatchApi.retrieveBatch(second)
        assert.strictEqual(failed.failed_at, start / 1000 + 30)
        assert.isUndefined(failed.in_progress_at)
        // on the wire, as the API sends it
        const raw = yield* send(yield* BatchApiSimulator.BatchApiSimulator, "GET", `/v1/batches/${second}`)
        assert.deepStrictEqual(raw.json.errors, {
          object: "list",
          data: [{
            code: "token_limit_exceeded",
            message:
              "Enqueued token limit reached for gpt-4o-mini in organization org-simulator. Limit: 1,000 enqueued tokens. Please try again once some in_progress batches have been completed.",
            param: null,
            line: null
          }]
        })
        assert.deepStrictEqual(raw.json.request_counts, { total: 0, completed: 0, failed: 0 })
        assert.strictEqual(failed.errors?.data?.[0]?.code, "token_limit_exceeded")
        // under the limit: 600 + 400 = 1000 is allowed
        const third = yield* create(4)
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* status(third), "in_progress")
        assert.deepStrictEqual(yield* enqueued(), { tokens: 1000, requests: 10, batches: 2 })
      }),
      { enqueuedTokenLimit: { "gpt-4o-mini": 1000 } }
    ))

  it.effect("the library sees BatchFailedError with token_limit_exceeded", () =>
    run(
      Effect.gen(function*() {
        yield* create(6)
        const second = yield* create(6)
        const fiber = yield* Effect.forkChild(Effect.flip(BatchWait.awaitCompleted(second)))
        yield* TestClock.adjust("5 minutes")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "BatchFailedError")
        if (error._tag === "BatchFailedError") {
          assert.strictEqual(error.errors[0]?.code, "token_limit_exceeded")
          assert.include(error.message, "token_limit_exceeded")
          assert.strictEqual(error.batch.status, "failed")
        }
      }),
      { enqueuedTokenLimit: 1000 }
    ))

  it.effect("a completed batch releases its tokens; a cancelled one releases them at cancelled_at, not before", () =>
    run(
      Effect.gen(function*() {
        const first = yield* create(6)
        yield* TestClock.adjust("7 minutes") // 30 s + 5 min + 30 s: completed
        assert.strictEqual(yield* status(first), "completed")
        const second = yield* create(6)
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* status(second), "in_progress")
        // cancel: still enqueued while cancelling (2 minutes)
        yield* BatchApi.cancelBatch(second)
        const during = yield* create(6) // validation ends 30 s later, while `second` is cancelling
        yield* TestClock.adjust("100 seconds")
        const after = yield* create(6) // validation ends at 130 s, after cancelled_at (120 s)
        yield* TestClock.adjust("30 seconds")
        assert.deepStrictEqual(
          [yield* status(second), yield* status(during), yield* status(after)],
          ["cancelled", "failed", "in_progress"]
        )
        assert.strictEqual(yield* errorCode(during), "token_limit_exceeded")
        // cancelled while validating: never enqueued at all
        const early = yield* create(4)
        yield* BatchApi.cancelBatch(early)
        const fits = yield* create(4)
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* status(fits), "in_progress")
      }),
      { enqueuedTokenLimit: 1000 }
    ))

  it.effect("limits are per model; a '*' entry covers the models a map does not name", () =>
    run(
      Effect.gen(function*() {
        const mini = yield* create(6, "gpt-4o-mini")
        const other = yield* create(6, "gpt-4.1")
        const third = yield* create(6, "o3")
        const big = yield* create(30, "unlisted-model")
        yield* TestClock.adjust("30 seconds")
        assert.deepStrictEqual(
          [yield* status(mini), yield* status(other), yield* status(third), yield* status(big)],
          ["in_progress", "in_progress", "in_progress", "failed"]
        )
        assert.deepStrictEqual(yield* enqueued("gpt-4.1"), { tokens: 600, requests: 6, batches: 1 })
        // gpt-4o-mini has its own, smaller limit
        const mini2 = yield* create(5, "gpt-4o-mini")
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* status(mini2), "failed")
      }),
      { enqueuedTokenLimit: { "gpt-4o-mini": 1000, "gpt-4.1": 1000, "o3": 1000, "*": 2000 } }
    ))

  it.effect("the enqueued request limit: request_limit_exceeded", () =>
    run(
      Effect.gen(function*() {
        const first = yield* create(6)
        const second = yield* create(5)
        yield* TestClock.adjust("30 seconds")
        assert.deepStrictEqual([yield* status(first), yield* status(second)], ["in_progress", "failed"])
        const failed = yield* BatchApi.retrieveBatch(second)
        assert.strictEqual(failed.errors?.data?.[0]?.code, "request_limit_exceeded")
        assert.strictEqual(
          failed.errors?.data?.[0]?.message,
          "Enqueued request limit reached for gpt-4o-mini in organization org-simulator. Limit: 10 enqueued requests. Please try again once some in_progress batches have been completed."
        )
      }),
      { enqueuedRequestLimit: 10 }
    ))

  it.effect("one 24-hour TestClock jump decides in the order validations end, as stepping through the day does", () =>
    Effect.gen(function*() {
      // Created all at once, newest-validating first; [name, lines, validating, in progress]
      const plan = [
        ["F", 6, "20 hours", "5 minutes"], // C ended at 13 h: admitted
        ["E", 6, "330 minutes", "1 hour"], // C (600) + D (300) enqueued: rejected
        ["D", 3, "5 hours", "1 hour"], // C (600) + 300 fits
        ["C", 6, "3 hours", "10 hours"], // A ended at 2 h 1.5 min: admitted
        ["B", 6, "30 minutes", "1 hour"], // A enqueued: rejected
        ["A", 6, "1 minute", "2 hours"]
      ] as const
      const outcome = (stepMinutes: number | undefined) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(start)
          const simulator = yield* BatchApiSimulator.BatchApiSimulator
          const ids: Array<readonly [string, string]> = []
          for (const [name, n, validating, inProgress] of plan) {
            ids.push([name, yield* create(n, "gpt-4o-mini", { validating, inProgress })])
          }
          if (stepMinutes === undefined) {
            yield* TestClock.adjust("24 hours")
          } else {
            for (let t = 0; t < 24 * 60; t += stepMinutes) {
              yield* TestClock.adjust(`${stepMinutes} minutes`)
              for (const [, id] of ids) yield* simulator.batch(id)
            }
          }
          const result: Record<string, string> = {}
          for (const [name, id] of ids) {
            const batch = Option.getOrThrow(yield* simulator.batch(id))
            result[name] = `${batch.status}${
              batch.errors?.data?.[0] === undefined ? "" : ` ${batch.errors.data[0].code}`
            }`
          }
          return result
        }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ enqueuedTokenLimit: 1000 })), fast)
      const jumped = yield* outcome(undefined)
      assert.deepStrictEqual(jumped, {
        A: "completed",
        B: "failed token_limit_exceeded",
        C: "completed",
        D: "completed",
        E: "failed token_limit_exceeded",
        F: "completed"
      })
      assert.deepStrictEqual(yield* outcome(20), jumped)
    }))

  it.effect("a wait that spans the limit: awaitBatch on the admitted batch and on the rejected one", () =>
    run(
      Effect.gen(function*() {
        const first = yield* create(6, "gpt-4o-mini", { inProgress: "7 hours" })
        const second = yield* create(6)
        const fiber = yield* Effect.forkChild(Effect.all([
          BatchWait.awaitBatch(first, { schedule: BatchSchedule.every("10 minutes") }),
          BatchWait.awaitBatch(second, { schedule: BatchSchedule.every("10 minutes") })
        ]))
        yield* TestClock.adjust("8 hours")
        const [a, b] = yield* Fiber.join(fiber)
        assert.deepStrictEqual([a.status, b.status], ["completed", "failed"])
        assert.deepStrictEqual(yield* enqueued(), { tokens: 0, requests: 0, batches: 0 })
      }),
      { enqueuedTokenLimit: 1000 }
    ))
})
