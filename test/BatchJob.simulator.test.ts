/**
 * `runBatch` end to end on the simulator, through the library's real HTTP encoding and decoding: requests in,
 * upload, create, wait, typed results joined by custom_id; and what happens on interruption and on expiry.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import * as BatchJob from "../src/BatchJob.js"
import * as BatchLine from "../src/BatchLine.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchApiSimulator from "../src/testing/BatchApiSimulator.js"

const requests = Array.from(
  { length: 30 },
  (_, i) =>
    BatchLine.embedding(i % 10 === 3 ? `bad-${i}` : `doc-${i}`, { model: "text-embedding-3-small", input: `text ${i}` })
)

/** Answers 400 for ids starting with "bad", an error line for "doc-7", an embedding otherwise. */
const responder: BatchApiSimulator.Responder = (line) => {
  if (line.custom_id.startsWith("bad")) {
    return {
      status_code: 400,
      body: {
        error: {
          message: "input too long",
          type: "invalid_request_error",
          param: "input",
          code: "context_length_exceeded"
        }
      }
    }
  }
  if (line.custom_id === "doc-7") return { error: { code: "server_error", message: "the request failed" } }
  return {
    status_code: 200,
    body: { object: "list", data: [{ object: "embedding", index: 0, embedding: [0.6, 0.8] }] }
  }
}

/** Lets virtual time pass in steps, so that work started between two steps (an upload) is caught up. */
const advance = (minutes: number, step = 1) =>
  Effect.forEach(Array.from({ length: Math.ceil(minutes / step) }), () => TestClock.adjust(`${step} minutes`), {
    discard: true
  })

const everyThirtySeconds = { schedule: BatchSchedule.every("30 seconds") }

describe("runBatch on the simulator", () => {
  it.effect("requests in, typed results out, joined by custom_id, in input order", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const fiber = yield* Effect.fork(
        BatchJob.runBatch(requests, { endpoint: "/v1/embeddings", ...everyThirtySeconds })
      )
      yield* advance(20)
      const run = yield* Fiber.join(fiber)

      assert.strictEqual(run.batch.status, "completed")
      assert.strictEqual(run.inputFile.purpose, "batch")
      assert.deepStrictEqual(run.matched.map((m) => m.input.custom_id), requests.map((r) => r.custom_id))
      assert.deepStrictEqual(run.missing, [])
      assert.deepStrictEqual(run.unmatched, [])
      const tags = run.matched.map((m) => m.result._tag)
      assert.strictEqual(tags.filter((t) => t === "Succeeded").length, 26)
      assert.strictEqual(tags.filter((t) => t === "FailedResponse").length, 3)
      assert.strictEqual(tags.filter((t) => t === "Errored").length, 1)
      const failed = run.matched.find((m) => m.result._tag === "FailedResponse")?.result
      if (failed?._tag !== "FailedResponse") return assert.fail("expected a FailedResponse")
      assert.strictEqual(failed.response.status_code, 400)
      assert.strictEqual(failed.error?.code, "context_length_exceeded")

      // What went over the wire, in order: upload, create, polls, then both result files.
      const log = yield* simulator.requests
      const calls = log.map((r) => `${r.method} ${r.path.replace(/(file-|batch_)\w+/g, "$1*")}`)
      assert.strictEqual(calls[0], "POST /v1/files")
      assert.strictEqual(calls[1], "POST /v1/batches")
      assert.include(calls, "GET /v1/batches/batch_*")
      assert.deepStrictEqual(calls.filter((c) => c.endsWith("/content")), [
        "GET /v1/files/file-*/content",
        "GET /v1/files/file-*/content"
      ])
      const uploaded = yield* simulator.file(run.inputFile.id)
      assert.isTrue(Option.isSome(uploaded))
      if (Option.isSome(uploaded)) {
        assert.strictEqual(new TextDecoder().decode(uploaded.value.content).trim().split("\n").length, 30)
      }
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ responder, script: { inProgress: "10 minutes" } }))))

  it.effect("interrupting the wait cancels the batch (cancelOnInterrupt defaults to true)", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const created: Array<string> = []
      const fiber = yield* Effect.fork(BatchJob.runBatch(requests, {
        endpoint: "/v1/embeddings",
        onCreated: (batch) => Effect.sync(() => created.push(batch.id)),
        ...everyThirtySeconds
      }))
      yield* advance(3)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(created.length, 1)
      const batch = yield* simulator.batch(created[0] ?? "")
      assert.isTrue(Option.isSome(batch))
      if (Option.isSome(batch)) assert.include(["cancelling", "cancelled"], batch.value.status)
      const cancels = (yield* simulator.requests).filter((r) => r.method === "POST" && r.path.endsWith("/cancel"))
      assert.strictEqual(cancels.length, 1)
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ responder, script: { inProgress: "2 hours" } }))))

  it.effect("an expired batch returns its partial results; the rest are reported missing", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(BatchJob.runBatch(requests, {
        endpoint: "/v1/embeddings",
        schedule: BatchSchedule.every("2 hours")
      }))
      yield* advance(26 * 60, 30)
      const run = yield* Fiber.join(fiber)
      assert.strictEqual(run.batch.status, "expired")
      assert.isAbove(run.matched.length, 0)
      assert.isAbove(run.missing.length, 0)
      assert.strictEqual(run.matched.length + run.missing.length, 30)
    }).pipe(
      Effect.provide(
        BatchApiSimulator.layerBatchApi({ responder, script: { outcome: "expired", inProgress: "48 hours" } })
      )
    ))
})
