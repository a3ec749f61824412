import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Ref, Stream, TestClock } from "effect"
import type * as Batch from "../src/Batch.js"
import * as BatchJob from "../src/BatchJob.js"
import * as BatchLine from "../src/BatchLine.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as Fake from "./support/FakeFiles.js"

const endpoint = "/v1/chat/completions" as const
const chat = (id: string) =>
  BatchLine.chatCompletion(id, { model: "gpt-4o-mini", messages: [{ role: "user", content: id }] })
const requests = [chat("a"), chat("b"), chat("c"), chat("d")]

interface Script {
  /** The batch (as JSON overrides) returned by successive GETs; the last one repeats. */
  readonly polls: ReadonlyArray<Record<string, unknown>>
  /** What a cancel gets: the cancelling batch by default. */
  readonly cancel?: Fake.Reply
  readonly createStatus?: number
  readonly files?: Record<string, ReadonlyArray<string>>
}

const server = (script: Script): Fake.Responder => {
  let polls = 0
  return (request) => {
    const path = request.url.pathname.replace("/v1", "")
    if (request.method === "POST" && path === "/files") return { status: 200, body: Fake.fileJson({ id: "file-in" }) }
    if (request.method === "DELETE") return { status: 200, body: { id: "file-in", object: "file", deleted: true } }
    if (request.method === "POST" && path === "/batches") {
      return script.createStatus === undefined
        ? { status: 200, body: Fake.batchJson({ input_file_id: "file-in", ...JSON.parse(request.text) }) }
        : {
          status: script.createStatus,
          body: { error: { message: "bad", type: "invalid_request_error", param: null, code: null } }
        }
    }
    if (request.method === "POST" && path.endsWith("/cancel")) {
      return script.cancel ?? { status: 200, body: Fake.batchJson({ status: "cancelling" }) }
    }
    if (request.method === "GET" && path.startsWith("/batches/")) {
      const overrides = script.polls[Math.min(polls, script.polls.length - 1)] ?? {}
      polls++
      return { status: 200, body: Fake.batchJson(overrides) }
    }
    const content = /^\/files\/([^/]+)\/content$/.exec(path)
    const file = content === null ? undefined : script.files?.[content[1] ?? ""]
    if (file !== undefined) return { status: 200, chunks: file }
    return { status: 404, body: { error: { message: `no route ${request.method} ${path}` } } }
  }
}

const counts = (completed: number, failed = 0) => ({ request_counts: { total: 4, completed, failed } })
const happy: Script = {
  polls: [
    { status: "validating" },
    { status: "in_progress", ...counts(1) },
    { status: "in_progress", ...counts(3) },
    { status: "finalizing", ...counts(3, 1) },
    { status: "completed", ...counts(3, 1), output_file_id: "file-out", error_file_id: "file-err" }
  ],
  files: {
    "file-out": [`${Fake.okLine("c")}\n${Fake.okLine("a")}\n`, `${Fake.okLine("d")}\n`],
    "file-err": [`${Fake.failedLine("b")}\n`]
  }
}

const schedule = BatchSchedule.every("10 seconds")
const paths = (recorded: ReadonlyArray<Fake.Recorded>) => recorded.map((r) => `${r.method} ${r.url.pathname}`)

describe("BatchJob.runBatch", () => {
  it.effect("uploads, creates, waits with progress, and joins the results", () =>
    Effect.gen(function*() {
      const progress = yield* Ref.make<ReadonlyArray<string>>([])
      const created = yield* Ref.make<string | undefined>(undefined)
      const fiber = yield* Effect.fork(BatchJob.runBatch(requests, {
        endpoint,
        metadata: { job: "nightly" },
        schedule,
        onCreated: (batch) => Ref.set(created, batch.id),
        onProgress: (batch: Batch.Batch) =>
          Ref.update(progress, (all) => [...all, `${batch.status}:${batch.request_counts?.completed ?? 0}`])
      }))
      yield* TestClock.adjust("1 minute")
      const run = yield* Fiber.join(fiber)
      assert.strictEqual(run.batch.status, "completed")
      assert.strictEqual(run.inputFile.id, "file-in")
      assert.strictEqual(yield* Ref.get(created), "batch_abc123")
      assert.deepStrictEqual(yield* Ref.get(progress), [
        "validating:0",
        "in_progress:1",
        "in_progress:3",
        "finalizing:3",
        "completed:3"
      ])
      assert.deepStrictEqual(run.matched.map((m) => [m.input.custom_id, m.result._tag]), [
        ["a", "Succeeded"],
        ["b", "FailedResponse"],
        ["c", "Succeeded"],
        ["d", "Succeeded"]
      ])
      assert.deepStrictEqual(run.missing, [])
      assert.deepStrictEqual(run.unmatched, [])
      const log = yield* Fake.requests
      const create = log.find((r) => r.method === "POST" && r.url.pathname === "/v1/batches")
      const body = JSON.parse(create?.text ?? "{}")
      assert.strictEqual(body.input_file_id, "file-in")
      assert.strictEqual(body.endpoint, endpoint)
      assert.strictEqual(body.completion_window, "24h")
      assert.strictEqual(body.metadata.job, "nightly")
      const upload = Fake.parseMultipart(log[0]?.text ?? "", log[0]?.contentType)
      assert.strictEqual(upload.find((p) => p.name === "file")?.value.split("\n").length, 5)
      assert.deepStrictEqual(paths(log).filter((p) => !p.startsWith("GET /v1/batches/")), [
        "POST /v1/files",
        "POST /v1/batches",
        "GET /v1/files/file-out/content",
        "GET /v1/files/file-err/content"
      ])
    }).pipe(Effect.provide(Fake.layer(server(happy)))))

  it.effect("a Stream of requests with precheck: checked, uploaded and joined once each", () =>
    Effect.gen(function*() {
      const pulls = yield* Ref.make(0)
      const source = Stream.fromIterable(requests).pipe(Stream.tap(() => Ref.update(pulls, (n) => n + 1)))
      const fiber = yield* Effect.fork(BatchJob.runBatch(source, { endpoint, schedule, input: { precheck: true } }))
      yield* TestClock.adjust("10 minutes")
      const run = yield* Fiber.join(fiber)
      assert.deepStrictEqual(run.matched.map((m) => m.input.custom_id), ["a", "b", "c", "d"])
      // read once, into memory: a stream that cannot be replayed is not run twice
      assert.strictEqual(yield* Ref.get(pulls), 4)
    }).pipe(Effect.provide(Fake.layer(server(happy)))))

  it.effect("returns the partial results of an expired batch, listing what is missing (a batch_expired line is no result)", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(BatchJob.runBatch(requests, { endpoint, schedule }))
      yield* TestClock.adjust("1 minute")
      const run = yield* Fiber.join(fiber)
      assert.strictEqual(run.batch.status, "expired")
      assert.deepStrictEqual(run.matched.map((m) => [m.input.custom_id, m.result._tag]), [["a", "Succeeded"]])
      assert.deepStrictEqual(run.missing.map((i) => i.custom_id), ["b", "c", "d"])
    }).pipe(Effect.provide(Fake.layer(server({
      polls: [{ status: "in_progress" }, { status: "expired", output_file_id: "file-out", error_file_id: "file-err" }],
      files: { "file-out": [Fake.okLine("a")], "file-err": [Fake.expiredLine("c")] }
    })))))

  it.effect("cancels the batch when the wait is interrupted (the default)", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(BatchJob.runBatch(requests, { endpoint, schedule }))
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.interrupt(fiber)
      const log = paths(yield* Fake.requests)
      assert.strictEqual(log.at(-1), "POST /v1/batches/batch_abc123/cancel")
      assert.strictEqual(log.filter((p) => p.endsWith("/cancel")).length, 1)
    }).pipe(Effect.provide(Fake.layer(server({ polls: [{ status: "in_progress" }] })))))

  for (
    const [name, cancel] of [["never answers", { hang: true }], ["keeps failing with 500", { status: 500 }]] as const
  ) {
    it.effect(`the cancel on interrupt is bounded: one attempt, 10 s in all, when it ${name}`, () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(BatchJob.runBatch(requests, { endpoint, schedule }))
        yield* TestClock.adjust("30 seconds")
        const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
        yield* TestClock.adjust("9 seconds")
        // A hanging cancel holds the interrupt up to the bound, not a moment longer; a failing one not at all.
        const early = yield* Fiber.poll(interrupting)
        assert.strictEqual(early._tag === "Some", name !== "never answers")
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(interrupting)
        assert.strictEqual(Duration.toMillis(BatchJob.cancelTimeout), 10_000)
        assert.strictEqual(paths(yield* Fake.requests).filter((p) => p.endsWith("/cancel")).length, 1)
      }).pipe(Effect.provide(Fake.layer(server({ polls: [{ status: "in_progress" }], cancel })))))
  }

  it.effect("leaves the batch running when cancelOnInterrupt is false", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(BatchJob.runBatch(requests, { endpoint, schedule, cancelOnInterrupt: false }))
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.interrupt(fiber)
      const log = paths(yield* Fake.requests)
      assert.isTrue(log.includes("POST /v1/batches"))
      assert.isFalse(log.some((p) => p.endsWith("/cancel")))
    }).pipe(Effect.provide(Fake.layer(server({ polls: [{ status: "in_progress" }] })))))

  it.effect("fails with WaitTimeoutError at the deadline, and cancels", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(BatchJob.runBatch(requests, { endpoint, schedule, timeout: "5 minutes" }))
      yield* TestClock.adjust("6 minutes")
      const error = yield* Fiber.join(fiber).pipe(Effect.flip)
      assert.strictEqual(error._tag, "WaitTimeoutError")
      assert.isTrue(paths(yield* Fake.requests).includes("POST /v1/batches/batch_abc123/cancel"))
    }).pipe(Effect.provide(Fake.layer(server({ polls: [{ status: "in_progress" }] })))))

  it.effect("fails with BatchFailedError for a failed batch", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(BatchJob.runBatch(requests, { endpoint, schedule }))
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber).pipe(Effect.flip)
      assert.strictEqual(error._tag, "BatchFailedError")
      if (error._tag === "BatchFailedError") assert.include(error.message, "line 2")
    }).pipe(Effect.provide(Fake.layer(server({
      polls: [{
        status: "failed",
        errors: { object: "list", data: [{ code: "invalid_json_line", message: "bad", line: 2, param: null }] }
      }]
    })))))

  it.effect("deletes the uploaded input file when the create fails", () =>
    Effect.gen(function*() {
      const error = yield* BatchJob.runBatch(requests, { endpoint, schedule }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "BadRequestError")
      assert.deepStrictEqual(paths(yield* Fake.requests), [
        "POST /v1/files",
        "POST /v1/batches",
        "DELETE /v1/files/file-in"
      ])
    }).pipe(Effect.provide(Fake.layer(server({ polls: [], createStatus: 400 })))))

  it.effect("refuses a bad input before uploading anything", () =>
    Effect.gen(function*() {
      const error = yield* BatchJob.runBatch([chat("a"), BatchLine.embedding("e", { model: "m", input: "x" })], {
        endpoint,
        schedule
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "EndpointMismatchError")
      assert.deepStrictEqual(yield* Fake.requests, [])
    }).pipe(Effect.provide(Fake.layer(server(happy)))))
})
