/**
 * OpenAiFiles on an in-memory `HttpClient` and `TestClock` (ported from the root's test/OpenAiFiles.test.ts): the
 * multipart body, the duplicate-free upload, retrieve/delete/download, the download's resume, and one run over real
 * HTTP (a server on 127.0.0.1) with the platform's fetch client.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, Schema, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { createServer, type Server } from "node:http"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as OpenAiFiles from "../src/OpenAiFiles.js"
import * as Fake from "./support/FakeFiles.js"
import { fixture } from "./support/fixtures.js"

const created: Fake.Responder = () => ({ status: 200, body: Fake.fileJson() })
const decoder = new TextDecoder()
const text = (chunks: ReadonlyArray<Uint8Array>) => chunks.map((chunk) => decoder.decode(chunk)).join("")

/** A purpose the type system would refuse, to check the runtime check. */
const uncheckedPurpose = (purpose: string) => purpose as OpenAiFiles.UploadParams["purpose"]

/** Runs `effect` in a fiber while an hour of virtual time passes; its result. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < 60; i++) yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })

const sent = Effect.map(Fake.requests, (requests) => requests.map((r) => `${r.method} ${r.url.pathname}`))

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
      status_details: null,
      purpose: "new_purpose"
    })
    assert.strictEqual(withStatus.status, "processed")
    assert.isFalse("status_details" in withStatus)
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
      assert.instanceOf(file, OpenAiFiles.OpenAIFile)
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
      yield* OpenAiFiles.uploadFile({ file: "raw", filename: "plain", purpose: "batch" }, { idempotencyMarker: false })
      const [blob, string, unmarkedUpload] = yield* Fake.requests
      assert.strictEqual(blob?.bodyKind, "Stream")
      assert.strictEqual(blob?.contentLength, blob?.text.length)
      assert.strictEqual(string?.bodyKind, "Uint8Array")
      const parts = Fake.parseMultipart(blob?.text ?? "", blob?.contentType)
      assert.deepStrictEqual(parts.map((p) => [p.name, p.filename && Fake.unmarked(p.filename), p.value]), [
        ["purpose", undefined, "batch"],
        ["file", "in.jsonl", "line\n"]
      ])
      const stringParts = Fake.parseMultipart(string?.text ?? "", string?.contentType)
      assert.deepStrictEqual(stringParts.map((p) => p.value), ["user_data", "text\n"])
      // A name without an extension gets the marker at its end; opted out, the name is sent as given.
      assert.match(Fake.parseMultipart(string?.text ?? "", string?.contentType)[1]?.filename ?? "", /^t\.eob-/)
      const plain = Fake.parseMultipart(unmarkedUpload?.text ?? "", unmarkedUpload?.contentType)
      assert.strictEqual(plain[1]?.filename, "plain")
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
      const streamed = yield* timed(
        OpenAiFiles.uploadFile({ file: Stream.make(new Uint8Array([65])), filename: "x", purpose: "batch" }).pipe(
          Effect.flip
        )
      )
      assert.strictEqual(streamed._tag, "InternalServerError")
      // the 500 may have come after the file was stored: looked for on the retry policy's pace (2 retries)
      assert.deepStrictEqual(yield* sent, ["POST /v1/files", "GET /v1/files", "GET /v1/files"])
      const file = yield* timed(OpenAiFiles.uploadFile({ file: "A", filename: "x", purpose: "batch" }))
      assert.strictEqual(file.id, "file-abc123")
      // a 500, then (the file may have been stored) a lookup that finds nothing, then the upload again
      assert.deepStrictEqual((yield* sent).slice(3), ["POST /v1/files", "GET /v1/files", "POST /v1/files"])
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

  it.effect("an upload whose answer was lost is found by its marked filename, not stored twice", () => {
    // The server stores the file, then the connection drops; the lookup finds it under the marked name.
    let stored: Record<string, unknown> | undefined
    return Effect.gen(function*() {
      const file = yield* timed(OpenAiFiles.uploadFile({ file: "{}\n", filename: "in.jsonl", purpose: "batch" }))
      assert.strictEqual(file.id, "file-stored")
      assert.strictEqual(Fake.unmarked(file.filename), "in.jsonl")
      assert.deepStrictEqual(yield* sent, ["POST /v1/files", "GET /v1/files"])
      const lookup = (yield* Fake.requests)[1]
      assert.deepStrictEqual(
        [lookup?.url.searchParams.get("purpose"), lookup?.url.searchParams.get("order")],
        ["batch", "desc"]
      )
    }).pipe(Effect.provide(Fake.layer((request) => {
      if (request.method === "POST") {
        const filename = Fake.parseMultipart(request.text, request.contentType)[1]?.filename
        stored = Fake.fileJson({ id: "file-stored", filename, created_at: Math.floor(request.at / 1000) })
        return { drop: true }
      }
      return { status: 200, body: { object: "list", data: stored === undefined ? [] : [stored], has_more: false } }
    })))
  })

  it.effect("a 2xx whose body cannot be read is looked up at once, never sent again", () => {
    let marked: string | undefined
    return Effect.gen(function*() {
      const file = yield* OpenAiFiles.uploadFile({ file: "{}\n", filename: "in.jsonl", purpose: "batch" })
      // the file of the same name without this call's marker is not it
      assert.strictEqual(file.id, "file-late")
      assert.deepStrictEqual(yield* sent, ["POST /v1/files", "GET /v1/files"])
    }).pipe(Effect.provide(Fake.layer((request) => {
      if (request.method === "POST") {
        marked = Fake.parseMultipart(request.text, request.contentType)[1]?.filename
        return { status: 200, body: "<html>proxy</html>" }
      }
      return {
        status: 200,
        body: {
          object: "list",
          data: [
            Fake.fileJson({ id: "other", filename: "in.jsonl", created_at: 0 }),
            Fake.fileJson({ id: "file-late", filename: marked, created_at: 0 })
          ],
          has_more: false
        }
      }
    })))
  })

  it.effect("without a marker, an ambiguous failure is returned, never sent again", () =>
    Effect.gen(function*() {
      const error = yield* timed(
        OpenAiFiles.uploadFile({ file: "{}\n", filename: "in.jsonl", purpose: "batch" }, { idempotencyMarker: false })
          .pipe(Effect.flip)
      )
      assert.strictEqual(error._tag, "TransportError")
      assert.deepStrictEqual(yield* sent, ["POST /v1/files"])
    }).pipe(Effect.provide(Fake.layer(() => ({ drop: true })))))

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
      assert.include(expiry.message, "between 3600 and 2592000")
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
      const nameless = yield* OpenAiFiles.uploadFile({ file: "x", filename: "", purpose: "batch" }).pipe(Effect.flip)
      assert.include(nameless.message, "filename must not be empty")
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
      assert.strictEqual(text(bytes), "one\ntwo\n")
      assert.deepStrictEqual(yield* sent, [
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
      const bytes = yield* timed(Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")))
      assert.strictEqual(text(bytes), "x\n")
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
      }).pipe(Effect.flip)
      assert.strictEqual(uploadError._tag, "DecodeError")
      assert.notInclude(JSON.stringify([error, uploadError]), Fake.testKey)
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.method === "GET" && request.url.pathname === "/v1/files"
        ? { status: 200, body: { object: "list", data: [], has_more: false } }
        : { status: 200, body: "<html>proxy</html>" }
    ))))
})

describe("OpenAiFiles.downloadFile: resuming after a fault", () => {
  const file = "0123456789"

  it.effect("a body cut mid-file resumes with Range and a 206: every byte once", () =>
    Effect.gen(function*() {
      const bytes = yield* timed(Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")))
      assert.strictEqual(text(bytes), file)
      const [first, second] = yield* Fake.requests
      assert.isUndefined(first?.headers["range"])
      assert.strictEqual(second?.headers["range"], "bytes=4-")
      // as stored: the bytes counted are the bytes a range counts (a compressed body would not match)
      assert.deepStrictEqual([first?.headers["accept-encoding"], second?.headers["accept-encoding"]], [
        "identity",
        "identity"
      ])
    }).pipe(Effect.provide(Fake.layer((_, index) =>
      index === 0
        ? { status: 200, chunks: [file.slice(0, 4)], breakOff: true }
        : { status: 206, chunks: [file.slice(4)], headers: { "content-range": `bytes 4-9/10` } }
    ))))

  it.effect("a server that ignores Range sends it all again (200): the bytes already delivered are dropped", () =>
    Effect.gen(function*() {
      const bytes = yield* timed(Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")))
      assert.strictEqual(text(bytes), file)
      assert.strictEqual((yield* Fake.requests).length, 2)
    }).pipe(Effect.provide(Fake.layer((_, index) =>
      index === 0
        ? { status: 200, chunks: [file.slice(0, 3), file.slice(3, 6)], breakOff: true }
        : { status: 200, chunks: [file.slice(0, 2), file.slice(2)] }
    ))))

  it.effect("a 206 that starts before the byte asked for is trimmed; a 416 after the last byte ends it whole", () =>
    Effect.gen(function*() {
      const bytes = yield* timed(Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")))
      assert.strictEqual(text(bytes), file)
      assert.deepStrictEqual((yield* Fake.requests).map((r) => r.headers["range"]), [
        undefined,
        "bytes=5-",
        "bytes=10-"
      ])
    }).pipe(Effect.provide(Fake.layer((_, index) =>
      index === 0
        ? { status: 200, chunks: [file.slice(0, 5)], breakOff: true }
        : index === 1
        ? { status: 206, chunks: [file.slice(3)], headers: { "content-range": "bytes 3-9/10" }, breakOff: true }
        : { status: 416, body: { error: { message: "range not satisfiable" } } }
    ))))

  it.effect("progress restarts the policy's count: cut after each third, it completes", () =>
    Effect.gen(function*() {
      // The default policy retries twice; three cuts, each after new bytes, still complete.
      const bytes = yield* timed(Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")))
      assert.strictEqual(text(bytes), file)
      assert.strictEqual((yield* Fake.requests).length, 4)
    }).pipe(Effect.provide(Fake.layer((request) => {
      const from = Number(/bytes=(\d+)-/.exec(request.headers["range"] ?? "")?.[1] ?? 0)
      const end = Math.min(from + 3, file.length)
      return {
        status: from === 0 ? 200 : 206,
        chunks: [file.slice(from, end)],
        headers: from === 0 ? {} : { "content-range": `bytes ${from}-9/10` },
        breakOff: end < file.length
      }
    }))))

  it.effect("a download that keeps failing ends when the policy gives up, with the last failure's typed error", () =>
    Effect.gen(function*() {
      const error = yield* timed(Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")).pipe(Effect.flip))
      assert.strictEqual(error._tag, "TransportError")
      // the first attempt and the default policy's two retries, none with progress
      assert.strictEqual((yield* Fake.requests).length, 3)
    }).pipe(Effect.provide(Fake.layer(() => ({ status: 200, chunks: [], breakOff: true })))))

  it.effect("a 206 that starts after the byte asked for cannot be used: a DecodeError, retried and then given", () =>
    Effect.gen(function*() {
      const error = yield* timed(Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")).pipe(Effect.flip))
      assert.strictEqual(error._tag, "DecodeError")
      assert.include(error.message, "does not start at or before byte 2")
    }).pipe(Effect.provide(Fake.layer((_, index) =>
      index === 0
        ? { status: 200, chunks: [file.slice(0, 2)], breakOff: true }
        : { status: 206, chunks: [file.slice(5)], headers: { "content-range": "bytes 5-9/10" } }
    ))))
})

// ---------------------------------------------------------------------------------------------------------------
// Over real HTTP: the streamed multipart body and the download
// ---------------------------------------------------------------------------------------------------------------

interface Captured {
  readonly method: string
  readonly url: string
  readonly contentType: string | undefined
  readonly encoding: string | undefined
  readonly body: string
}

const loopback = Effect.acquireRelease(
  Effect.callback<{ readonly origin: string; readonly captured: Array<Captured>; readonly server: Server }>(
    (resume) => {
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
            encoding: req.headers["accept-encoding"],
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
    }
  ),
  ({ server }) =>
    Effect.callback<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

describe("OpenAiFiles over HTTP (FetchHttpClient)", () => {
  it.live("streams a multipart upload and a download", () =>
    Effect.scoped(Effect.gen(function*() {
      const { captured, origin } = yield* loopback
      const layer = OpenAiFiles.layer.pipe(
        Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(Fake.testKey), baseUrl: `${origin}/v1` })),
        Layer.provide(FetchHttpClient.layer)
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
      const parts = Fake.parseMultipart(upload?.body ?? "", upload?.contentType)
      assert.deepStrictEqual(parts.map((p) => p.name), ["purpose", "file"])
      assert.strictEqual(parts[1]?.value, lines.join(""))

      const downloaded = yield* Stream.runCollect(
        OpenAiFiles.downloadFile("file-real").pipe(Stream.decodeText, Stream.splitLines)
      ).pipe(Effect.provide(layer))
      assert.deepStrictEqual(downloaded, ["{\"n\":1}", "{\"n\":2}"])
      // the download asks for the bytes as stored (fetch would otherwise ask for a compressed body)
      assert.strictEqual(captured[1]?.encoding, "identity")

      const broken = yield* OpenAiFiles.uploadFile({
        file: Stream.concat(Stream.make(new Uint8Array([65])), Stream.fail({ _tag: "SourceFailed" } as const)),
        filename: "in.jsonl",
        purpose: "batch"
      }).pipe(Effect.provide(layer), Effect.flip)
      assert.deepStrictEqual(broken, { _tag: "SourceFailed" })
    })))
})
