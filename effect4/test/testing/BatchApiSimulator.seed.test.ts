import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Batch from "../../src/Batch.js"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"
import { jsonl, send, start } from "./support.js"

/** Waits run on FastTestClock: Effect 4's TestClock.adjust leaves a forked wait at its first poll. */
const fast = Effect.provide(FastTestClock.layer)

const statuses = [
  "validating",
  "in_progress",
  "finalizing",
  "completed",
  "failed",
  "expired",
  "cancelling",
  "cancelled"
] as const

const run = <A, E>(effect: Effect.Effect<A, E, BatchApi.BatchApi | BatchApiSimulator.BatchApiSimulator>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* effect
  }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi()), fast)

describe("BatchApiSimulator.seed", () => {
  it.effect("each status as asked, with timestamps that agree with it and with now", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const now = start / 1000
      for (const status of statuses) {
        const ids = yield* simulator.seed({ count: 3, status, spacingSeconds: 600 })
        for (const id of ids) {
          const batch = yield* BatchApi.retrieveBatch(id)
          assert.strictEqual(batch.status, status, `${status} ${id}`)
          const ended = [batch.completed_at, batch.failed_at, batch.expired_at, batch.cancelled_at]
          for (const at of ended) if (at !== undefined) assert.isAtMost(at, now, `${status} ended in the future`)
          assert.strictEqual(Batch.isTerminal(batch), ended.some((at) => at !== undefined), status)
          if (status === "expired") assert.isAtMost(batch.expires_at ?? Infinity, now)
          if (status === "cancelling") assert.strictEqual(batch.cancelling_at, now)
        }
      }
      // the newest of a seed is created now, the others spaced before it
      const [older, newest] = yield* simulator.seed({ count: 2, status: "in_progress", spacingSeconds: 90 })
      assert.strictEqual((yield* BatchApi.retrieveBatch(newest!)).created_at, now)
      assert.strictEqual((yield* BatchApi.retrieveBatch(older!)).created_at, now - 90)
    })))

  it.effect("seeded batches live on: they finish, expire, validate and finish cancelling, with result files", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.setDefaultScript({ inProgress: "2 hours" })
      const [running] = yield* simulator.seed({ count: 1, status: "in_progress" })
      const [cancelling] = yield* simulator.seed({ count: 1, status: "cancelling" })
      const [validating] = yield* simulator.seed({ count: 1, status: "validating" })
      yield* TestClock.adjust("3 minutes")
      assert.strictEqual((yield* BatchApi.retrieveBatch(cancelling!)).status, "cancelled")
      assert.strictEqual((yield* BatchApi.retrieveBatch(validating!)).status, "in_progress")
      yield* TestClock.adjust("2 hours")
      const done = yield* BatchApi.retrieveBatch(running!)
      assert.strictEqual(done.status, "completed")
      assert.deepStrictEqual({ ...done.request_counts }, { total: 10, completed: 10, failed: 0 })
      assert.isTrue(Option.isSome(yield* simulator.file(done.output_file_id ?? "")))
    })))

  it.effect("cancelling everything that runs: every seeded batch reaches a terminal status within the cancel window", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.seed({ count: 3, status: "in_progress" })
      yield* simulator.seed({ count: 2, status: "validating" })
      yield* simulator.seed({ count: 2, status: "completed" })
      const fiber = yield* Effect.forkChild(
        BatchApi.streamBatches().pipe(
          Stream.filter((batch) => !Batch.isTerminal(batch)),
          Stream.mapEffect((batch) => BatchWait.cancelBatchAndWait(batch.id), { concurrency: "unbounded" }),
          Stream.runCollect
        )
      )
      yield* TestClock.adjust("10 minutes")
      const cancelled = yield* Fiber.join(fiber)
      assert.deepStrictEqual([...cancelled].map((batch) => batch.status), Array(5).fill("cancelled"))
    })))
})

/**
 * Two rules of the real API the simulator follows: an embeddings batch holds at most 50,000 embedding inputs across
 * its requests (an input array counts each item), and an ended batch without an error file may show
 * `error_file_id: ""` (opt-in: `absentErrorFileId: ""`).
 */
describe("input rules", () => {
  const embedding = (id: string, input: unknown) => ({
    custom_id: id,
    method: "POST",
    url: "/v1/embeddings",
    body: { model: "text-embedding-3-small", input }
  })

  const strings = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`)

  /** Creates an embeddings batch from `lines` and reads it after its validation. */
  const validated = (simulator: BatchApiSimulator.Simulator, lines: ReadonlyArray<unknown>) =>
    Effect.gen(function*() {
      const file = yield* simulator.putFile({ content: jsonl(lines) })
      const body = { input_file_id: file.id, endpoint: "/v1/embeddings", completion_window: "24h" }
      const created = yield* send(simulator, "POST", "/v1/batches", { body })
      yield* TestClock.adjust("31 seconds")
      return (yield* send(simulator, "GET", `/v1/batches/${created.json.id}`)).json
    })

  describe("BatchApiSimulator input rules", () => {
    it.effect("an embeddings batch over 50,000 inputs fails in validation; input arrays count each item", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(start)
        // a responder that does not compute 50,000 embeddings
        const simulator = yield* BatchApiSimulator.make({ responder: () => ({ status_code: 200, body: {} }) })
        // 30,000 + 20,000 strings, plus one tokenized input (an array of token ids counts one): 50,001
        const over = yield* validated(simulator, [
          embedding("a", strings(30_000)),
          embedding("b", strings(20_000)),
          embedding("c", [101, 2023, 102])
        ])
        assert.strictEqual(over.status, "failed")
        assert.strictEqual(over.errors.data[0].code, "too_many_embedding_inputs")
        assert.match(over.errors.data[0].message, /50001 embedding inputs/)
        // exactly 50,000, as strings and token arrays (an array of arrays counts each inner array)
        const atCap = yield* validated(simulator, [
          embedding("a", strings(49_997)),
          embedding("b", [[1, 2], [3]]),
          embedding("c", "one")
        ])
        assert.strictEqual(atCap.status, "in_progress")
        // the rule is the embeddings endpoint's: a chat batch of 3 requests is not counted by inputs
        const chat = yield* simulator.putFile({
          content: jsonl([{
            custom_id: "x",
            method: "POST",
            url: "/v1/chat/completions",
            body: { model: "m", input: strings(60_000) }
          }])
        })
        const created = yield* send(simulator, "POST", "/v1/batches", {
          body: { input_file_id: chat.id, endpoint: "/v1/chat/completions", completion_window: "24h" }
        })
        yield* TestClock.adjust("31 seconds")
        assert.strictEqual((yield* send(simulator, "GET", `/v1/batches/${created.json.id}`)).json.status, "in_progress")
      }))

    it.effect("absentErrorFileId: \"\" shows an ended batch without an error file as error_file_id: \"\"", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(start)
        for (const [option, expected] of [[undefined, null], ["", ""]] as const) {
          const simulator = yield* BatchApiSimulator.make(option === undefined ? {} : { absentErrorFileId: option })
          const batch = yield* validated(simulator, [embedding("a", "x")])
          assert.isNull(batch.error_file_id, "no error file while it runs")
          yield* TestClock.adjust("1 hour")
          const done = (yield* send(simulator, "GET", `/v1/batches/${batch.id}`)).json
          assert.strictEqual(done.status, "completed")
          assert.isString(done.output_file_id)
          assert.strictEqual(done.error_file_id, expected)
        }
      }))
  })
})
