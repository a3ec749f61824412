/**
 * Uploads as duplicate-free as creates, over real loopback HTTP: a server that stores the file and then loses the
 * answer (the connection reset, a 500, a 200 cut short, a 200 whose JSON ends early, a timeout while it stores late)
 * ends with ONE stored file, the one the upload returns, found by the marker its filename carries instead of stored
 * again. The root's test/integration/upload-dedupe.test.ts, every case, on this edition's two transports
 * (`UndiciTransport`, `FetchTransport`); the root's also runs on the platform's clients (`NodeHttpClient`'s two,
 * `FetchHttpClient`), left out here for the suite's time: test/testing/files-transports.test.ts runs uploads on
 * those.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, Stream } from "effect"
import type * as Http from "node:http"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as FetchTransport from "../../src/transport/FetchTransport.js"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import { unmarked } from "../support/FakeFiles.js"
import { slowdown } from "../support/patience.js"
import { loopback, readBody } from "../support/sockets.js"

interface Stored {
  readonly id: string
  readonly filename: string
  readonly purpose: string
  readonly bytes: number
  readonly created_at: number
}

type Fault = "reset" | "500" | "cut" | "truncated" | "late"

const fileObject = (file: Stored) => ({ ...file, object: "file" })

/**
 * A Files API that stores every upload, and for the first one does `fault` after storing it (or, for `late`, stores
 * it only after 150 ms (stretched by the load), without ever answering).
 */
const filesApi = (fault: Fault) => {
  const stored: Array<Stored> = []
  const posts: Array<string> = []
  const store = (filename: string, purpose: string, bytes: number) => {
    const file = {
      id: `file-${stored.length + 1}`,
      filename,
      purpose,
      bytes,
      created_at: Math.floor(Date.now() / 1000)
    }
    stored.push(file)
    return file
  }
  const handler = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
    if (request.method === "GET") {
      const data = [...stored].reverse().map(fileObject)
      response.writeHead(200, { "content-type": "application/json" })
      return response.end(JSON.stringify({ object: "list", data, has_more: false }))
    }
    void readBody(request).then((body) => {
      const text = body.toString("latin1")
      const filename = /filename="([^"]*)"/.exec(text)?.[1] ?? ""
      const purpose = /name="purpose"\r\n\r\n([^\r]*)/.exec(text)?.[1] ?? ""
      posts.push(filename)
      const first = posts.length === 1
      if (first && fault === "late") {
        setTimeout(() => store(filename, purpose, body.length), 150 * load)
        return
      }
      const file = store(filename, purpose, body.length)
      const json = JSON.stringify(fileObject(file))
      if (!first) {
        response.writeHead(200, { "content-type": "application/json" })
        return response.end(json)
      }
      switch (fault) {
        case "reset":
          return response.socket?.destroy()
        case "500":
          response.writeHead(500, { "content-type": "application/json" })
          return response.end(JSON.stringify({ error: { message: "boom", type: "server_error" } }))
        case "cut":
          // a chunked 200 that breaks off in the middle of its JSON
          response.writeHead(200, { "content-type": "application/json" })
          return response.write(json.slice(0, 20), () => setTimeout(() => response.socket?.destroy(), 20))
        case "truncated":
          // a chunked 200 that ends cleanly after half its JSON: the file exists, its description is lost
          response.writeHead(200, { "content-type": "application/json" })
          return response.end(json.slice(0, 20))
      }
    })
  }
  return { handler, stored: (): ReadonlyArray<Stored> => [...stored], posts: (): ReadonlyArray<string> => [...posts] }
}

const transports = [
  { name: "UndiciTransport.layer", layer: UndiciTransport.layer },
  { name: "FetchTransport.layer", layer: FetchTransport.layer }
] as const

const files = (origin: string, transport: (typeof transports)[number]) =>
  OpenAiFiles.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make("sk-upload-test"), baseUrl: `${origin}/v1` })),
    Layer.provide(transport.layer),
    Layer.orDie
  )

/**
 * The machine's load, read once: the attempt's timeout, the late store and the retry's delay stretch by it together,
 * so that their order (timed out, then stored, then looked up) holds on a loaded machine too.
 */
const load = slowdown()

/**
 * The retry's delay: the lookup runs after it. After a late store it must come after the store (the attempt times
 * out at 100, the file is stored at 150, the lookup at 100 + 300); after the other faults the file is stored before
 * the client sees the failure, so any delay will do.
 */
const policyFor = (fault: Fault) =>
  BatchSchedule.withRetry(
    BatchSchedule.retry({ jitter: false, baseDelay: Duration.millis((fault === "late" ? 300 : 20) * load) })
  )
const policy = policyFor("500")

const faults: ReadonlyArray<readonly [Fault, string]> = [
  ["reset", "stored, then the connection reset"],
  ["500", "stored, then a 500"],
  ["cut", "stored, then a 200 cut short"],
  ["truncated", "stored, then a 200 whose JSON ends early"],
  ["late", "stored late, after the attempt timed out"]
]

for (const transport of transports) {
  // Concurrently: each case has its own server and mostly waits on its timers.
  describe.concurrent(`uploads are stored once: ${transport.name}`, () => {
    for (const [fault, name] of faults) {
      for (const content of ["bytes", "stream"] as const) {
        it.live(`${name} (${content})`, () =>
          Effect.gen(function*() {
            const api = filesApi(fault)
            const server = yield* loopback(api.handler)
            const file = content === "bytes" ? "{\"a\":1}\n" : Stream.make(new TextEncoder().encode("{\"a\":1}\n"))
            const uploaded = yield* OpenAiFiles.uploadFile({ file, filename: "input.jsonl", purpose: "batch" }).pipe(
              policyFor(fault),
              BatchSchedule.withTimeout(Duration.millis(100 * load)),
              Effect.provide(files(server.origin, transport))
            )
            const stored = api.stored()
            assert.strictEqual(stored.length, 1, "one file stored")
            assert.strictEqual(uploaded.id, stored[0]?.id)
            assert.strictEqual(unmarked(uploaded.filename), "input.jsonl")
            assert.strictEqual(api.posts().length, 1, "sent once")
          }))
      }
    }

    it.live("without a marker (idempotencyMarker: false), an ambiguous failure is returned, not sent again", () =>
      Effect.gen(function*() {
        const api = filesApi("500")
        const server = yield* loopback(api.handler)
        const error = yield* OpenAiFiles.uploadFile(
          { file: "{\"a\":1}\n", filename: "input.jsonl", purpose: "batch" },
          { idempotencyMarker: false }
        ).pipe(policy, Effect.provide(files(server.origin, transport)), Effect.flip)
        assert.strictEqual(error._tag, "InternalServerError")
        assert.deepStrictEqual(api.posts(), ["input.jsonl"])
      }))
  })
}
