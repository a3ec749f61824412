/**
 * OpenAiFiles on UndiciTransport over real loopback HTTP: every body kind of every Files operation. Uploads of a
 * Blob (in memory and file-backed), bytes and a string go through a FormData, which this transport serializes
 * itself with a Content-Length; a Stream upload is sent chunked; a download is streamed in pieces; retrieve and
 * delete are plain JSON calls (the Transport exchange). The root's test/integration/undici-files.test.ts on Effect 4.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import { mkdtempSync, openAsBlob, rmSync, writeFileSync } from "node:fs"
import type * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import { fileJson, parseMultipart, unmarked } from "../support/FakeFiles.js"
import { loopback, readBody } from "../support/sockets.js"

const apiKey = "sk-undici-files-NEVER-LEAK-51c2"

interface Upload {
  readonly contentType: string | undefined
  readonly contentLength: string | undefined
  readonly transferEncoding: string | undefined
  readonly authorization: string | undefined
  readonly body: string
}

/** 1 MiB and a bit of JSONL lines, for the download. */
const download = Array.from({ length: 12_000 }, (_, i) => `{"custom_id":"r${i}","body":"${"x".repeat(64)}"}\n`).join("")

/** The Files API on loopback: records uploads; answers retrieve, delete and content like the API. */
const filesApi = (uploads: Array<Upload>) => (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  void readBody(request).then((body) => {
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { "content-type": "application/json", "x-request-id": "req_files" })
      response.end(JSON.stringify(value))
    }
    if (request.method === "POST" && request.url === "/v1/files") {
      uploads.push({
        contentType: request.headers["content-type"],
        contentLength: request.headers["content-length"],
        transferEncoding: request.headers["transfer-encoding"],
        authorization: request.headers.authorization,
        body: body.toString("utf8")
      })
      return json(200, fileJson({ id: `file-up${uploads.length}` }))
    }
    if (request.method === "GET" && request.url === "/v1/files/file-abc123") return json(200, fileJson())
    if (request.method === "DELETE" && request.url === "/v1/files/file-abc123") {
      return json(200, { id: "file-abc123", object: "file", deleted: true })
    }
    if (request.method === "GET" && request.url === "/v1/files/file-abc123/content") {
      response.writeHead(200, { "content-type": "application/octet-stream" })
      // In pieces, as a large file arrives.
      const pieces = download.match(/[\s\S]{1,100000}/g) ?? []
      const next = (i: number) => {
        if (i === pieces.length) return response.end()
        response.write(pieces[i], () => next(i + 1))
      }
      return next(0)
    }
    json(404, { error: { message: "not routed", type: "invalid_request_error" } })
  })
}

const files = (origin: string) =>
  OpenAiFiles.layer.pipe(
    Layer.provideMerge(BatchSchedule.layerRetry(BatchSchedule.noRetry)),
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl: `${origin}/v1` })),
    Layer.provide(UndiciTransport.layer),
    Layer.orDie
  )

const fileParts = (upload: Upload | undefined) => {
  const parts = parseMultipart(upload?.body ?? "", upload?.contentType)
  return parts.map((part) => [part.name, part.filename && unmarked(part.filename), part.contentType, part.value])
}

describe("OpenAiFiles on UndiciTransport", () => {
  it.live("uploads a Blob, a file-backed Blob, bytes and a string as multipart with a Content-Length", () =>
    Effect.gen(function*() {
      const uploads: Array<Upload> = []
      const server = yield* loopback(filesApi(uploads))
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "undici-files-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const path = join(dir, "input.jsonl")
      writeFileSync(path, "{\"from\":\"disk\"}\n".repeat(5000))
      const onDisk = yield* Effect.promise(() => openAsBlob(path))
      // [content, what the file part must hold, its Content-Type]: every kind is sent with `contentType`.
      const contents: ReadonlyArray<readonly [Blob | Uint8Array | string, string, string]> = [
        [new Blob(["{\"a\":1}\n"]), "{\"a\":1}\n", "application/jsonl"],
        [onDisk, "{\"from\":\"disk\"}\n".repeat(5000), "application/jsonl"],
        [new TextEncoder().encode("{\"b\":\"ü\"}\n"), "{\"b\":\"ü\"}\n", "application/jsonl"],
        ["{\"c\":3}\n", "{\"c\":3}\n", "application/jsonl"]
      ]
      const ids = yield* Effect.forEach(contents, ([file]) =>
        Effect.map(
          OpenAiFiles.uploadFile({ file, filename: "input.jsonl", purpose: "batch", contentType: "application/jsonl" }),
          (uploaded) => uploaded.id
        )).pipe(Effect.provide(files(server.origin)))
      assert.deepStrictEqual(ids, ["file-up1", "file-up2", "file-up3", "file-up4"])
      assert.strictEqual(uploads.length, 4)
      contents.forEach(([, expected, type], i) => {
        const upload = uploads[i]
        assert.strictEqual(upload?.authorization, `Bearer ${apiKey}`)
        assert.isUndefined(upload?.transferEncoding)
        assert.strictEqual(Number(upload?.contentLength), Buffer.byteLength(upload?.body ?? ""))
        assert.deepStrictEqual(fileParts(upload), [
          ["purpose", undefined, undefined, "batch"],
          ["file", "input.jsonl", type, expected]
        ])
      })
    }))

  it.live("uploads a Stream chunked with expires_after; a failing Stream fails with its own error", () =>
    Effect.gen(function*() {
      const uploads: Array<Upload> = []
      const server = yield* loopback(filesApi(uploads))
      const lines = Array.from({ length: 3000 }, (_, i) => `{"custom_id":"r${i}"}\n`)
      const uploaded = yield* OpenAiFiles.uploadFile({
        file: Stream.fromIterable(lines).pipe(Stream.rechunk(100), Stream.encodeText),
        filename: "streamed.jsonl",
        purpose: "batch",
        expires_after: { anchor: "created_at", seconds: 3600 }
      }).pipe(Effect.provide(files(server.origin)))
      assert.strictEqual(uploaded.id, "file-up1")
      assert.strictEqual(uploads[0]?.transferEncoding, "chunked")
      assert.deepStrictEqual(fileParts(uploads[0]), [
        ["purpose", undefined, undefined, "batch"],
        ["expires_after[anchor]", undefined, undefined, "created_at"],
        ["expires_after[seconds]", undefined, undefined, "3600"],
        ["file", "streamed.jsonl", "application/octet-stream", lines.join("")]
      ])

      const failed = yield* OpenAiFiles.uploadFile({
        file: Stream.concat(Stream.make(new Uint8Array([65])), Stream.fail({ _tag: "SourceFailed" } as const)),
        filename: "broken.jsonl",
        purpose: "batch"
      }).pipe(Effect.provide(files(server.origin)), Effect.flip)
      assert.deepStrictEqual(failed, { _tag: "SourceFailed" })
      assert.strictEqual(uploads.length, 1)
    }))

  it.live("retrieves, downloads (streamed in pieces) and deletes a file", () =>
    Effect.gen(function*() {
      const server = yield* loopback(filesApi([]))
      const layer = files(server.origin)
      const file = yield* OpenAiFiles.retrieveFile("file-abc123").pipe(Effect.provide(layer))
      assert.strictEqual(file.id, "file-abc123")
      assert.strictEqual(file.purpose, "batch")
      const chunks = yield* Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")).pipe(Effect.provide(layer))
      assert.isAbove(chunks.length, 1)
      assert.strictEqual(Buffer.concat(chunks).toString("utf8"), download)
      const deleted = yield* OpenAiFiles.deleteFile("file-abc123").pipe(Effect.provide(layer))
      assert.deepStrictEqual({ ...deleted }, { id: "file-abc123", object: "file", deleted: true })
    }))
})
