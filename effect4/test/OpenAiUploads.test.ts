/**
 * OpenAiUploads (ported from the root's test/OpenAiUploads.test.ts). The root runs these on the simulator, which
 * this edition does not have yet: here a small in-memory Uploads API (create, parts, complete, cancel) answers
 * through the fake `HttpClient`, keeps each part's bytes as they arrived in the multipart body, and builds the file
 * from the part ids in the order the completion gives. Its refusals are only the ones these tests need (the
 * simulator's own rules are tested with the simulator).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { createHash } from "node:crypto"
import * as OpenAiUploads from "../src/OpenAiUploads.js"
import * as Fake from "./support/FakeFiles.js"

/** `n` deterministic bytes. */
const bytesOf = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff)

/** `bytes` as a stream of uneven chunks (1, 2, 3, ... bytes, then the rest). */
const unevenStream = (bytes: Uint8Array) => {
  const chunks: Array<Uint8Array> = []
  for (let at = 0, n = 1; at < bytes.length; at += n, n++) chunks.push(bytes.slice(at, at + n))
  return Stream.fromIterable(chunks)
}

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")

const encoder = new TextEncoder()

/** The `data` field of a part's multipart body, as bytes. */
const partData = (request: Fake.Recorded): Uint8Array => {
  const boundary = /boundary=([^;]+)/.exec(request.contentType ?? "")?.[1] ?? ""
  const raw = request.raw
  const headEnd = Buffer.from(raw).indexOf("\r\n\r\n") + 4
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`).length
  assert.include(request.text.slice(0, headEnd), "name=\"data\"")
  return raw.subarray(headEnd, raw.length - tail)
}

interface Held {
  readonly id: string
  readonly bytes: number
  status: "pending" | "completed" | "cancelled"
  readonly parts: Map<string, Uint8Array>
}

/** An in-memory Uploads API; `fault(request, index)` may answer a request first (a failure to inject). */
const uploadsApi = (fault: (request: Fake.Recorded, index: number) => Fake.Reply | undefined = () => undefined) => {
  const uploads = new Map<string, Held>()
  const files = new Map<string, Uint8Array>()
  let next = 0
  const uploadJson = (held: Held, file?: unknown) => ({
    id: held.id,
    object: "upload",
    bytes: held.bytes,
    created_at: 1_700_000_000,
    expires_at: 1_700_003_600,
    filename: "in.jsonl",
    purpose: "batch",
    status: held.status,
    file: file ?? null
  })
  const refuse = (message: string, param: string | null = null): Fake.Reply => ({
    status: 400,
    body: { error: { message, type: "invalid_request_error", param, code: null } }
  })
  const responder: Fake.Responder = (request, index) => {
    const injected = fault(request, index)
    if (injected !== undefined) return injected
    const path = request.url.pathname
    if (path === "/v1/uploads") {
      const body = JSON.parse(request.text) as { readonly bytes: number }
      const held: Held = { id: `upload_${next++}`, bytes: body.bytes, status: "pending", parts: new Map() }
      uploads.set(held.id, held)
      return { status: 200, body: uploadJson(held) }
    }
    const [, , , id = "", action] = path.split("/")
    const held = uploads.get(id)
    if (held === undefined) return { status: 404, body: { error: { message: "No such upload", type: "x" } } }
    if (action === "parts") {
      if (held.status !== "pending") return refuse(`upload ${id} is ${held.status}`)
      const partId = `part_${next++}`
      held.parts.set(partId, partData(request).slice())
      return { status: 200, body: { id: partId, object: "upload.part", created_at: 1, upload_id: id } }
    }
    if (action === "cancel") {
      held.status = "cancelled"
      return { status: 200, body: uploadJson(held) }
    }
    const body = JSON.parse(request.text) as { readonly part_ids: ReadonlyArray<string>; readonly md5?: string }
    const pieces = body.part_ids.map((part) => held.parts.get(part) ?? new Uint8Array(0))
    const whole = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0))
    pieces.reduce((at, piece) => (whole.set(piece, at), at + piece.length), 0)
    if (whole.length !== held.bytes) {
      return refuse(`the number of bytes uploaded (${whole.length}) does not match ${held.bytes}`, "bytes")
    }
    if (body.md5 !== undefined && body.md5 !== md5(whole)) return refuse("md5 does not match", "md5")
    held.status = "completed"
    const fileId = `file-${next++}`
    files.set(fileId, whole)
    return {
      status: 200,
      body: uploadJson(held, Fake.fileJson({ id: fileId, bytes: whole.length, filename: "in.jsonl" }))
    }
  }
  return { responder, uploads, files, layer: Fake.layer(responder) }
}

const sentTo = (suffix: string) =>
  Effect.map(Fake.requests, (log) => log.filter((r) => r.method === "POST" && r.url.pathname.endsWith(suffix)))

describe("OpenAiUploads: the operations", () => {
  const api = uploadsApi()
  it.effect("create, add parts, complete in the given order with the md5: the file is the parts in that order", () =>
    Effect.gen(function*() {
      const [a, b] = [bytesOf(10, 1), bytesOf(7, 2)]
      const upload = yield* OpenAiUploads.createUpload({
        filename: "in.jsonl",
        purpose: "batch",
        bytes: 17,
        mime_type: "text/jsonl"
      })
      assert.instanceOf(upload, OpenAiUploads.Upload)
      assert.strictEqual(upload.status, "pending")
      assert.isUndefined(upload.file)
      const partA = yield* OpenAiUploads.addUploadPart(upload.id, a)
      const partB = yield* OpenAiUploads.addUploadPart(upload.id, b)
      assert.strictEqual(partA.upload_id, upload.id)
      const whole = new Uint8Array([...b, ...a])
      const done = yield* OpenAiUploads.completeUpload(upload.id, { part_ids: [partB.id, partA.id], md5: md5(whole) })
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.file.bytes, 17)
      assert.deepStrictEqual(api.files.get(done.file.id), whole)
      const [create] = yield* sentTo("/uploads")
      assert.deepStrictEqual(JSON.parse(create?.text ?? ""), {
        filename: "in.jsonl",
        purpose: "batch",
        bytes: 17,
        mime_type: "text/jsonl"
      })
      const [part] = yield* sentTo("/parts")
      assert.strictEqual(part?.bodyKind, "Stream")
      assert.strictEqual(part?.contentLength, part?.raw.length)
      // the API's refusal is the library's typed error
      const refused = yield* Effect.flip(OpenAiUploads.completeUpload(upload.id, { part_ids: [partA.id] }))
      assert.strictEqual(refused._tag, "BadRequestError")
      const cancelled = yield* OpenAiUploads.cancelUpload(upload.id)
      assert.strictEqual(cancelled.status, "cancelled")
      const missing = yield* Effect.flip(OpenAiUploads.cancelUpload("upload_missing"))
      assert.strictEqual(missing._tag, "NotFoundError")
    }).pipe(Effect.provide(api.layer)))

  it.effect("refuses bad parameters before sending anything", () =>
    Effect.gen(function*() {
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
      assert.include(errors[6]?.message ?? "", "must be 32 hexadecimal digits")
      assert.deepStrictEqual(yield* Fake.requests, [])
    }).pipe(Effect.provide(uploadsApi().layer)))
})

describe("OpenAiUploads.uploadStream", () => {
  for (const concurrency of [1, 3]) {
    it.effect(`cuts any stream into parts of partSize, in order, with the md5, and completes (concurrency ${concurrency})`, () => {
      const api = uploadsApi()
      return Effect.gen(function*() {
        const data = bytesOf(10_000)
        const done = yield* OpenAiUploads.uploadStream(unevenStream(data), {
          bytes: data.length,
          filename: "big.jsonl",
          purpose: "batch",
          partSize: 1024,
          concurrency
        })
        assert.deepStrictEqual(api.files.get(done.file.id), data)
        const parts = yield* sentTo("/parts")
        assert.deepStrictEqual(
          parts.map((r) => partData(r).length),
          [...Array.from({ length: 9 }, () => 1024), 10_000 - 9 * 1024]
        )
        const [completion] = yield* sentTo("/complete")
        assert.strictEqual(JSON.parse(completion?.text ?? "").md5, md5(data))
        const [create] = yield* sentTo("/uploads")
        assert.deepStrictEqual(JSON.parse(create?.text ?? ""), {
          filename: "big.jsonl",
          purpose: "batch",
          bytes: 10_000,
          mime_type: "text/jsonl"
        })
      }).pipe(Effect.provide(api.layer))
    })
  }

  it.effect("a chunk holding whole parts is sent as views of it; an empty stream makes an empty file", () => {
    const api = uploadsApi()
    return Effect.gen(function*() {
      const data = bytesOf(5000)
      const done = yield* OpenAiUploads.uploadStream(Stream.make(data), {
        bytes: 5000,
        filename: "one.bin",
        purpose: "user_data",
        partSize: 2000
      })
      assert.deepStrictEqual(api.files.get(done.file.id), data)
      assert.strictEqual((yield* sentTo("/parts")).length, 3)
      const [create] = yield* sentTo("/uploads")
      assert.strictEqual(JSON.parse(create?.text ?? "").mime_type, "application/octet-stream")
      const empty = yield* OpenAiUploads.uploadStream(Stream.empty, { bytes: 0, filename: "e.jsonl", purpose: "batch" })
      assert.strictEqual(empty.file.bytes, 0)
    }).pipe(Effect.provide(api.layer))
  })

  it.effect("a failed part is retried on its own; the others are sent once", () => {
    let partsSeen = 0
    // the third part fails twice (a 500, then a dropped connection), then goes through
    const api = uploadsApi((request) => {
      if (!request.url.pathname.endsWith("/parts")) return undefined
      partsSeen++
      return partsSeen === 3
        ? { status: 500, body: { error: { message: "boom" } } }
        : partsSeen === 4
        ? { drop: true }
        : undefined
    })
    return Effect.gen(function*() {
      const data = bytesOf(5000)
      const fiber = yield* Effect.forkChild(OpenAiUploads.uploadStream(unevenStream(data), {
        bytes: data.length,
        filename: "retry.jsonl",
        purpose: "batch",
        partSize: 1000
      }))
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("10 seconds")
      const done = yield* Fiber.join(fiber)
      assert.deepStrictEqual(api.files.get(done.file.id), data)
      const parts = yield* sentTo("/parts")
      assert.strictEqual(parts.length, 7)
      // the retried part is the same bytes each time
      assert.deepStrictEqual(partData(parts[2]!), partData(parts[4]!))
      assert.deepStrictEqual(partData(parts[4]!), data.subarray(2000, 3000))
    }).pipe(Effect.provide(api.layer))
  })

  it.effect("a size that does not match bytes fails with InvalidParamsError and cancels the upload", () => {
    const api = uploadsApi()
    return Effect.gen(function*() {
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
      assert.strictEqual((yield* sentTo("/parts")).length, 1)
      const under = yield* Effect.flip(OpenAiUploads.uploadStream(unevenStream(data), {
        bytes: 4000,
        filename: "under.jsonl",
        purpose: "batch",
        partSize: 1000
      }))
      assert.match(under.message, /is 4000, but the stream produced 3000 bytes/)
      assert.strictEqual((yield* sentTo("/cancel")).length, 2)
      assert.deepStrictEqual([...api.uploads.values()].map((held) => held.status), ["cancelled", "cancelled"])
    }).pipe(Effect.provide(api.layer))
  })

  it.effect("the stream's own failure, a part that keeps failing, and an interruption each cancel the upload", () => {
    let failParts = false
    const api = uploadsApi((request) =>
      failParts && request.url.pathname.endsWith("/parts")
        ? { status: 503, body: { error: { message: "busy" } } }
        : undefined
    )
    return Effect.gen(function*() {
      const params = { bytes: 5000, filename: "x.jsonl", purpose: "batch", partSize: 1000 } as const
      const broken = Stream.concat(Stream.make(bytesOf(2500)), Stream.fail("disk gone" as const))
      const failed = yield* Effect.flip(OpenAiUploads.uploadStream(broken, params))
      assert.strictEqual(failed, "disk gone")

      failParts = true
      const rejected = yield* Effect.forkChild(
        Effect.flip(OpenAiUploads.uploadStream(unevenStream(bytesOf(5000)), params))
      )
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("10 seconds")
      const exhausted = yield* Fiber.join(rejected)
      assert.strictEqual(exhausted._tag, "InternalServerError") // a 5xx, as the root reports a 503
      failParts = false

      const endless = Stream.concat(Stream.make(bytesOf(1500)), Stream.never)
      const before = (yield* sentTo("/parts")).length
      const running = yield* Effect.forkChild(OpenAiUploads.uploadStream(endless, params))
      // its first full part is sent; the stream then waits forever
      for (let i = 0; i < 1000 && (yield* sentTo("/parts")).length === before; i++) yield* Effect.yieldNow
      assert.strictEqual((yield* sentTo("/parts")).length, before + 1)
      yield* Fiber.interrupt(running)

      assert.strictEqual((yield* sentTo("/v1/uploads")).length, 3)
      assert.strictEqual((yield* sentTo("/cancel")).length, 3)
      assert.deepStrictEqual([...api.uploads.values()].map((held) => held.status), [
        "cancelled",
        "cancelled",
        "cancelled"
      ])
    }).pipe(Effect.provide(api.layer))
  })

  it.effect("partSize and concurrency are checked before anything is sent", () =>
    Effect.gen(function*() {
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
      assert.deepStrictEqual(yield* Fake.requests, [])
    }).pipe(Effect.provide(uploadsApi().layer)))
})
