import { FetchHttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Redacted, Schema, Stream, TestClock } from "effect"
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as OpenAiFiles from "../src/OpenAiFiles.js"
import * as Fake from "./support/FakeFiles.js"

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8"))

const created: Fake.Responder = () => ({ status: 200, body: Fake.fileJson() })
const decoder = new TextDecoder()

/** A purpose the type system would refuse, to check the runtime check. */
const uncheckedPurpose = (purpose: string) => purpose as OpenAiFiles.UploadParams["purpose"]

describe("OpenAiFiles", () => {
  it("decodes the official file examples, which omit the deprecated status", () => {
    for (const name of ["createFile.response.json", "retrieveFile.response.json", "OpenAIFile.object.json"]) {
      const file = Schema.decodeUnknownSync(OpenAiFiles.OpenAIFile)(fixture(name))
      assert.strictEqual(file.id, "file-abc123")
      assert.isUndefined(file.status)
    }
    const withStatus = Schema.decodeUnknownSync(OpenAiFiles.OpenAIFile)({
      ...Fake.fileJson(),
      status: "processed",
      purpose: "new_purpose"
    })
    assert.strictEqual(withStatus.status, "processed")
    assert.strictEqual(withStatus.purpose, "new_purpose")
  })

  it.effect("uploads a stream as multipart: purpose, expires_after, filename and content, streamed", () =>
    Effect.gen(function*() {
      const content = ["{\"a\":1}\n", "{\"b\":\"ü\"}\n"]
      const file = yield* OpenAiFiles.uploadFile({
        file: Stream.fromIterable(content).pipe(Stream.encodeText),
        filename: "my \"input\".jsonl",
        purpose: "batch",
        expires_after: { anchor: "created_at", seconds: 3600 }
      })
      assert.strictEqual(file.id, "file-abc123")
      const [request] = yield* Fake.requests
      assert.strictEqual(request?.method, "POST")
      assert.strictEqual(request?.url.href, "https://api.test/v1/files")
      assert.strictEqual(request?.bodyKind, "Stream")
      assert.strictEqual(request?.headers["authorization"], `Bearer ${Fake.testKey}`)
      const parts = Fake.parseMultipart(request?.text ?? "", request?.contentType)
      assert.deepStrictEqual(parts.map((p) => [p.name, p.value]), [
        ["purpose", "batch"],
        ["expires_after[anchor]", "created_at"],
        ["expires_after[seconds]", "3600"],
        ["file", content.join("")]
      ])
      assert.strictEqual(Fake.unmarked(parts[3]?.filename), "my %22input%22.jsonl")
      assert.strictEqual(parts[3]?.contentType, "application/octet-stream")
    }).pipe(Effect.provide(Fake.layer(created))))

  it.live("uploads a Blob as a stream of known length, and a string as one body (no FormData: see OpenAiFiles)", () =>
    Effect.gen(function*() {
      yield* OpenAiFiles.uploadFile({ file: new Blob(["line\n"]), filename: "in.jsonl", purpose: "batch" })
      yield* OpenAiFiles.uploadFile({ file: "text\n", filename: "t.jsonl", purpose: "user_data" })
      const [blob, text] = yield* Fake.requests
      assert.strictEqual(blob?.bodyKind, "Stream")
      assert.strictEqual(blob?.contentLength, blob?.text.length)
      assert.strictEqual(text?.bodyKind, "Uint8Array")
      const parts = Fake.parseMultipart(blob?.text ?? "", blob?.contentType)
      assert.deepStrictEqual(parts.map((p) => [p.name, p.filename && Fake.unmarked(p.filename), p.value]), [
        ["purpose", undefined, "batch"],
        ["file", "in.jsonl", "line\n"]
      ])
      const textParts = Fake.parseMultipart(text?.text ?? "", text?.contentType)
      assert.deepStrictEqual(textParts.map((p) => p.value), ["user_data", "text\n"])
    }).pipe(Effect.provide(Fake.layer(created))))

  it.effect("reports a failing upload stream with the stream's own error, and does not retry it", () =>
    Effect.gen(function*() {
      const error = yield* OpenAiFiles.uploadFile({
        file: Stream.concat(Stream.make(new Uint8Array([1])), Stream.fail("source broke" as const)),
        filename: "x.jsonl",
        purpose: "batch"
      }).pipe(Effect.flip)
      assert.strictEqual(error, "source broke")
      // the fake never answered: the request failed while its body was read
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(Fake.layer(created))))

  it.effect("a streamed upload that got a 500 is sent once (then only looked for); a replayable one is retried", () =>
    Effect.gen(function*() {
      const streaming = yield* Effect.fork(
        OpenAiFiles.uploadFile({ file: Stream.make(new Uint8Array([65])), filename: "x", purpose: "batch" }).pipe(
          Effect.flip
        )
      )
      yield* TestClock.adjust("1 minute")
      const streamed = yield* Fiber.join(streaming)
      assert.strictEqual(streamed._tag, "InternalServerError")
      // the 500 may have come after the file was stored: looked for on the retry policy's pace (2 retries)
      const sent = (yield* Fake.requests).map((r) => `${r.method} ${r.url.pathname}`)
      assert.deepStrictEqual(sent, ["POST /v1/files", "GET /v1/files", "GET /v1/files"])
      const fiber = yield* Effect.fork(OpenAiFiles.uploadFile({ file: "A", filename: "x", purpose: "batch" }))
      yield* TestClock.adjust("1 minute")
      const file = yield* Fiber.join(fiber)
      assert.strictEqual(file.id, "file-abc123")
      // a 500, then (the file may have been stored) a lookup that finds nothing, then the upload again
      assert.deepStrictEqual((yield* Fake.requests).slice(3).map((r) => `${r.method} ${r.url.pathname}`), [
        "POST /v1/files",
        "GET /v1/files",
        "POST /v1/files"
      ])
    }).pipe(
      Effect.provide(
        Fake.layer((request, index) =>
          request.method === "GET"
            ? { status: 200, body: { object: "list", data: [], has_more: false } }
            : index === 5
            ? { status: 200, body: Fake.fileJson() }
            : { status: 500, body: { error: { message: "boom" } } }
        )
      )
    ))

  it.effect("validates file ids and upload parameters before sending", () =>
    Effect.gen(function*() {
      for (const id of ["", "../batches", "file-1/content", "a?b", "file 1"]) {
        const error = yield* OpenAiFiles.retrieveFile(id).pipe(Effect.flip)
        assert.strictEqual(error._tag, "InvalidParamsError", id)
      }
      const downloadError = yield* Stream.runDrain(OpenAiFiles.downloadFile("..")).pipe(Effect.flip)
      assert.strictEqual(downloadError._tag, "InvalidParamsError")
      const expiry = yield* OpenAiFiles.uploadFile({
        file: "x",
        filename: "x",
        purpose: "batch",
        expires_after: { anchor: "created_at", seconds: 60 }
      }).pipe(Effect.flip)
      assert.strictEqual(expiry._tag, "InvalidParamsError")
      const injected = yield* OpenAiFiles.uploadFile({
        file: "x",
        filename: "x.jsonl",
        purpose: "batch",
        contentType: "text/plain\r\nX-Injected: 1"
      }).pipe(Effect.flip)
      assert.include(injected.message, "contentType")
      const purpose = yield* OpenAiFiles.uploadFile({
        file: "x",
        filename: "x.jsonl",
        purpose: uncheckedPurpose("batch\r\n")
      }).pipe(Effect.flip)
      assert.include(purpose.message, "purpose must be one of")
      assert.strictEqual((yield* OpenAiFiles.retrieveFile(".").pipe(Effect.flip))._tag, "InvalidParamsError")
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(Fake.layer(created))))

  it.effect("retrieves, deletes and downloads", () =>
    Effect.gen(function*() {
      const file = yield* OpenAiFiles.retrieveFile("file-abc123")
      assert.strictEqual(file.filename, "batch_input.jsonl")
      const deleted = yield* OpenAiFiles.deleteFile("file-abc123")
      assert.isTrue(deleted.deleted)
      const bytes = yield* Stream.runCollect(OpenAiFiles.downloadFile("file-abc123"))
      assert.strictEqual(Chunk.toReadonlyArray(bytes).map((b) => decoder.decode(b)).join(""), "one\ntwo\n")
      const requests = yield* Fake.requests
      assert.deepStrictEqual(requests.map((r) => `${r.method} ${r.url.pathname}`), [
        "GET /v1/files/file-abc123",
        "DELETE /v1/files/file-abc123",
        "GET /v1/files/file-abc123/content"
      ])
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.method === "DELETE"
        ? { status: 200, body: { id: "file-abc123", object: "file", deleted: true } }
        : request.url.pathname.endsWith("/content")
        ? { status: 200, chunks: ["one\n", "two\n"] }
        : { status: 200, body: Fake.fileJson() }
    ))))

  it.effect("retries connecting a download on a 503, then streams", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")))
      yield* TestClock.adjust("1 minute")
      const bytes = yield* Fiber.join(fiber)
      assert.strictEqual(Chunk.size(bytes), 1)
      assert.strictEqual((yield* Fake.requests).length, 2)
    }).pipe(Effect.provide(Fake.layer((_, index) =>
      index === 0 ? { status: 503, body: { error: { message: "busy" } } } : { status: 200, chunks: ["x\n"] }
    ))))

  it.effect("maps a non-JSON 2xx answer to a DecodeError, and never leaks the key", () =>
    Effect.gen(function*() {
      const error = yield* OpenAiFiles.retrieveFile("file-abc123").pipe(Effect.flip)
      assert.strictEqual(error._tag, "DecodeError")
      const uploadError = yield* OpenAiFiles.uploadFile({
        file: Stream.make(new Uint8Array([1])),
        filename: "x",
        purpose: "batch"
      })
        .pipe(Effect.flip)
      assert.strictEqual(uploadError._tag, "DecodeError")
      assert.notInclude(JSON.stringify([error, uploadError]), Fake.testKey)
    }).pipe(Effect.provide(Fake.layer(() => ({ status: 200, body: "<html>proxy</html>" })))))
})

// ---------------------------------------------------------------------------------------------------------------
// Over real HTTP, with each of the platform's clients: the streamed multipart body and the download
// ---------------------------------------------------------------------------------------------------------------

interface Captured {
  readonly method: string
  readonly url: string
  readonly contentType: string | undefined
  readonly transferEncoding: string | undefined
  readonly body: string
}

const loopback = Effect.acquireRelease(
  Effect.async<{ readonly origin: string; readonly captured: Array<Captured>; readonly server: Server }>((resume) => {
    const captured: Array<Captured> = []
    const server = createServer((req, res) => {
      const parts: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => parts.push(chunk))
      req.on("error", () => {})
      req.on("end", () => {
        captured.push({
          method: req.method ?? "",
          url: req.url ?? "",
          contentType: req.headers["content-type"],
          transferEncoding: req.headers["transfer-encoding"],
          body: Buffer.concat(parts).toString("utf8")
        })
        if (req.url?.endsWith("/content")) {
          res.writeHead(200, { "content-type": "application/octet-stream" })
          res.write("{\"n\":1}\n")
          res.end("{\"n\":2}\n")
          return
        }
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify(Fake.fileJson({ id: "file-real" })))
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ origin: `http://127.0.0.1:${port}`, captured, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

const transports = [
  ["undici", NodeHttpClient.layerUndici],
  ["node:http", NodeHttpClient.layer],
  ["fetch", FetchHttpClient.layer]
] as const

describe("OpenAiFiles over HTTP", () => {
  for (const [name, transport] of transports) {
    it.scopedLive(`${name}: streams a multipart upload (chunked) and a download`, () =>
      Effect.gen(function*() {
        const { captured, origin } = yield* loopback
        const layer = OpenAiFiles.layer.pipe(
          Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(Fake.testKey), baseUrl: `${origin}/v1` })),
          Layer.provide(transport)
        )
        const lines = Array.from({ length: 2000 }, (_, i) => `{"custom_id":"r${i}","x":"ü"}\n`)
        const file = yield* OpenAiFiles.uploadFile({
          file: Stream.fromIterable(lines).pipe(Stream.rechunk(100), Stream.encodeText),
          filename: "in.jsonl",
          purpose: "batch"
        }).pipe(Effect.provide(layer))
        assert.strictEqual(file.id, "file-real")
        const upload = captured[0]
        assert.strictEqual(upload?.method, "POST")
        assert.strictEqual(upload?.url, "/v1/files")
        assert.strictEqual(upload?.transferEncoding, "chunked")
        const parts = Fake.parseMultipart(upload?.body ?? "", upload?.contentType)
        assert.deepStrictEqual(parts.map((p) => p.name), ["purpose", "file"])
        assert.strictEqual(parts[1]?.value, lines.join(""))

        const downloaded = yield* Stream.runCollect(
          OpenAiFiles.downloadFile("file-real").pipe(Stream.decodeText(), Stream.splitLines)
        ).pipe(Effect.provide(layer))
        assert.deepStrictEqual(Chunk.toReadonlyArray(downloaded), ["{\"n\":1}", "{\"n\":2}"])

        const broken = yield* OpenAiFiles.uploadFile({
          file: Stream.concat(Stream.make(new Uint8Array([65])), Stream.fail({ _tag: "SourceFailed" } as const)),
          filename: "in.jsonl",
          purpose: "batch"
        }).pipe(Effect.provide(layer), Effect.flip)
        assert.deepStrictEqual(broken, { _tag: "SourceFailed" })
      }))
  }
})
