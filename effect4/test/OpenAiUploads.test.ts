/**
 * OpenAiUploads on the simulator's Uploads API (ported from the root's test/OpenAiUploads.test.ts), and the
 * simulator's own rules for it, raw.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { createHash } from "node:crypto"
import * as OpenAiUploads from "../src/OpenAiUploads.js"
import * as BatchApiSimulator from "../src/testing/BatchApiSimulator.js"
import { unmarked } from "./support/FakeFiles.js"
import { send, start } from "./testing/support.js"

const TestApi = BatchApiSimulator.layerBatchApi()

/** `n` deterministic bytes. */
const bytesOf = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff)

/** `bytes` as a stream of uneven chunks (1, 2, 3, ... bytes, then the rest). */
const unevenStream = (bytes: Uint8Array) => {
  const chunks: Array<Uint8Array> = []
  for (let at = 0, n = 1; at < bytes.length; at += n, n++) chunks.push(bytes.slice(at, at + n))
  return Stream.fromIterable(chunks)
}

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")

const content = (simulator: BatchApiSimulator.Simulator, fileId: string) =>
  Effect.map(simulator.file(fileId), (file) => Option.getOrThrow(file).content)

const requestsTo = (simulator: BatchApiSimulator.Simulator, suffix: string) =>
  Effect.map(simulator.requests, (log) => log.filter((r) => r.path.endsWith(suffix)))

describe("OpenAiUploads: the operations", () => {
  it.effect("create, add parts, complete in the given order with the md5: the file is the parts in that order", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const [a, b] = [bytesOf(10, 1), bytesOf(7, 2)]
      const upload = yield* OpenAiUploads.createUpload({
        filename: "in.jsonl",
        purpose: "batch",
        bytes: 17,
        mime_type: "text/jsonl"
      })
      assert.instanceOf(upload, OpenAiUploads.Upload)
      assert.strictEqual(upload.status, "pending")
      assert.strictEqual(upload.expires_at - upload.created_at, 3600)
      const partA = yield* OpenAiUploads.addUploadPart(upload.id, a)
      const partB = yield* OpenAiUploads.addUploadPart(upload.id, b)
      assert.strictEqual(partA.upload_id, upload.id)
      const whole = new Uint8Array([...b, ...a])
      const done = yield* OpenAiUploads.completeUpload(upload.id, { part_ids: [partB.id, partA.id], md5: md5(whole) })
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.file.bytes, 17)
      assert.strictEqual(done.file.purpose, "batch")
      assert.deepStrictEqual(yield* content(simulator, done.file.id), whole)
      const held = Option.getOrThrow(yield* simulator.upload(upload.id))
      assert.deepStrictEqual([held.status, held.parts, held.fileId], ["completed", 0, done.file.id])
    }).pipe(Effect.provide(TestApi)))

  it.effect("the API's refusals: a wrong md5, parts that do not add up, a part after cancel, an expired upload", () =>
    Effect.gen(function*() {
      const upload = yield* OpenAiUploads.createUpload({
        filename: "in.jsonl",
        purpose: "batch",
        bytes: 4,
        mime_type: "text/jsonl"
      })
      const part = yield* OpenAiUploads.addUploadPart(upload.id, bytesOf(3))
      const short = yield* Effect.flip(OpenAiUploads.completeUpload(upload.id, { part_ids: [part.id] }))
      assert.strictEqual(short._tag, "BadRequestError")
      assert.match(short.message, /number of bytes uploaded \(3\) does not match/)
      const last = yield* OpenAiUploads.addUploadPart(upload.id, bytesOf(1))
      const wrongMd5 = yield* Effect.flip(
        OpenAiUploads.completeUpload(upload.id, { part_ids: [part.id, last.id], md5: "0".repeat(32) })
      )
      assert.strictEqual(wrongMd5._tag === "BadRequestError" ? wrongMd5.param : "", "md5")
      const cancelled = yield* OpenAiUploads.cancelUpload(upload.id)
      assert.strictEqual(cancelled.status, "cancelled")
      const late = yield* Effect.flip(OpenAiUploads.addUploadPart(upload.id, bytesOf(1)))
      assert.strictEqual(late._tag, "BadRequestError")

      const other = yield* OpenAiUploads.createUpload({
        filename: "x.jsonl",
        purpose: "batch",
        bytes: 1,
        mime_type: "text/jsonl"
      })
      yield* TestClock.adjust("61 minutes")
      const expired = yield* Effect.flip(OpenAiUploads.addUploadPart(other.id, bytesOf(1)))
      assert.match(expired.message, /is expired/)
      const missing = yield* Effect.flip(OpenAiUploads.cancelUpload("upload_missing"))
      assert.strictEqual(missing._tag, "NotFoundError")
    }).pipe(Effect.provide(TestApi)))

  it.effect("refuses bad parameters before sending anything", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const create = (params: Partial<OpenAiUploads.CreateUploadParams>) =>
        Effect.flip(OpenAiUploads.createUpload({
          filename: "in.jsonl",
          purpose: "batch",
          bytes: 10,
          mime_type: "text/jsonl",
          ...params
        }))
      const errors = [
        yield* create({ bytes: -1 }),
        yield* create({ bytes: 1.5 }),
        yield* create({ bytes: 9 * 1024 ** 3 }),
        yield* create({ filename: "" }),
        yield* create({ mime_type: "" }),
        yield* Effect.flip(OpenAiUploads.addUploadPart("upload/../x", bytesOf(1))),
        yield* Effect.flip(OpenAiUploads.completeUpload("upload_1", { part_ids: [], md5: "abc" }))
      ]
      assert.deepStrictEqual(
        errors.map((e) => e._tag === "InvalidParamsError" ? e.field : e._tag),
        ["bytes", "bytes", "bytes", "filename", "mime_type", "uploadId", "md5"]
      )
      assert.deepStrictEqual(yield* simulator.requests, [])
    }).pipe(Effect.provide(TestApi)))
})

describe("OpenAiUploads.uploadStream", () => {
  it.effect("cuts any stream into parts of partSize (the last shorter), in order, with the md5, and completes", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const data = bytesOf(10_000)
      for (const concurrency of [1, 3]) {
        yield* simulator.clearRequests
        const done = yield* OpenAiUploads.uploadStream(unevenStream(data), {
          bytes: data.length,
          filename: "big.jsonl",
          purpose: "batch",
          partSize: 1024,
          concurrency
        })
        assert.deepStrictEqual(yield* content(simulator, done.file.id), data)
        const parts = yield* requestsTo(simulator, "/parts")
        assert.strictEqual(parts.length, 10)
        assert.deepStrictEqual(
          parts.map((r) => (r.body as { readonly data: { readonly bytes: number } }).data.bytes),
          [...Array.from({ length: 9 }, () => 1024), 10_000 - 9 * 1024]
        )
        const [completion] = yield* requestsTo(simulator, "/complete")
        assert.strictEqual((completion?.body as { readonly md5: string }).md5, md5(data))
        const create = (yield* requestsTo(simulator, "/uploads"))[0]?.body as Record<string, unknown> & {
          filename: string
        }
        // The filename carries the upload's marker (a completion whose answer is lost is found by it).
        assert.strictEqual(unmarked(create.filename), "big.jsonl")
        assert.strictEqual(done.file.filename, create.filename)
        assert.deepStrictEqual(create, {
          filename: create.filename,
          purpose: "batch",
          bytes: 10_000,
          mime_type: "text/jsonl"
        })
      }
    }).pipe(Effect.provide(TestApi)))

  it.effect("a chunk holding whole parts is sent as views of it; an empty stream makes an empty file", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const data = bytesOf(5000)
      const done = yield* OpenAiUploads.uploadStream(Stream.make(data), {
        bytes: 5000,
        filename: "one.bin",
        purpose: "user_data",
        partSize: 2000
      })
      assert.deepStrictEqual(yield* content(simulator, done.file.id), data)
      assert.strictEqual((yield* requestsTo(simulator, "/parts")).length, 3)
      const [create] = yield* requestsTo(simulator, "/uploads")
      assert.strictEqual((create?.body as { readonly mime_type: string }).mime_type, "application/octet-stream")
      const empty = yield* OpenAiUploads.uploadStream(Stream.empty, { bytes: 0, filename: "e.jsonl", purpose: "batch" })
      assert.strictEqual(empty.file.bytes, 0)
    }).pipe(Effect.provide(TestApi)))

  it.effect("a failed part is retried on its own; the others are sent once", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const data = bytesOf(5000)
      let partsSeen = 0
      // the third part fails twice (a 500, then a connection reset during its body), then goes through
      yield* simulator.injectFault(BatchApiSimulator.serverError(500), {
        match: (request) => request.path.endsWith("/parts") && ++partsSeen === 3
      })
      yield* simulator.injectFault(BatchApiSimulator.resetDuringBody, {
        match: (request) => request.path.endsWith("/parts") && partsSeen === 3
      })
      const fiber = yield* Effect.forkChild(OpenAiUploads.uploadStream(unevenStream(data), {
        bytes: data.length,
        filename: "retry.jsonl",
        purpose: "batch",
        partSize: 1000
      }))
      // Effect 4's TestClock.adjust fires the sleeps due when it is called: step through the retries' backoff
      for (let i = 0; i < 6; i++) yield* TestClock.adjust("10 seconds")
      const done = yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* content(simulator, done.file.id), data)
      const parts = yield* requestsTo(simulator, "/parts")
      assert.deepStrictEqual(parts.map((r) => r.fault ?? r.status), [
        200,
        200,
        "ServerError",
        "ResetDuringBody",
        200,
        200,
        200
      ])
    }).pipe(Effect.provide(TestApi)))

  it.effect("a size that does not match bytes fails with InvalidParamsError and cancels the upload", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const data = bytesOf(3000)
      const over = yield* Effect.flip(OpenAiUploads.uploadStream(unevenStream(data), {
        bytes: 1500,
        filename: "over.jsonl",
        purpose: "batch",
        partSize: 1000
      }))
      assert.strictEqual(over._tag === "InvalidParamsError" ? over.field : "", "bytes")
      assert.match(over.message, /uploadStream: bytes is 1500, but the stream produced more/)
      // it stopped reading early: one full part sent, the stream's end never reached
      assert.strictEqual((yield* requestsTo(simulator, "/parts")).length, 1)
      const under = yield* Effect.flip(OpenAiUploads.uploadStream(unevenStream(data), {
        bytes: 4000,
        filename: "under.jsonl",
        purpose: "batch",
        partSize: 1000
      }))
      assert.match(under.message, /is 4000, but the stream produced 3000 bytes/)
      const cancels = yield* requestsTo(simulator, "/cancel")
      assert.strictEqual(cancels.length, 2)
      for (const cancel of cancels) {
        const id = cancel.path.split("/")[3] ?? ""
        assert.strictEqual(Option.getOrThrow(yield* simulator.upload(id)).status, "cancelled")
      }
    }).pipe(Effect.provide(TestApi)))

  it.effect("an interruption's cancel is one attempt of at most 10 s, whatever the retry policy says", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      // The cancel never answers: the default policy would try it 3 times, 60 s each.
      yield* simulator.injectFault(BatchApiSimulator.timeout, { times: 10, match: { path: /\/cancel$/ } })
      const endless = Stream.concat(Stream.make(bytesOf(1500)), Stream.never)
      const upload = yield* Effect.forkChild(
        OpenAiUploads.uploadStream(endless, { bytes: 5000, filename: "x.jsonl", purpose: "batch", partSize: 1000 })
      )
      // its first full part is sent; the stream then waits forever
      while ((yield* requestsTo(simulator, "/parts")).length === 0) yield* Effect.yieldNow
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(upload))
      while ((yield* requestsTo(simulator, "/cancel")).length === 0) yield* Effect.yieldNow
      yield* TestClock.adjust("10 seconds")
      for (let i = 0; i < 100 && interrupting.pollUnsafe() === undefined; i++) yield* Effect.yieldNow
      assert.isDefined(interrupting.pollUnsafe(), "the interrupt ended within 10 s")
      assert.strictEqual((yield* requestsTo(simulator, "/cancel")).length, 1)
    }).pipe(Effect.provide(TestApi)))

  it.effect("the stream's own failure, a part that keeps failing, and an interruption each cancel the upload", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const params = { bytes: 5000, filename: "x.jsonl", purpose: "batch", partSize: 1000 } as const
      const broken = Stream.concat(Stream.make(bytesOf(2500)), Stream.fail("disk gone" as const))
      const failed = yield* Effect.flip(OpenAiUploads.uploadStream(broken, params))
      assert.strictEqual(failed, "disk gone")

      yield* simulator.injectFault(BatchApiSimulator.serverError(503), { times: 10, match: { path: /\/parts$/ } })
      const rejected = yield* Effect.forkChild(
        Effect.flip(OpenAiUploads.uploadStream(unevenStream(bytesOf(5000)), params))
      )
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("10 seconds")
      const exhausted = yield* Fiber.join(rejected)
      assert.strictEqual(exhausted._tag, "InternalServerError")
      yield* simulator.clearFaults

      const endless = Stream.concat(Stream.make(bytesOf(1500)), Stream.never)
      const before = (yield* requestsTo(simulator, "/parts")).length
      const running = yield* Effect.forkChild(OpenAiUploads.uploadStream(endless, params))
      // its first full part is sent; the stream then waits forever
      while ((yield* requestsTo(simulator, "/parts")).length === before) yield* Effect.yieldNow
      yield* Fiber.interrupt(running)

      const uploads = yield* requestsTo(simulator, "/v1/uploads")
      assert.strictEqual(uploads.length, 3)
      const cancels = yield* requestsTo(simulator, "/cancel")
      assert.strictEqual(cancels.length, 3)
      for (const cancel of cancels) {
        const held = Option.getOrThrow(yield* simulator.upload(cancel.path.split("/")[3] ?? ""))
        assert.deepStrictEqual([held.status, held.parts], ["cancelled", 0])
      }
    }).pipe(Effect.provide(TestApi)))

  it.effect("partSize and concurrency are checked before anything is sent", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const params = { bytes: 1, filename: "x.jsonl", purpose: "batch" } as const
      for (
        const [options, field] of [
          [{ partSize: 0 }, "partSize"],
          [{ partSize: 64 * 1024 ** 2 + 1 }, "partSize"],
          [{ concurrency: 0 }, "concurrency"]
        ] as const
      ) {
        const error = yield* Effect.flip(OpenAiUploads.uploadStream(Stream.make(bytesOf(1)), { ...params, ...options }))
        assert.strictEqual(error._tag === "InvalidParamsError" ? error.field : "", field)
      }
      assert.deepStrictEqual(yield* simulator.requests, [])
    }).pipe(Effect.provide(TestApi)))
})

describe("the simulator's Uploads API, raw", () => {
  const encoder = new TextEncoder()

  /** A multipart body with one file field `data`. */
  const partBody = (data: Uint8Array) => {
    const boundary = "----simtest-part"
    const head = encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="part"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n`
    )
    const tail = encoder.encode(`\r\n--${boundary}--\r\n`)
    const raw = new Uint8Array(head.length + data.length + tail.length)
    raw.set(head)
    raw.set(data, head.length)
    raw.set(tail, head.length + data.length)
    return { raw, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } }
  }

  const create = { filename: "in.jsonl", purpose: "batch", bytes: 6, mime_type: "text/jsonl" }

  describe("BatchApiSimulator: the Uploads API", () => {
    it.effect("create: 400s naming param for each field the API checks", () =>
      Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.make()
        const cases: ReadonlyArray<readonly [Record<string, unknown>, string | null]> = [
          [{ ...create, filename: undefined }, "filename"],
          [{ ...create, purpose: "bogus" }, "purpose"],
          [{ ...create, bytes: -1 }, "bytes"],
          [{ ...create, bytes: 8 * 1024 ** 3 + 1 }, "bytes"],
          [{ ...create, mime_type: "" }, "mime_type"],
          [{ ...create, filename: "in.csv" }, "filename"],
          [{ ...create, expires_after: { anchor: "created_at", seconds: 5 } }, "expires_after.seconds"],
          [{ ...create, colour: "red" }, null]
        ]
        for (const [body, param] of cases) {
          const answer = yield* send(simulator, "POST", "/v1/uploads", { body })
          assert.strictEqual(answer.status, 400, JSON.stringify(body))
          assert.strictEqual(answer.json.error.param, param)
        }
        const ok = yield* send(simulator, "POST", "/v1/uploads", { body: create })
        assert.strictEqual(ok.status, 200)
        assert.deepStrictEqual(
          [ok.json.object, ok.json.status, ok.json.bytes, ok.json.file],
          ["upload", "pending", 6, null]
        )
      }))

    it.effect("parts and completion: a part over 64 MiB, unknown or repeated part ids, a part of another upload", () =>
      Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.make()
        const upload = (yield* send(simulator, "POST", "/v1/uploads", { body: create })).json.id as string
        const other = (yield* send(simulator, "POST", "/v1/uploads", { body: create })).json.id as string
        const add = (id: string, data: Uint8Array) => send(simulator, "POST", `/v1/uploads/${id}/parts`, partBody(data))
        const tooBig = yield* add(upload, new Uint8Array(64 * 1024 ** 2 + 1))
        assert.deepStrictEqual([tooBig.status, tooBig.json.error.param], [400, "data"])
        const noData = yield* send(simulator, "POST", `/v1/uploads/${upload}/parts`, { body: {} })
        assert.strictEqual(noData.status, 400)
        const a = (yield* add(upload, encoder.encode("abc"))).json
        assert.deepStrictEqual([a.object, a.upload_id], ["upload.part", upload])
        const b = (yield* add(upload, encoder.encode("def"))).json.id as string
        const foreign = (yield* add(other, encoder.encode("xyz"))).json.id as string
        const complete = (part_ids: ReadonlyArray<string>) =>
          send(simulator, "POST", `/v1/uploads/${upload}/complete`, { body: { part_ids } })
        for (const ids of [[a.id, a.id], [a.id, "part_missing"], [a.id, foreign]]) {
          const refused = yield* complete(ids)
          assert.deepStrictEqual([refused.status, refused.json.error.param], [400, "part_ids"])
        }
        const held = Option.getOrThrow(yield* simulator.upload(upload))
        assert.deepStrictEqual([held.status, held.parts, held.bytesReceived], ["pending", 2, 6])
        const done = yield* complete([b, a.id])
        assert.strictEqual(done.status, 200)
        const file = Option.getOrThrow(yield* simulator.file(done.json.file.id))
        assert.strictEqual(new TextDecoder().decode(file.content), "defabc")
        assert.strictEqual(file.filename, "in.jsonl")
        const again = yield* complete([b, a.id])
        assert.deepStrictEqual([again.status, again.json.error.code], [400, "invalid_state"])
        const cancelCompleted = yield* send(simulator, "POST", `/v1/uploads/${upload}/cancel`)
        assert.strictEqual(cancelCompleted.status, 400)
        const unknown = yield* send(simulator, "POST", "/v1/uploads/upload_nope/complete", { body: { part_ids: [] } })
        assert.strictEqual(unknown.status, 404)
        const get = yield* send(simulator, "GET", `/v1/uploads/${upload}`)
        assert.strictEqual(get.status, 404)
      }))

    it.effect("a pending upload reads as expired an hour after its creation, and takes no more parts", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(start)
        const simulator = yield* BatchApiSimulator.make()
        const created = (yield* send(simulator, "POST", "/v1/uploads", { body: create })).json
        assert.strictEqual(created.expires_at, start / 1000 + 3600)
        yield* TestClock.adjust("59 minutes")
        assert.strictEqual(Option.getOrThrow(yield* simulator.upload(created.id)).status, "pending")
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(Option.getOrThrow(yield* simulator.upload(created.id)).status, "expired")
        const late = yield* send(simulator, "POST", `/v1/uploads/${created.id}/parts`, partBody(encoder.encode("a")))
        assert.strictEqual(late.status, 400)
        assert.match(late.json.error.message, /expired/)
      }))
  })
})
