/**
 * A download whose body stalls (its head arrived, then no byte, the socket still open) on a fake `HttpClient` and
 * `TestClock` (ported from the root's test/download.idle.test.ts): the idle timeout between two chunks
 * (`BatchSchedule.currentIdleTimeout`, 5 minutes by default) breaks it off, the retry asks for the rest with `Range`,
 * and a stall that keeps coming back ends with the retry policy in a `TransportError` that says the body stalled. A
 * slow but steady body is never cut. The body is a script of chunks and `TestClock` sleeps, answered without
 * suspending (see test/support/FakeHttp.ts for why).
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, Redacted, Ref, Stream } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import { TestClock } from "effect/testing"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as OpenAiFiles from "../src/OpenAiFiles.js"
import * as Transport from "../src/transport/Transport.js"

/** A piece of a body: bytes, a pause on the clock, or a stall that never ends. */
type Step = string | { readonly wait: Duration.Input } | "stall"

interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body: ReadonlyArray<Step>
}

interface Sent {
  readonly range: string | undefined
  /** `Clock` time, ms. */
  readonly at: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const body = (steps: ReadonlyArray<Step>): Stream.Stream<Uint8Array> =>
  Stream.flatMap(Stream.fromIterable(steps), (step) =>
    step === "stall"
      ? Stream.never
      : typeof step === "string"
      ? Stream.succeed(encoder.encode(step))
      : Stream.drain(Stream.fromEffect(Effect.sleep(step.wait))))

class Log extends Context.Service<Log, Ref.Ref<ReadonlyArray<Sent>>>()("test/download.idle/Log") {}

/**
 * How the client reaches the pipeline: alone (a plain `HttpClient`, as the platform's), as the `httpClient` of a
 * `Transport` declaring (or not) a body timeout of its own, or wrapped after such a `Transport` built it.
 */
type Via = "client" | { readonly transport: "own" | "wrapped"; readonly bodyIdleTimeout: boolean }

/** OpenAiFiles over a client that answers `script` (by request index) and logs each request's Range and time. */
const files = (script: (index: number) => Reply, via: Via = "client") =>
  Layer.unwrap(Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<Sent>>([])
    const client = HttpClient.make((request) =>
      Effect.gen(function*() {
        const at = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const range = request.headers["range"]
        const index = (yield* Ref.getAndUpdate(log, (all) => [...all, { range, at }])).length
        const reply = script(index)
        const response = HttpClientResponse.fromWeb(
          request,
          new Response(null, { status: reply.status, headers: reply.headers ?? {} })
        )
        const scripted: HttpClientResponse.HttpClientResponse = Object.create(response, {
          stream: { value: body(reply.body) }
        })
        return scripted
      })
    )
    return OpenAiFiles.layer.pipe(
      Layer.provide(
        OpenAiConfig.layer({ apiKey: Redacted.make("sk-idle-test-0123456789"), baseUrl: "https://api.test/v1" })
      ),
      Layer.provide(
        via === "client" ? Layer.succeed(HttpClient.HttpClient, client) : Layer.mergeAll(
          Layer.succeed(Transport.Transport, {
            httpClient: client,
            bodyIdleTimeout: via.bodyIdleTimeout,
            exchange: () => Effect.die("downloads never take the exchange")
          }),
          Layer.succeed(
            HttpClient.HttpClient,
            via.transport === "own" ? client : HttpClient.mapRequest(client, (request) => request)
          )
        )
      ),
      Layer.merge(Layer.succeed(Log, log))
    )
  }))

const sent = Effect.flatMap(Effect.service(Log), Ref.get)

/**
 * Downloads the file in a fiber while `minutes` of virtual time pass, a minute at a time. Before each step the
 * fibers that can run do (a few scheduler turns): `TestClock.adjust` waits for the sleeps it wakes, not for a pull
 * that is one scheduler hop away (the idle timeout races each pull), which would start its timer a step late.
 */
const download = (minutes: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(
      Stream.runCollect(OpenAiFiles.downloadFile("file-abc123")).pipe(
        Effect.map((chunks) => decoder.decode(Buffer.concat(chunks)))
      )
    )
    for (let i = 0; i < minutes; i++) {
      for (let turn = 0; turn < 5; turn++) yield* Effect.yieldNow
      yield* TestClock.adjust("1 minute")
    }
    return fiber
  })

/** The download's result: it must have ended by now. */
const result = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.suspend(() => {
    assert.isDefined(fiber.pollUnsafe(), "the download is still running")
    return Fiber.join(fiber)
  })

const retry = BatchSchedule.retry({ jitter: false, baseDelay: "1 second", maxRetries: 2 })
const idle = Duration.toMillis(BatchSchedule.timeoutDefaults.idle)

describe("downloadFile: a body that stalls", () => {
  it.effect("stalls after 4 bytes: broken off at the idle timeout (5 minutes), not before; the rest by Range", () =>
    Effect.gen(function*() {
      const fiber = yield* download(10)
      assert.strictEqual(yield* result(fiber), "0123456789")
      const [first, second, ...more] = yield* sent
      assert.deepStrictEqual(first, { range: undefined, at: 0 })
      // the last byte came at 0: the stall is seen 5 minutes later, then the policy's first delay (1 s)
      assert.deepStrictEqual(second, { range: "bytes=4-", at: idle + 1_000 })
      assert.strictEqual(more.length, 0)
    }).pipe(
      BatchSchedule.withRetry(retry),
      Effect.provide(files((index) =>
        index === 0
          ? { status: 200, body: ["01", "23", "stall"] }
          : { status: 206, headers: { "content-range": "bytes 4-9/10" }, body: ["456789"] }
      ))
    ))

  it.effect("the clock counts from the last chunk, not from the head: a stall after 3 minutes of bytes", () =>
    Effect.gen(function*() {
      const fiber = yield* download(15)
      assert.strictEqual(yield* result(fiber), "0123456789")
      const times = (yield* sent).map((s) => s.at)
      assert.deepStrictEqual(times, [0, 3 * 60_000 + idle + 1_000])
    }).pipe(
      BatchSchedule.withRetry(retry),
      Effect.provide(files((index) =>
        index === 0
          ? { status: 200, body: ["01", { wait: "3 minutes" }, "23", "stall"] }
          : { status: 206, headers: { "content-range": "bytes 4-9/10" }, body: ["456789"] }
      ))
    ))

  it.effect("stalls on every attempt: the policy gives up with a TransportError that says the body stalled", () =>
    Effect.gen(function*() {
      const fiber = yield* download(3)
      const error = yield* Effect.flip(result(fiber))
      assert.strictEqual(error._tag, "TransportError")
      if (error._tag !== "TransportError") return
      assert.strictEqual(error.reason, "Timeout")
      assert.isTrue(error.bodyBrokenOff)
      assert.strictEqual(error.timeoutMs, 30_000)
      assert.strictEqual(
        error.message,
        "downloadFile: GET https://api.test/v1/files/file-abc123/content failed: the body stalled (no bytes for 30s)"
      )
      // the first attempt (progress, so the policy's count starts there), then the policy's two retries
      assert.deepStrictEqual(yield* sent, [
        { range: undefined, at: 0 },
        { range: "bytes=4-", at: 30_000 + 1_000 },
        { range: "bytes=4-", at: 2 * 30_000 + 1_000 + 2_000 }
      ])
    }).pipe(
      BatchSchedule.withIdleTimeout("30 seconds"),
      BatchSchedule.withRetry(retry),
      Effect.provide(files((index) =>
        index === 0
          ? { status: 200, body: ["0123", "stall"] }
          : { status: 206, headers: { "content-range": "bytes 4-9/10" }, body: ["stall"] }
      ))
    ))

  it.effect("a slow but steady body (a chunk every 4 minutes for 12 minutes) is not cut; its stall after that is", () =>
    Effect.gen(function*() {
      const fiber = yield* download(20)
      assert.strictEqual(yield* result(fiber), "0123456789")
      assert.deepStrictEqual(yield* sent, [
        { range: undefined, at: 0 },
        // the last byte came at 12 minutes
        { range: "bytes=8-", at: 12 * 60_000 + idle + 1_000 }
      ])
    }).pipe(
      BatchSchedule.withRetry(retry),
      Effect.provide(files((index) => {
        const every4: Step = { wait: "4 minutes" }
        return index === 0
          ? { status: 200, body: ["01", every4, "23", every4, "45", every4, "67", "stall"] }
          : { status: 206, headers: { "content-range": "bytes 8-9/10" }, body: ["89"] }
      }))
    ))

  it.effect("withIdleTimeout(Duration.infinity): a stalled body is never cut", () =>
    Effect.gen(function*() {
      const fiber = yield* download(0)
      yield* TestClock.adjust("1 hour")
      assert.isUndefined(fiber.pollUnsafe())
      assert.deepStrictEqual(yield* sent, [{ range: undefined, at: 0 }])
      yield* Fiber.interrupt(fiber)
    }).pipe(
      BatchSchedule.withIdleTimeout(Duration.infinity),
      BatchSchedule.withRetry(retry),
      Effect.provide(files(() => ({ status: 200, body: ["0123", "stall"] })))
    ))
})

describe("downloadFile: a stalled body on a Transport that cuts its bodies itself (bodyIdleTimeout)", () => {
  const stalls = () => ({ status: 200, body: ["0123", "stall"] })
  const resumes = (index: number): Reply =>
    index === 0
      ? { status: 200, body: ["0123", "stall"] }
      : { status: 206, headers: { "content-range": "bytes 4-9/10" }, body: ["456789"] }

  it.effect("on its own HttpClient, unset: the library adds no watchdog (the transport's bodyTimeout is the one)", () =>
    Effect.gen(function*() {
      const fiber = yield* download(10)
      assert.isUndefined(fiber.pollUnsafe(), "the library broke the body off")
      assert.deepStrictEqual(yield* sent, [{ range: undefined, at: 0 }])
      yield* Fiber.interrupt(fiber)
    }).pipe(
      BatchSchedule.withRetry(retry),
      Effect.provide(files(stalls, { transport: "own", bodyIdleTimeout: true }))
    ))

  it.effect("on its own HttpClient, withIdleTimeout set: the library's watchdog cuts it and resumes", () =>
    Effect.gen(function*() {
      const fiber = yield* download(10)
      assert.strictEqual(yield* result(fiber), "0123456789")
      assert.deepStrictEqual(yield* sent, [{ range: undefined, at: 0 }, { range: "bytes=4-", at: idle + 1_000 }])
    }).pipe(
      BatchSchedule.withIdleTimeout(BatchSchedule.timeoutDefaults.idle),
      BatchSchedule.withRetry(retry),
      Effect.provide(files(resumes, { transport: "own", bodyIdleTimeout: true }))
    ))

  it.effect("through a wrapped HttpClient, or on a Transport without one, unset: the default watchdog cuts it", () =>
    Effect.gen(function*() {
      for (
        const via of [
          { transport: "wrapped", bodyIdleTimeout: true },
          { transport: "own", bodyIdleTimeout: false }
        ] as const
      ) {
        const fiber = yield* download(10).pipe(Effect.provide(files(resumes, via)))
        assert.strictEqual(yield* result(fiber), "0123456789", JSON.stringify(via))
      }
    }).pipe(BatchSchedule.withRetry(retry)))
})
