/**
 * A file download that survives faults, over real loopback HTTP on every transport: a body cut in the middle is
 * asked for again from where it stopped (`Range: bytes=N-`), and whether the server answers the range (206) or sends
 * the whole file again (200), the consumer sees every byte once. A download that keeps failing without progress ends
 * when the retry policy gives up, with the typed error of the last failure. A body that stalls (the server goes
 * silent with the socket open) is broken off at the idle timeout (`BatchSchedule.withIdleTimeout`) and resumed the
 * same way, on transports that have no body timeout of their own too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import type * as Http from "node:http"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import { transports } from "./support/client.js"
import { loopback } from "./support/loopback.js"

/** 300 KiB that are not all alike, so a byte delivered twice or skipped shows. */
const file = Uint8Array.from({ length: 300 * 1024 }, (_, i) => (i * 7 + (i >> 10)) & 0xff)

interface Seen {
  readonly range: string | undefined
  readonly encoding: string | undefined
}

/** Sends `bytes` with a `length` announced, then cuts the connection after `cutAt` of them. */
const cut = (
  response: Http.ServerResponse,
  status: number,
  headers: Record<string, string>,
  bytes: Uint8Array,
  cutAt: number
) => {
  response.writeHead(status, {
    "content-type": "application/octet-stream",
    ...headers,
    "content-length": String(bytes.length)
  })
  response.write(bytes.subarray(0, cutAt), () => setTimeout(() => response.socket?.destroy(), 20))
}

/**
 * A server for `GET /v1/files/file-1/content`: `plan` decides each answer from the request's index and its Range
 * (`from`: the requested start, 0 without one).
 */
const server = (
  plan: (index: number, from: number, response: Http.ServerResponse) => void
) => {
  const seen: Array<Seen> = []
  return Effect.map(
    loopback((request, response) => {
      const range = request.headers.range
      seen.push({ range, encoding: request.headers["accept-encoding"] })
      const match = range === undefined ? null : /^bytes=(\d+)-$/.exec(range)
      plan(seen.length - 1, match === null ? 0 : Number(match[1]), response)
    }),
    (info) => ({ ...info, seen: (): ReadonlyArray<Seen> => [...seen] })
  )
}

const whole = (response: Http.ServerResponse, from: number, ranges: boolean) => {
  if (ranges && from > 0) {
    response.writeHead(206, {
      "content-range": `bytes ${from}-${file.length - 1}/${file.length}`,
      "content-length": String(file.length - from)
    })
    response.end(file.subarray(from))
  } else {
    response.writeHead(200, { "content-length": String(file.length) })
    response.end(file)
  }
}

const concat = (chunks: Chunk.Chunk<Uint8Array>) => {
  const out = new Uint8Array(Chunk.reduce(chunks, 0, (n, chunk) => n + chunk.length))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/** The idle timeout of the stall tests: long enough for a loaded machine's pauses, short enough for a test. */
const stall = "250 millis"

const policy = (maxRetries: number) =>
  BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, baseDelay: "20 millis", maxRetries }))

for (const transport of transports) {
  describe(`downloads that survive faults: ${transport.name}`, () => {
    const files = (origin: string) =>
      OpenAiFiles.layer.pipe(
        Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make("sk-download-test"), baseUrl: `${origin}/v1` })),
        Layer.provide(transport.layer),
        Layer.orDie
      )
    const download = (origin: string, retries = 2) =>
      Stream.runCollect(OpenAiFiles.downloadFile("file-1")).pipe(
        Effect.map(concat),
        policy(retries),
        Effect.provide(files(origin))
      )

    it.scopedLive("a body cut mid-file resumes with Range and a 206: every byte once", () =>
      Effect.gen(function*() {
        const s = yield* server((index, from, response) =>
          index === 0 ? cut(response, 200, {}, file, 100 * 1024) : whole(response, from, true)
        )
        const bytes = yield* download(s.origin)
        assert.strictEqual(bytes.length, file.length)
        assert.deepStrictEqual(bytes, file)
        const ranges = s.seen().map((r) => r.range)
        assert.strictEqual(ranges.length, 2)
        assert.isUndefined(ranges[0])
        // the retry asked for the rest, from the bytes the consumer already has
        assert.match(ranges[1] ?? "", /^bytes=\d+-$/)
        // as stored: the bytes counted are the bytes a range counts (a compressed body would not match)
        // (fetch adds its own `identity` to a request with a Range, as the Fetch standard says)
        for (const { encoding } of s.seen()) assert.match(encoding ?? "", /^identity(, identity)*$/)
      }))

    it.scopedLive("a server that ignores Range sends it all again (200): the bytes already delivered are dropped", () =>
      Effect.gen(function*() {
        const s = yield* server((index, from, response) =>
          index === 0 ? cut(response, 200, {}, file, 100 * 1024) : whole(response, from, false)
        )
        const bytes = yield* download(s.origin)
        assert.deepStrictEqual(bytes, file)
        assert.strictEqual(s.seen().length, 2)
      }))

    it.scopedLive("cut after each third of the file: progress restarts the policy's count, and it completes", () =>
      Effect.gen(function*() {
        const s = yield* server((index, from, response) => {
          if (index >= 2) return whole(response, from, true)
          const rest = file.subarray(from)
          const headers = from === 0 ? {} : { "content-range": `bytes ${from}-${file.length - 1}/${file.length}` }
          cut(response, from === 0 ? 200 : 206, headers, rest, 100 * 1024)
        })
        // one retry allowed, two breaks: only because each attempt got further
        const bytes = yield* download(s.origin, 1)
        assert.deepStrictEqual(bytes, file)
        assert.strictEqual(s.seen().length, 3)
      }))

    it.scopedLive("broken off after its last byte: the rest is a 416, and the file is whole, every byte once", () =>
      Effect.gen(function*() {
        const s = yield* server((index, _, response) => {
          if (index === 0) {
            // Chunked, every byte written, then the connection reset before the body's end was sent.
            response.writeHead(200, { "content-type": "application/octet-stream" })
            response.write(file, () => setTimeout(() => response.socket?.destroy(), 20))
            return
          }
          response.writeHead(416, { "content-type": "application/json", "content-range": `bytes */${file.length}` })
          response.end(JSON.stringify({ error: { message: "not satisfiable", type: "invalid_request_error" } }))
        })
        const bytes = yield* download(s.origin)
        assert.deepStrictEqual(bytes, file)
        assert.deepStrictEqual(s.seen().map((r) => r.range), [undefined, `bytes=${file.length}-`])
      }))

    it.scopedLive("a body that stalls (head and part sent, then silence, socket open) resumes at the idle timeout", () =>
      Effect.gen(function*() {
        const s = yield* server((index, from, response) => {
          if (index > 0) return whole(response, from, true)
          response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(file.length) })
          response.write(file.subarray(0, 100 * 1024))
        })
        // a tiny idle timeout set the user's way; nothing waits on a deadline of its own: the download ends or not
        const bytes = yield* download(s.origin).pipe(BatchSchedule.withIdleTimeout(stall))
        assert.deepStrictEqual(bytes, file)
        const ranges = s.seen().map((r) => r.range)
        assert.isUndefined(ranges[0])
        // the rest was asked for from the bytes the consumer already had (all of the first 100 KiB, on a quiet machine)
        const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? "")?.[1])
        assert.isTrue(resumedAt > 0 && resumedAt <= 100 * 1024, ranges[1])
      }))

    it.scopedLive("a download that keeps failing ends when the policy gives up, with the last failure's typed error", () =>
      Effect.gen(function*() {
        const s = yield* server((index, _, response) => {
          if (index === 0) return cut(response, 200, {}, file, 100 * 1024)
          response.writeHead(503, { "content-type": "application/json" })
          response.end(
            JSON.stringify({ error: { message: "try later", type: "server_error", param: null, code: null } })
          )
        })
        const error = yield* Effect.flip(download(s.origin, 2))
        assert.strictEqual(error._tag, "InternalServerError")
        if (error._tag === "InternalServerError") {
          assert.strictEqual(error.status, 503)
          assert.isTrue(error.message.startsWith("downloadFile: 503 try later"), error.message)
        }
        // the cut, then two retries
        assert.strictEqual(s.seen().length, 3)
      }))
  })
}
