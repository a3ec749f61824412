/**
 * `Job.runBatch`, the one-batch front door of the job engine, on the simulator through the library's real HTTP
 * encoding and decoding: requests in, upload, create, wait, typed results joined by custom_id; interruption,
 * deadlines, failures and bad input. (The Effect 3 edition's test/job/runBatch.test.ts, ported; the client's layers
 * are `BatchClient.layer` over the simulator.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Redacted, Ref, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as BatchClient from "../../src/BatchClient.js"
import * as BatchLine from "../../src/BatchLine.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as Job from "../../src/Job.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { settle } from "./support.js"

const requests = Array.from(
  { length: 30 },
  (_, i) =>
    BatchLine.embedding(i % 10 === 3 ? `bad-${i}` : `doc-${i}`, { model: "text-embedding-3-small", input: `text ${i}` })
)
const endpoint = "/v1/embeddings" as const

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
  Effect.forEach(
    Array.from({ length: Math.ceil(minutes / step) }),
    () => Effect.andThen(settle, TestClock.adjust(`${step} minutes`)),
    { discard: true }
  ).pipe(Effect.andThen(settle))

const schedule = BatchSchedule.every("30 seconds")
const calls = (log: ReadonlyArray<{ readonly method: string; readonly path: string }>) =>
  log.map((r) => `${r.method} ${r.path.replace(/(file-|batch_)\w+/g, "$1*")}`)
const cancels = (simulator: BatchApiSimulator.Simulator) =>
  Effect.map(simulator.requests, (log) => log.filter((r) => r.method === "POST" && r.path.endsWith("/cancel")))
const layer = (options: BatchApiSimulator.Options = {}) =>
  BatchClient.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(BatchApiSimulator.testApiKey) })),
    Layer.provideMerge(BatchApiSimulator.layer({ responder, script: { inProgress: "10 minutes" }, ...options }))
  )

describe("Job.runBatch on the simulator", () => {
  it.effect("requests in, typed results out, joined by custom_id, in input order; progress told as it goes", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const progress = yield* Ref.make<ReadonlyArray<string>>([])
      const created = yield* Ref.make<string | undefined>(undefined)
      const fiber = yield* Effect.forkChild(Job.runBatch(requests, {
        endpoint,
        metadata: { job: "nightly" },
        schedule,
        onCreated: (batch) => Ref.set(created, batch.id),
        onProgress: (batch) => Ref.update(progress, (all) => [...all, batch.status])
      }))
      yield* advance(20)
      const run = yield* Fiber.join(fiber)

      assert.strictEqual(run.batch.status, "completed")
      assert.strictEqual(yield* Ref.get(created), run.batch.id)
      assert.deepStrictEqual([...new Set(yield* Ref.get(progress))], [
        "validating",
        "in_progress",
        "finalizing",
        "completed"
      ])
      assert.deepStrictEqual(run.matched.map((m) => m.input.custom_id), requests.map((r) => r.custom_id))
      assert.deepStrictEqual(run.missing, [])
      assert.deepStrictEqual(run.unmatched, [])
      const tags = run.matched.map((m) => m.result._tag)
      assert.deepStrictEqual(
        ["Succeeded", "FailedResponse", "Errored"].map((tag) => tags.filter((t) => t === tag).length),
        [26, 3, 1]
      )
      const failed = run.matched.find((m) => m.result._tag === "FailedResponse")?.result
      if (failed?._tag !== "FailedResponse") return assert.fail("expected a FailedResponse")
      assert.strictEqual(failed.error?.code, "context_length_exceeded")
      assert.strictEqual(run.batch.metadata?.["job"], "nightly")

      // What went over the wire: upload, create, polls, both result files; no lookups for a fresh run.
      const log = calls(yield* simulator.requests)
      assert.deepStrictEqual(log.slice(0, 2), ["POST /v1/files", "POST /v1/batches"])
      assert.deepStrictEqual(log.filter((c) => c.endsWith("/content")), [
        "GET /v1/files/file-*/content",
        "GET /v1/files/file-*/content"
      ])
      const uploaded = yield* simulator.file(run.inputFileId)
      assert.isTrue(Option.isSome(uploaded))
      if (Option.isSome(uploaded)) {
        assert.strictEqual(new TextDecoder().decode(uploaded.value.content).trim().split("\n").length, 30)
        assert.strictEqual(uploaded.value.purpose, "batch")
      }
    }).pipe(Effect.provide(layer())))

  it.effect("a Stream with precheck is read once, checked whole, then run", () =>
    Effect.gen(function*() {
      const pulls = yield* Ref.make(0)
      const source = Stream.fromIterable(requests).pipe(Stream.tap(() => Ref.update(pulls, (n) => n + 1)))
      const fiber = yield* Effect.forkChild(Job.runBatch(source, { endpoint, schedule, input: { precheck: true } }))
      yield* advance(20)
      const run = yield* Fiber.join(fiber)
      assert.strictEqual(run.matched.length, 30)
      assert.strictEqual(yield* Ref.get(pulls), 30)
    }).pipe(Effect.provide(layer())))

  it.effect("an expired batch returns its partial results; the rest are reported missing", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(
        Job.runBatch(requests, { endpoint, schedule: BatchSchedule.every("2 hours") })
      )
      yield* advance(26 * 60, 30)
      const run = yield* Fiber.join(fiber)
      assert.strictEqual(run.batch.status, "expired")
      assert.isAbove(run.matched.length, 0)
      assert.isAbove(run.missing.length, 0)
      assert.strictEqual(run.matched.length + run.missing.length, 30)
    }).pipe(Effect.provide(layer({ script: { outcome: "expired", inProgress: "48 hours" } }))))

  it.effect("interrupting the run cancels its batch, once (cancelOnInterrupt defaults to true)", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const created: Array<string> = []
      const fiber = yield* Effect.forkChild(Job.runBatch(requests, {
        endpoint,
        schedule,
        onCreated: (batch) => Effect.sync(() => created.push(batch.id))
      }))
      yield* advance(3)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(created.length, 1)
      const batch = yield* simulator.batch(created[0] ?? "")
      assert.include(["cancelling", "cancelled"], Option.isSome(batch) ? batch.value.status : "missing")
      assert.strictEqual((yield* cancels(simulator)).length, 1)
    }).pipe(Effect.provide(layer({ script: { inProgress: "2 hours" } }))))

  it.effect("interrupted at any point up to and through its create, it leaves no batch running", () =>
    Effect.gen(function*() {
      const seen = new Set<string>()
      for (let yields = 0; yields <= 60; yields += 2) {
        const outcome = yield* Effect.gen(function*() {
          const simulator = yield* BatchApiSimulator.BatchApiSimulator
          const fiber = yield* Effect.forkChild(Job.runBatch(requests, { endpoint, schedule }))
          for (let i = 0; i < yields; i++) yield* Effect.yieldNow
          const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
          yield* settle
          yield* TestClock.adjust("10 seconds")
          yield* settle
          yield* Fiber.join(interrupting)
          const log = yield* simulator.requests
          const created = log.filter((r) => r.method === "POST" && r.path === "/v1/batches").length
          if (created === 0) return "none made"
          const batch = yield* simulator.batch("batch_sim_00000002")
          return `made, then ${Option.isSome(batch) ? batch.value.status : "missing"}`
        }).pipe(Effect.provide(layer({ script: { inProgress: "2 hours" } })))
        assert.include(["none made", "made, then cancelling"], outcome, `interrupted after ${yields} yields`)
        seen.add(outcome)
      }
      // Both sides of the create were reached.
      assert.strictEqual(seen.size, 2)
    }))

  it.effect("interrupted while its create is in flight (made, never answered): the batch is found and cancelled", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.injectFault(BatchApiSimulator.commitThenTimeout, {
        match: { method: "POST", path: "/v1/batches" }
      })
      const fiber = yield* Effect.forkChild(Job.runBatch(requests, { endpoint, schedule }))
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* settle
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* settle
      yield* Fiber.join(interrupting)
      const log = calls(yield* simulator.requests).filter((c) => c.startsWith("POST"))
      assert.deepStrictEqual(log, ["POST /v1/files", "POST /v1/batches", "POST /v1/batches/batch_*/cancel"])
      const batch = yield* simulator.batch("batch_sim_00000002")
      assert.strictEqual(Option.isSome(batch) ? batch.value.status : "missing", "cancelling")
    }).pipe(Effect.provide(layer({ script: { inProgress: "2 hours" } }))))

  it.effect("run again with its idempotencyKey after a detached interrupt: it waits for its batch and makes none", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const first = yield* Effect.forkChild(
        Job.runBatch(requests, { endpoint, schedule, idempotencyKey: "nightly", cancelOnInterrupt: false })
      )
      yield* advance(3)
      yield* Fiber.interrupt(first)
      const second = yield* Effect.forkChild(Job.runBatch(requests, { endpoint, schedule, idempotencyKey: "nightly" }))
      yield* advance(30, 5)
      const run = yield* Fiber.join(second)
      const creates = (yield* simulator.requests).filter((r) => r.method === "POST" && r.path === "/v1/batches")
      assert.strictEqual(creates.length, 1)
      assert.strictEqual(run.batch.status, "completed")
      assert.strictEqual(run.matched.length, 30)
      assert.strictEqual(run.missing.length, 0)
    }).pipe(Effect.provide(layer({ script: { inProgress: "20 minutes" } }))))

  for (
    const [name, fault] of [["never answers", BatchApiSimulator.timeout], [
      "fails with 500",
      BatchApiSimulator.serverError()
    ]] as const
  ) {
    it.effect(`the cancel on interrupt is bounded when it ${name}: one attempt, the interrupt done within 10 s`, () =>
      Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        yield* simulator.injectFault(fault, { match: { method: "POST", path: "/cancel" }, times: 5 })
        const fiber = yield* Effect.forkChild(Job.runBatch(requests, { endpoint, schedule }))
        yield* advance(3)
        const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
        yield* settle
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(interrupting)
        assert.strictEqual((yield* cancels(simulator)).length, 1)
      }).pipe(Effect.provide(layer({ script: { inProgress: "2 hours" } }))))
  }

  it.effect("leaves the batch running when cancelOnInterrupt is false", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const fiber = yield* Effect.forkChild(Job.runBatch(requests, { endpoint, schedule, cancelOnInterrupt: false }))
      yield* advance(3)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual((yield* cancels(simulator)).length, 0)
      const batches = (yield* simulator.requests).filter((r) => r.method === "POST" && r.path === "/v1/batches")
      assert.strictEqual(batches.length, 1)
    }).pipe(Effect.provide(layer({ script: { inProgress: "2 hours" } }))))

  it.effect("fails with WaitTimeoutError at the deadline, and cancels", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const fiber = yield* Effect.forkChild(Job.runBatch(requests, { endpoint, schedule, timeout: "5 minutes" }))
      yield* advance(7)
      const error = yield* Fiber.join(fiber).pipe(Effect.flip)
      assert.strictEqual(error._tag, "WaitTimeoutError")
      assert.strictEqual((yield* cancels(simulator)).length, 1)
    }).pipe(Effect.provide(layer({ script: { inProgress: "2 hours" } }))))

  it.effect("fails with BatchFailedError for a failed batch, naming the line", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Job.runBatch(requests, { endpoint, schedule }))
      yield* advance(3)
      const error = yield* Fiber.join(fiber).pipe(Effect.flip)
      assert.strictEqual(error._tag, "BatchFailedError")
      if (error._tag === "BatchFailedError") assert.strictEqual(error.errors[0]?.line, 2)
    }).pipe(
      Effect.provide(layer({
        script: { outcome: "failed", errors: [{ code: "invalid_json_line", message: "bad", line: 2, param: null }] }
      }))
    ))

  it.effect("a create the API refuses fails with its error, and the uploaded input file is deleted", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.injectFault(BatchApiSimulator.serverError(400), {
        match: { method: "POST", path: "/v1/batches" }
      })
      const error = yield* Job.runBatch(requests, { endpoint, schedule }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "BadRequestError")
      const log = calls(yield* simulator.requests)
      assert.deepStrictEqual(log.filter((c) => !c.startsWith("GET")), [
        "POST /v1/files",
        "POST /v1/batches",
        "DELETE /v1/files/file-*"
      ])
    }).pipe(Effect.provide(layer())))

  it.effect("refuses a bad input before uploading anything", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const chat = BatchLine.chatCompletion("c", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      const error = yield* Job.runBatch([requests[0]!, chat], { endpoint, schedule }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "EndpointMismatchError")
      assert.match(error.message, /^Job\.runBatch: request 2 \(c\) is for \/v1\/chat\/completions/)
      const tooMany = yield* Job.runBatch(requests, { endpoint, schedule, input: { maxRequests: 10 } }).pipe(
        Effect.flip
      )
      assert.deepStrictEqual(tooMany._tag === "TooManyLinesError" ? [tooMany.line, tooMany.maxLines] : [], [11, 10])
      // One batch holds at most 50,000 embedding inputs: the line that would take it over is refused.
      const texts = (id: string, n: number) =>
        BatchLine.embedding(id, { model: "text-embedding-3-small", input: Array.from({ length: n }, () => "t") })
      const inputs = yield* Job.runBatch([texts("a", 30_000), texts("b", 30_000)], { endpoint, schedule }).pipe(
        Effect.flip
      )
      assert.strictEqual(inputs._tag, "InvalidRequestError")
      assert.include(inputs.message, "request 2 (b)")
      assert.include(inputs.message, "its 30000 embedding inputs take the batch over 50000 inputs")
      assert.deepStrictEqual(yield* simulator.requests, [])
    }).pipe(Effect.provide(layer())))
})
