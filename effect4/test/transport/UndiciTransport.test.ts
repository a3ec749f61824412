/**
 * UndiciTransport's `HttpClient` over real loopback HTTP, below the library: every fault a network produces must come
 * out as the platform clients report it (an `HttpClientError` whose reason is typed, with undici's error as cause,
 * never a defect), interruption must release the socket, bodies nobody reads (or reads only partly) must not hold
 * connections, and every request body kind must arrive as sent. Fault and connection tests run with the tracer
 * disabled for the request (`HttpClient.TracerDisabledWhen`, as the library does) and on (spans and `traceparent`,
 * as for your own requests). The root's test/integration/undici-transport.test.ts, on Effect 4 and undici 8.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, Predicate, Ref, Result, Stream } from "effect"
import * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as Http from "node:http"
import { Readable } from "node:stream"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import { freePort, loopback, readBody, until } from "../support/sockets.js"

setFlagsFromString("--expose_gc")
const gc: () => void = runInNewContext("gc")

interface Variant {
  readonly name: string
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

const variants: ReadonlyArray<Variant> = [
  { name: "tracer disabled", run: Effect.provideService(HttpClient.TracerDisabledWhen, () => true) },
  { name: "tracer on", run: (effect) => effect }
]

/** A client over its own Agent for the test's scope. */
const clientWith = (options: UndiciTransport.Options = {}) =>
  Effect.map(
    UndiciTransport.makeDispatcher(options),
    (dispatcher) => UndiciTransport.fromDispatcher(dispatcher).httpClient
  )

/** The typed failure of `effect`; fails the test on success or on a defect (a defect has no failure). */
const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) throw new Error("expected a failure, the effect succeeded")
    const failure = Cause.findErrorOption(exit.cause)
    if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
    return failure.value
  })

const codeOf = (error: unknown): unknown => Predicate.hasProperty(error, "code") ? error.code : undefined

/** Asserts an `HttpClientError` with a reason of `tag`, and answers the code of undici's error (its cause). */
const assertReason = (error: unknown, tag: HttpClientError.HttpClientErrorReason["_tag"]): unknown => {
  assert.instanceOf(error, HttpClientError.HttpClientError)
  if (!(error instanceof HttpClientError.HttpClientError)) return undefined
  assert.strictEqual(error.reason._tag, tag)
  return codeOf(error.reason.cause)
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

/** A Stream that sends one chunk and then waits forever; `stopped` is set when its fiber is stopped. */
const endless = (stopped: Ref.Ref<boolean>) =>
  Stream.concat(Stream.make(new Uint8Array([1, 2, 3])), Stream.never).pipe(Stream.ensuring(Ref.set(stopped, true)))

for (const variant of variants) {
  describe(`UndiciTransport, ${variant.name}`, () => {
    describe("faults are typed errors with undici's error as cause", () => {
      it.live("connection refused: TransportError, ECONNREFUSED", () =>
        variant.run(Effect.gen(function*() {
          const port = yield* freePort
          const client = yield* clientWith()
          const error = yield* failureOf(client.get(`http://127.0.0.1:${port}/ok`))
          assert.strictEqual(assertReason(error, "TransportError"), "ECONNREFUSED")
        })))

      it.live("a reset before the response: TransportError with the socket error", () =>
        variant.run(Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith()
          const error = yield* failureOf(client.post(`${server.origin}/reset`, { body: HttpBody.text("{}") }))
          assert.oneOf(assertReason(error, "TransportError"), ["UND_ERR_SOCKET", "ECONNRESET"])
        })))

      it.live("a body that breaks off: DecodeError, read whole or as a stream", () =>
        variant.run(Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith()
          const whole = yield* client.get(`${server.origin}/breaks-off`)
          assert.strictEqual(whole.status, 200)
          assert.strictEqual(assertReason(yield* failureOf(whole.text), "DecodeError"), "UND_ERR_SOCKET")
          const streamed = yield* client.get(`${server.origin}/breaks-off`)
          const received = yield* Ref.make(0)
          const error = yield* failureOf(
            Stream.runForEach(streamed.stream, (chunk) => Ref.update(received, (n) => n + chunk.length))
          )
          assert.strictEqual(assertReason(error, "DecodeError"), "UND_ERR_SOCKET")
          assert.strictEqual(yield* Ref.get(received), 1000)
        })))

      // undici's timers tick every 500 ms or so: these two take up to a second each, so they run on one path only
      // (both paths share the exchange that maps the error).
      if (variant === variants[0]) {
        it.live("headersTimeout: TransportError, UND_ERR_HEADERS_TIMEOUT", () =>
          variant.run(Effect.gen(function*() {
            const server = yield* loopback(routes)
            const client = yield* clientWith({ headersTimeout: "100 millis" })
            const error = yield* failureOf(client.get(`${server.origin}/hang`))
            assert.strictEqual(assertReason(error, "TransportError"), "UND_ERR_HEADERS_TIMEOUT")
          })))

        it.live("bodyTimeout: DecodeError, UND_ERR_BODY_TIMEOUT", () =>
          variant.run(Effect.gen(function*() {
            const server = yield* loopback(routes)
            const client = yield* clientWith({ bodyTimeout: "100 millis" })
            const response = yield* client.get(`${server.origin}/stall`)
            assert.strictEqual(assertReason(yield* failureOf(response.text), "DecodeError"), "UND_ERR_BODY_TIMEOUT")
          })))
      }

      it.live("an invalid URL: InvalidUrlError; a Raw body it cannot send or read: EncodeError", () =>
        variant.run(Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith()
          assertReason(yield* failureOf(client.get("http://[not-a-host/")), "InvalidUrlError")
          assertReason(yield* failureOf(client.post(`${server.origin}/ok`, { body: HttpBody.raw(42) })), "EncodeError")
          // A ReadableStream someone else is reading throws when read: still a typed error, with that cause.
          const locked = new Blob(["x"]).stream()
          locked.getReader()
          const lockedError = yield* failureOf(client.post(`${server.origin}/ok`, { body: HttpBody.raw(locked) }))
          assertReason(lockedError, "EncodeError")
          assert.instanceOf(lockedError.reason.cause, TypeError)
          assert.strictEqual(server.accepted(), 0)
        })))
    })

    describe("connections", () => {
      it.live("an interrupted call releases its socket: the next call on a one-connection pool succeeds", () =>
        variant.run(Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith({ connections: 1 })
          const timedOut = yield* Effect.result(Effect.timeout(client.get(`${server.origin}/hang`), "50 millis"))
          assert.isTrue(Result.isFailure(timedOut) && Cause.isTimeoutError(timedOut.failure))
          // Would wait forever on the hung socket if it were kept.
          const response = yield* client.get(`${server.origin}/ok`)
          assert.strictEqual(yield* response.text, "ok")
          // The hung request's socket was closed and a new one opened.
          assert.strictEqual(server.accepted(), 2)
          yield* until(() => server.closed() >= 1)
        })))

      it.live("downloads stopped early and interrupted reads do not hold connections", () =>
        variant.run(Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith({ connections: 2 })
          for (let i = 0; i < 10; i++) {
            const response = yield* client.get(`${server.origin}/big`)
            const first = yield* Stream.runHead(response.stream)
            assert.isTrue(Option.isSome(first))
          }
          for (let i = 0; i < 3; i++) {
            const read = Effect.flatMap(client.get(`${server.origin}/stall`), (response) => response.text)
            const result = yield* Effect.result(Effect.timeout(read, "30 millis"))
            assert.isTrue(Result.isFailure(result))
          }
          const after = yield* Effect.forEach(
            Array.from({ length: 5 }),
            () => Effect.flatMap(client.get(`${server.origin}/ok`), (response) => response.text),
            { concurrency: 5 }
          )
          assert.deepStrictEqual(after, ["ok", "ok", "ok", "ok", "ok"])
        })))

      it.live("an unread body: a small one frees its socket at once, a large one when its response is collected", () =>
        variant.run(Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith({ connections: 1 })
          yield* Effect.asVoid(client.get(`${server.origin}/ok`))
          const reused = yield* client.get(`${server.origin}/ok`)
          assert.strictEqual(yield* reused.text, "ok")
          assert.strictEqual(server.accepted(), 1)

          // 2 MiB nobody reads: paused after 64 KiB, holding the only connection until the response is collected.
          yield* Effect.asVoid(client.get(`${server.origin}/big`))
          const next = yield* Effect.forkChild(
            Effect.flatMap(client.get(`${server.origin}/ok`), (response) => response.text)
          )
          yield* until(() => {
            gc()
            return next.pollUnsafe() !== undefined
          })
          assert.strictEqual(yield* Fiber.join(next), "ok")
          assert.strictEqual(server.accepted(), 2)
        })))

      it.live("an upload Stream interrupted mid-way is stopped, and its socket freed", () =>
        variant.run(Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith({ connections: 1 })
          const stopped = yield* Ref.make(false)
          const upload = client.post(`${server.origin}/hang`, { body: HttpBody.stream(endless(stopped)) })
          const result = yield* Effect.result(Effect.timeout(upload, "50 millis"))
          assert.isTrue(Result.isFailure(result))
          yield* until(() => Effect.runSync(Ref.get(stopped)))
          const response = yield* client.get(`${server.origin}/ok`)
          assert.strictEqual(yield* response.text, "ok")
        })))

      it.live("an upload Stream whose request fails before it is sent (connection refused) is stopped", () =>
        variant.run(Effect.gen(function*() {
          const port = yield* freePort
          const client = yield* clientWith()
          const stopped = yield* Ref.make(false)
          const error = yield* failureOf(
            client.post(`http://127.0.0.1:${port}/upload`, { body: HttpBody.stream(endless(stopped)) })
          )
          assert.strictEqual(assertReason(error, "TransportError"), "ECONNREFUSED")
          yield* until(() => Effect.runSync(Ref.get(stopped)))
        })))

      it.live("requests beyond the pool's connections wait for one and all complete", () =>
        variant.run(Effect.gen(function*() {
          const server = yield* loopback(routes)
          const client = yield* clientWith({ connections: 2 })
          const texts = yield* Effect.forEach(
            Array.from({ length: 40 }),
            () => Effect.flatMap(client.get(`${server.origin}/ok`), (response) => response.text),
            { concurrency: 40 }
          )
          assert.strictEqual(texts.filter((text) => text === "ok").length, 40)
          assert.isAtMost(server.accepted(), 2)
        })))
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
  it.live("every HttpBody kind arrives as sent, with the length when it is known", () =>
    untraced.run(Effect.gen(function*() {
      const server = yield* loopback(echo)
      const client = yield* clientWith()
      const send = (body: HttpBody.HttpBody) =>
        Effect.flatMap(
          client.execute(HttpClientRequest.post(`${server.origin}/echo`).pipe(HttpClientRequest.setBody(body))),
          (response) =>
            Effect.flatMap(response.json, (json) => isEchoed(json) ? Effect.succeed(json) : Effect.die("not an echo"))
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

      // A FormData of Node's own class (not undici 8's), with a name and a value to escape.
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
      assertReason(yield* failureOf(send(HttpBody.stream(failing))), "TransportError")
    })))
})

describe("UndiciTransport responses", () => {
  it.live("text, json and arrayBuffer read the same body again; a stream after them replays it; text after a stream fails", () =>
    untraced.run(Effect.gen(function*() {
      const server = yield* loopback((_, response) => {
        response.writeHead(200, {
          "content-type": "application/json",
          "x-request-id": "req_1",
          "set-cookie": ["a=1; Path=/", "b=2"]
        })
        response.end("\uFEFF{\"ok\":true}")
      })
      const client = yield* clientWith()
      const response = yield* client.get(`${server.origin}/path?q=1#fragment`)
      assert.strictEqual(response.url, `${server.origin}/path?q=1`)
      assert.strictEqual(response.headers, response.headers)
      assert.strictEqual(response.headers["x-request-id"], "req_1")
      assert.deepStrictEqual(Object.keys(response.cookies.cookies).sort(), ["a", "b"])
      // A leading byte order mark is dropped, as Response.text() does.
      assert.strictEqual(yield* response.text, "{\"ok\":true}")
      assert.deepStrictEqual(yield* response.json, { ok: true })
      assert.strictEqual((yield* response.arrayBuffer).byteLength, 14)
      const replayed = Buffer.concat(yield* Stream.runCollect(response.stream))
      assert.strictEqual(replayed.toString("hex"), Buffer.from("\uFEFF{\"ok\":true}").toString("hex"))
      // ...and is still there after the replay.
      assert.strictEqual((yield* response.arrayBuffer).byteLength, 14)
      // No connection is handed over: a StatusCodeError, as on the fetch client.
      assertReason(yield* failureOf(response.upgrade), "StatusCodeError")

      const streamedFirst = yield* client.get(`${server.origin}/`)
      yield* Stream.runDrain(streamedFirst.stream)
      assertReason(yield* failureOf(streamedFirst.text), "DecodeError")
    })))

  it.live("HEAD and 204 answers have an empty body; invalid JSON is a DecodeError", () =>
    untraced.run(Effect.gen(function*() {
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
      const client = yield* clientWith()
      assert.strictEqual(yield* Effect.flatMap(client.head(`${server.origin}/`), (r) => r.text), "")
      const none = yield* client.get(`${server.origin}/none`)
      assert.strictEqual(none.status, 204)
      assert.isNull(yield* none.json)
      const bad = yield* failureOf(Effect.flatMap(client.get(`${server.origin}/`), (r) => r.json))
      assertReason(bad, "DecodeError")
    })))

  it.live("tracing: a traceparent header with the tracer on, none with it disabled for the request", () =>
    Effect.gen(function*() {
      const seen: Array<string | undefined> = []
      const server = yield* loopback((request, response) => {
        seen.push(request.headers.traceparent === undefined ? undefined : String(request.headers.traceparent))
        response.end("ok")
      })
      const client = yield* clientWith()
      const traceId = yield* Effect.withSpan(
        Effect.andThen(client.get(`${server.origin}/`), Effect.map(Effect.currentSpan, (span) => span.traceId)),
        "parent"
      )
      yield* untraced.run(client.get(`${server.origin}/`))
      assert.strictEqual(seen.length, 2)
      assert.include(seen[0] ?? "", traceId)
      assert.isUndefined(seen[1])
    }))

  it.live("HttpClient.withScope: closing the scope aborts the request's body", () =>
    untraced.run(Effect.gen(function*() {
      const server = yield* loopback(routes)
      const client = HttpClient.withScope(yield* clientWith())
      const response = yield* Effect.scoped(client.get(`${server.origin}/stall`))
      assertReason(yield* failureOf(response.text), "DecodeError")
      yield* until(() => server.closed() >= 1)
    })))
})
