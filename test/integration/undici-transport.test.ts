/**
 * UndiciTransport's `HttpClient` over real loopback HTTP, below the library: every fault a network produces must come
 * out as the platform clients report it (a typed HttpClientError with undici's error as cause, never a defect),
 * interruption must release the socket, bodies nobody reads (or reads only partly) must not hold connections, and
 * every request body kind must arrive as sent. Fault and connection tests run with the tracer disabled for the
 * request (as the library does) and on (spans and `traceparent`, as for your own requests).
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Exit, Fiber, Option, Predicate, Ref, Stream } from "effect"
import type * as Http from "node:http"
import { Readable } from "node:stream"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import { scaled } from "../support/patience.js"
import { eventually, loopback, readBody } from "./support/loopback.js"
import { freePort } from "./support/server.js"

setFlagsFromString("--expose_gc")
const gc: () => void = runInNewContext("gc")

interface Variant {
  readonly name: string
  readonly wrap: (client: HttpClient.HttpClient) => HttpClient.HttpClient
}

const variants: ReadonlyArray<Variant> = [
  { name: "tracer disabled", wrap: (client) => HttpClient.withTracerDisabledWhen(client, () => true) },
  { name: "tracer on", wrap: (client) => client }
]

/** A client over its own Agent for the test's scope. */
const clientWith = (variant: Variant, options: UndiciTransport.Options = {}) =>
  Effect.map(
    UndiciTransport.makeDispatcher(options),
    (dispatcher) => variant.wrap(UndiciTransport.fromDispatcher(dispatcher).httpClient)
  )

/** The typed failure of `effect`; fails the test on success or on a defect (a defect has no failure). */
const failureOf = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<E> =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) throw new Error("expected a failure, the effect succeeded")
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
    return failure.value
  })

const codeOf = (error: unknown): unknown => Predicate.hasProperty(error, "code") ? error.code : undefined

const assertRequestError = (error: unknown, reason: HttpClientError.RequestError["reason"]) => {
  assert.instanceOf(error, HttpClientError.RequestError)
  if (error instanceof HttpClientError.RequestError) assert.strictEqual(error.reason, reason)
}

const assertResponseError = (error: unknown, code: string) => {
  assert.instanceOf(error, HttpClientError.ResponseError)
  if (error instanceof HttpClientError.ResponseError) {
    assert.strictEqual(error.reason, "Decode")
    assert.strictEqual(codeOf(error.cause), code)
  }
}

const big = Buffer.alloc(2 * 1024 * 1024, 120)

/** The routes most tests use. */
const routes = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  switch (request.url) {
    case "/ok":
      return response.end("ok")
    case "/big":
      response.writeHead(200, { "content-length": big.length })
      return response.end(big)
    case "/stall":
      // A head and the start of a body, then nothing more.
      response.writeHead(200, { "content-length": 100_000 })
      return response.write(Buffer.alloc(1000, 121))
    case "/breaks-off":
      response.writeHead(200, { "content-length": 100_000 })
      response.write(Buffer.alloc(1000, 122))
      setTimeout(() => response.socket?.destroy(), 30)
      return
    case "/reset":
      return response.socket?.destroy()
    default:
      // "/hang" and anything else: never answered.
      return
  }
}

for (const variant of variants) {
  describe(`UndiciTransport, ${variant.name}`, () => {
    describe("faults are typed errors with undici's error as cause", () => {
      it.scopedLive("connection refused: RequestError Transport, ECONNREFUSED", () =>
        Effect.gen(function*() {
          const port = yield* freePort
          const client = yield* clientWith(variant)
          const error = yield* failureOf(client.get(`http://127.0.0.1:${port}/ok`))
          assertRequestError(error, "Transport")
          assert.strictEqual(codeOf(error.cause), "ECONNREFUSED")
        }))

      it.scopedLive("a reset before the response: RequestError Transport with the socket error", () =>
        Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith(variant)
          const error = yield* failureOf(client.post(`${server.origin}/reset`, { body: HttpBody.text("{}") }))
          assertRequestError(error, "Transport")
          assert.oneOf(codeOf(error.cause), ["UND_ERR_SOCKET", "ECONNRESET"])
        }))

      it.scopedLive("a body that breaks off: ResponseError Decode, read whole or as a stream", () =>
        Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith(variant)
          const whole = yield* client.get(`${server.origin}/breaks-off`)
          assert.strictEqual(whole.status, 200)
          assertResponseError(yield* failureOf(whole.text), "UND_ERR_SOCKET")
          const streamed = yield* client.get(`${server.origin}/breaks-off`)
          const received = yield* Ref.make(0)
          const error = yield* failureOf(
            Stream.runForEach(streamed.stream, (chunk) => Ref.update(received, (n) => n + chunk.length))
          )
          assertResponseError(error, "UND_ERR_SOCKET")
          assert.strictEqual(yield* Ref.get(received), 1000)
        }))

      // undici's timers tick every 500 ms or so: these two take a second each, so they run on one path only (both
      // paths share the exchange that maps the error).
      if (variant === variants[0]) {
        it.scopedLive("headersTimeout: RequestError Transport, UND_ERR_HEADERS_TIMEOUT", () =>
          Effect.gen(function*() {
            const server = yield* loopback(routes)
            const client = yield* clientWith(variant, { headersTimeout: "100 millis" })
            const error = yield* failureOf(client.get(`${server.origin}/hang`))
            assertRequestError(error, "Transport")
            assert.strictEqual(codeOf(error.cause), "UND_ERR_HEADERS_TIMEOUT")
          }))

        it.scopedLive("bodyTimeout: ResponseError Decode, UND_ERR_BODY_TIMEOUT", () =>
          Effect.gen(function*() {
            const server = yield* loopback(routes)
            const client = yield* clientWith(variant, { bodyTimeout: "100 millis" })
            const response = yield* client.get(`${server.origin}/stall`)
            assertResponseError(yield* failureOf(response.text), "UND_ERR_BODY_TIMEOUT")
          }))
      }

      it.scopedLive("an invalid URL: RequestError InvalidUrl; a Raw body it cannot send or read: RequestError Encode", () =>
        Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith(variant)
          assertRequestError(yield* failureOf(client.get("http://[not-a-host/")), "InvalidUrl")
          const error = yield* failureOf(client.post(`${server.origin}/ok`, { body: HttpBody.raw(42) }))
          assertRequestError(error, "Encode")
          // A ReadableStream someone else is reading throws when read: still a typed error, with that cause.
          const locked = new Blob(["x"]).stream()
          locked.getReader()
          const lockedError = yield* failureOf(client.post(`${server.origin}/ok`, { body: HttpBody.raw(locked) }))
          assertRequestError(lockedError, "Encode")
          assert.instanceOf(lockedError.cause, TypeError)
          assert.strictEqual(server.accepted(), 0)
        }))
    })

    describe("connections", () => {
      it.scopedLive("an interrupted call releases its socket: the next call on a one-connection pool succeeds", () =>
        Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith(variant, { connections: 1 })
          const timedOut = yield* Effect.either(Effect.timeout(client.get(`${server.origin}/hang`), "50 millis"))
          assert.isTrue(timedOut._tag === "Left" && Cause.isTimeoutException(timedOut.left))
          const response = yield* client.get(`${server.origin}/ok`).pipe(Effect.timeout(scaled(2_000)))
          assert.strictEqual(yield* response.text, "ok")
          // The hung request's socket was closed and a new one opened.
          assert.strictEqual(server.accepted(), 2)
          assert.isTrue(yield* eventually(() => server.closed() >= 1))
        }))

      it.scopedLive("downloads stopped early and interrupted reads do not hold connections", () =>
        Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith(variant, { connections: 2 })
          for (let i = 0; i < 20; i++) {
            const response = yield* client.get(`${server.origin}/big`)
            const first = yield* Stream.runHead(response.stream)
            assert.isTrue(Option.isSome(first))
          }
          for (let i = 0; i < 5; i++) {
            const read = Effect.flatMap(client.get(`${server.origin}/stall`), (response) => response.text)
            const result = yield* Effect.either(Effect.timeout(read, "30 millis"))
            assert.strictEqual(result._tag, "Left")
          }
          const after = yield* Effect.forEach(
            Array.from({ length: 5 }),
            () => Effect.flatMap(client.get(`${server.origin}/ok`), (response) => response.text),
            { concurrency: 5 }
          ).pipe(Effect.timeout(scaled(2_000)))
          assert.deepStrictEqual(after, ["ok", "ok", "ok", "ok", "ok"])
        }))

      it.scopedLive("an unread body: a small one frees its socket at once, a large one when its response is collected", () =>
        Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith(variant, { connections: 1 })
          yield* Effect.asVoid(client.get(`${server.origin}/ok`))
          const reused = yield* client.get(`${server.origin}/ok`).pipe(Effect.timeout(scaled(2_000)))
          assert.strictEqual(yield* reused.text, "ok")
          assert.strictEqual(server.accepted(), 1)

          // 2 MiB nobody reads: paused after 64 KiB, holding the only connection until the response is collected.
          yield* Effect.asVoid(client.get(`${server.origin}/big`))
          const next = yield* Effect.fork(
            Effect.flatMap(client.get(`${server.origin}/ok`), (response) => response.text)
          )
          const done = yield* eventually(() => {
            gc()
            return next.unsafePoll() !== null
          }, 5_000)
          assert.isTrue(done)
          assert.strictEqual(yield* Fiber.join(next), "ok")
          assert.strictEqual(server.accepted(), 2)
        }))

      it.scopedLive("an upload Stream interrupted mid-way is stopped, and its socket freed", () =>
        Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith(variant, { connections: 1 })
          const stopped = yield* Ref.make(false)
          const source = Stream.concat(Stream.make(new Uint8Array([1, 2, 3])), Stream.never).pipe(
            Stream.ensuring(Ref.set(stopped, true))
          )
          const upload = client.post(`${server.origin}/hang`, { body: HttpBody.stream(source) })
          const result = yield* Effect.either(Effect.timeout(upload, "50 millis"))
          assert.strictEqual(result._tag, "Left")
          assert.isTrue(yield* eventually(() => Effect.runSync(Ref.get(stopped))))
          const response = yield* client.get(`${server.origin}/ok`).pipe(Effect.timeout(scaled(2_000)))
          assert.strictEqual(yield* response.text, "ok")
        }))

      it.scopedLive("an upload Stream whose request fails before it is sent (connection refused) is stopped", () =>
        Effect.gen(function*() {
          const port = yield* freePort
          const client = yield* clientWith(variant)
          const stopped = yield* Ref.make(false)
          const source = Stream.concat(Stream.make(new Uint8Array([1, 2, 3])), Stream.never).pipe(
            Stream.ensuring(Ref.set(stopped, true))
          )
          const error = yield* failureOf(
            client.post(`http://127.0.0.1:${port}/upload`, { body: HttpBody.stream(source) })
          )
          assertRequestError(error, "Transport")
          assert.strictEqual(codeOf(error.cause), "ECONNREFUSED")
          assert.isTrue(yield* eventually(() => Effect.runSync(Ref.get(stopped))))
        }))

      it.scopedLive("requests beyond the pool's connections wait for one and all complete", () =>
        Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith(variant, { connections: 2 })
          const texts = yield* Effect.forEach(
            Array.from({ length: 40 }),
            () => Effect.flatMap(client.get(`${server.origin}/ok`), (response) => response.text),
            { concurrency: 40 }
          )
          assert.strictEqual(texts.filter((text) => text === "ok").length, 40)
          assert.isAtMost(server.accepted(), 2)
        }))
    })
  })
}

const untraced = variants[0]!

interface Echoed {
  readonly method: string
  readonly contentType: string | undefined
  readonly contentLength: string | undefined
  readonly transferEncoding: string | undefined
  readonly body: string
}

/** Answers every request with what arrived. */
const echo = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  void readBody(request).then((body) => {
    const echoed: Echoed = {
      method: request.method ?? "",
      contentType: request.headers["content-type"],
      contentLength: request.headers["content-length"],
      transferEncoding: request.headers["transfer-encoding"],
      body: body.toString("utf8")
    }
    response.writeHead(200, { "content-type": "application/json" })
    response.end(JSON.stringify(echoed))
  })
}

const isEchoed = (u: unknown): u is Echoed => Predicate.hasProperty(u, "body") && typeof u.body === "string"

describe("UndiciTransport request bodies", () => {
  it.scopedLive("every HttpBody kind arrives as sent, with the length when it is known", () =>
    Effect.gen(function*() {
      const server = yield* loopback(echo)
      const client = yield* clientWith(untraced)
      const send = (body: HttpBody.HttpBody) =>
        Effect.flatMap(
          client.execute(HttpClientRequest.post(`${server.origin}/echo`).pipe(HttpClientRequest.setBody(body))),
          (response) => Effect.filterOrDieMessage(response.json, isEchoed, "not an echo")
        )
      const empty = yield* send(HttpBody.empty)
      assert.strictEqual(empty.body, "")
      assert.strictEqual(empty.contentLength, "0")

      const bytes = yield* send(HttpBody.uint8Array(new TextEncoder().encode("bytés"), "application/x-test"))
      assert.deepStrictEqual([bytes.body, bytes.contentType, bytes.contentLength], ["bytés", "application/x-test", "6"])

      const text = yield* send(HttpBody.raw("a raw string", { contentType: "text/plain" }))
      assert.deepStrictEqual([text.body, text.contentType], ["a raw string", "text/plain"])

      const blob = yield* send(HttpBody.raw(new Blob(["from a blob"], { type: "text/x-blob" })))
      assert.deepStrictEqual(
        [blob.body, blob.contentType, blob.contentLength, blob.transferEncoding],
        ["from a blob", "text/x-blob", "11", undefined]
      )

      const web = yield* send(HttpBody.raw(new Blob(["a web ", "stream"]).stream()))
      assert.deepStrictEqual([web.body, web.transferEncoding], ["a web stream", "chunked"])

      const node = yield* send(HttpBody.raw(Readable.from([Buffer.from("node "), Buffer.from("readable")])))
      assert.deepStrictEqual([node.body, node.transferEncoding], ["node readable", "chunked"])

      const streamed = yield* send(
        HttpBody.stream(Stream.make("one ", "two ", "three").pipe(Stream.encodeText), "text/plain")
      )
      assert.deepStrictEqual([streamed.body, streamed.transferEncoding, streamed.contentType], [
        "one two three",
        "chunked",
        "text/plain"
      ])

      // A FormData of Node's own class (which undici 7 rejects as a body), with a name and a value to escape.
      const form = new FormData()
      form.append("purpose", "batch\nline")
      form.append("file", new Blob(["{\"a\":1}\n"], { type: "application/jsonl" }), "in \"quoted\".jsonl")
      const multipart = yield* send(HttpBody.formData(form))
      assert.isUndefined(multipart.transferEncoding)
      assert.strictEqual(Number(multipart.contentLength), Buffer.byteLength(multipart.body))
      // What fetch (Node's own encoder) sends for the same form, up to the boundary.
      const reference = new Response(form)
      const referenceType = reference.headers.get("content-type") ?? ""
      const referenceBoundary = referenceType.slice(referenceType.indexOf("boundary=") + 9)
      const boundary = (multipart.contentType ?? "").slice((multipart.contentType ?? "").indexOf("boundary=") + 9)
      assert.match(multipart.contentType ?? "", /^multipart\/form-data; boundary=/)
      assert.strictEqual(
        multipart.body,
        (yield* Effect.promise(() => reference.text())).split(referenceBoundary).join(boundary)
      )

      const failing = Stream.concat(Stream.make(new Uint8Array([1])), Stream.fail("source failed"))
      const error = yield* failureOf(send(HttpBody.stream(failing)))
      assertRequestError(error, "Transport")
    }))
})

describe("UndiciTransport responses", () => {
  it.scopedLive("text, json and arrayBuffer read the same body again; a stream after them replays it; text after a stream fails", () =>
    Effect.gen(function*() {
      const server = yield* loopback((_, response) => {
        response.writeHead(200, {
          "content-type": "application/json",
          "x-request-id": "req_1",
          "set-cookie": ["a=1; Path=/", "b=2"]
        })
        response.end("\uFEFF{\"ok\":true}")
      })
      const client = yield* clientWith(untraced)
      const response = yield* client.get(`${server.origin}/`)
      assert.strictEqual(response.headers, response.headers)
      assert.strictEqual(response.headers["x-request-id"], "req_1")
      assert.deepStrictEqual(Object.keys(response.cookies.cookies).sort(), ["a", "b"])
      // A leading byte order mark is dropped, as Response.text() does.
      assert.strictEqual(yield* response.text, "{\"ok\":true}")
      assert.deepStrictEqual(yield* response.json, { ok: true })
      assert.strictEqual((yield* response.arrayBuffer).byteLength, 14)
      const replayed = Buffer.concat(Chunk.toReadonlyArray(yield* Stream.runCollect(response.stream)))
      assert.strictEqual(replayed.toString("hex"), Buffer.from("\uFEFF{\"ok\":true}").toString("hex"))
      // ...and is still there after the replay.
      assert.strictEqual((yield* response.arrayBuffer).byteLength, 14)

      const streamedFirst = yield* client.get(`${server.origin}/`)
      yield* Stream.runDrain(streamedFirst.stream)
      const again = yield* failureOf(streamedFirst.text)
      assert.instanceOf(again, HttpClientError.ResponseError)
    }))

  it.scopedLive("HEAD and 204 answers have an empty body; invalid JSON is a ResponseError Decode", () =>
    Effect.gen(function*() {
      const server = yield* loopback((request, response) => {
        if (request.method === "HEAD") {
          response.writeHead(200, { "content-length": 10 })
          return response.end()
        }
        if (request.url === "/none") {
          response.writeHead(204)
          return response.end()
        }
        response.end("not json")
      })
      const client = yield* clientWith(untraced)
      assert.strictEqual(yield* Effect.flatMap(client.head(`${server.origin}/`), (r) => r.text), "")
      const none = yield* client.get(`${server.origin}/none`)
      assert.strictEqual(none.status, 204)
      assert.isNull(yield* none.json)
      const bad = yield* failureOf(Effect.flatMap(client.get(`${server.origin}/`), (r) => r.json))
      assert.instanceOf(bad, HttpClientError.ResponseError)
    }))

  it.scopedLive("tracing: a traceparent header with the tracer on, none with it disabled for the request", () =>
    Effect.gen(function*() {
      const seen: Array<string | undefined> = []
      const server = yield* loopback((request, response) => {
        seen.push(request.headers.traceparent === undefined ? undefined : String(request.headers.traceparent))
        response.end("ok")
      })
      const client = UndiciTransport.fromDispatcher(yield* UndiciTransport.makeDispatcher()).httpClient
      const spanId = yield* Effect.withSpan(
        Effect.zipRight(client.get(`${server.origin}/`), Effect.map(Effect.currentSpan, (span) => span.traceId)),
        "parent"
      )
      yield* HttpClient.withTracerDisabledWhen(client, () => true).get(`${server.origin}/`)
      assert.strictEqual(seen.length, 2)
      assert.include(seen[0] ?? "", spanId)
      assert.isUndefined(seen[1])
    }))

  it.scopedLive("HttpClient.withScope: closing the scope aborts the request's body", () =>
    Effect.gen(function*() {
      const server = yield* loopback(routes)
      const client = HttpClient.withScope(
        untraced.wrap(UndiciTransport.fromDispatcher(yield* UndiciTransport.makeDispatcher()).httpClient)
      )
      const response = yield* Effect.scoped(client.get(`${server.origin}/stall`))
      const error = yield* failureOf(response.text)
      assert.instanceOf(error, HttpClientError.ResponseError)
      assert.isTrue(yield* eventually(() => server.closed() >= 1))
    }))
})
