/**
 * Every body kind of every Files operation on the clients this edition has, over real loopback HTTP against the
 * simulator's server: uploads of a Blob (a file-backed one too), bytes, a string and a Stream; retrieve; download;
 * delete. Ported from the root's test/integration/files-transports.test.ts (its `UndiciTransport` case waits for
 * that transport's port).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import { openAsBlob } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as Server from "../../src/testing/server.js"
import * as FetchTransport from "../../src/transport/FetchTransport.js"
import { unmarked } from "../support/FakeFiles.js"

const transports = [
  { name: "FetchTransport.layer", layer: FetchTransport.layer },
  { name: "NodeHttpClient.layerUndici", layer: NodeHttpClient.layerUndici },
  { name: "FetchHttpClient.layer", layer: FetchHttpClient.layer }
] as const

const line = (i: number) =>
  `${
    JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/embeddings", body: { model: "m", input: `é ${i}` } })
  }\n`
const content = Array.from({ length: 50 }, (_, i) => line(i)).join("")
const bytes = new TextEncoder().encode(content)

const decoder = new TextDecoder()
const text = (chunks: ReadonlyArray<Uint8Array>) => decoder.decode(Buffer.concat(chunks))

describe("Files operations over real HTTP, on every client", () => {
  for (const transport of transports) {
    it.live(`upload (Blob, file Blob, bytes, string, Stream), retrieve, download, delete: ${transport.name}`, () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* Server.make({})
        const dir = yield* Effect.acquireRelease(
          Effect.promise(() => mkdtemp(join(tmpdir(), "eob-files-"))),
          (path) => Effect.promise(() => rm(path, { recursive: true, force: true }))
        )
        const path = join(dir, "input.jsonl")
        yield* Effect.promise(() => writeFile(path, content))
        const fileBlob = yield* Effect.promise(() => openAsBlob(path))
        const files = OpenAiFiles.layer.pipe(
          Layer.provideMerge(BatchSchedule.layerTimeout("5 seconds")),
          Layer.provide(
            OpenAiConfig.layer({
              apiKey: Redacted.make(BatchApiSimulator.testApiKey),
              baseUrl: server.baseUrl
            })
          ),
          Layer.provide(transport.layer)
        )
        yield* Effect.gen(function*() {
          const sources: ReadonlyArray<readonly [string, OpenAiFiles.UploadContent]> = [
            ["Blob", new Blob([content])],
            ["file Blob", fileBlob],
            ["bytes", bytes],
            ["string", content],
            ["Stream", Stream.fromIterable([bytes.subarray(0, 100), bytes.subarray(100)])]
          ]
          for (const [kind, file] of sources) {
            const uploaded = yield* OpenAiFiles.uploadFile({ file, filename: `${kind}.jsonl`, purpose: "batch" })
            assert.strictEqual(uploaded.bytes, bytes.length, kind)
            assert.strictEqual(unmarked(uploaded.filename), `${kind}.jsonl`)
            const retrieved = yield* OpenAiFiles.retrieveFile(uploaded.id)
            assert.strictEqual(retrieved.id, uploaded.id)
            const downloaded = yield* Stream.runCollect(OpenAiFiles.downloadFile(uploaded.id))
            assert.strictEqual(text(downloaded), content, kind)
            const deleted = yield* OpenAiFiles.deleteFile(uploaded.id)
            assert.isTrue(deleted.deleted)
            const gone = yield* Effect.flip(OpenAiFiles.retrieveFile(uploaded.id))
            assert.strictEqual(gone._tag, "NotFoundError")
          }
        }).pipe(Effect.provide(files))
      })))
  }
})
