/**
 * What a BatchApi call leaves behind it on Effect 4: one span per public operation, with the batch and request ids
 * and no platform span per attempt; the API key in no span attribute and no log line, at any level.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Fiber, Layer, Logger, Redacted, References, Stream, Tracer } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import { TestClock } from "effect/testing"
import * as util from "node:util"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchWait from "../src/BatchWait.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as Transport from "../src/transport/Transport.js"
import * as Fake from "./support/FakeHttp.js"
import { envelope } from "./support/loopback.js"

/** A tracer that keeps every span it starts. */
const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const responder: Fake.Responder = (request, index) =>
  request.url.pathname.endsWith("/batch_500") && index === 0
    ? Fake.json(500, envelope(`server echoed ${Fake.testKey}`))
    : request.url.pathname.endsWith("/batch_401")
    ? Fake.json(401, envelope(`Incorrect API key provided: ${Fake.testKey}`), { "x-request-id": "req_401" })
    : Fake.json(200, Fake.batchJson({ id: "batch_1", status: "completed" }), { "x-request-id": "req_ok" })

describe("spans and logs", () => {
  it.effect("one span per operation, with the batch id and the request id; no span per attempt", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const traced = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Tracer.Tracer, tracer)
      yield* traced(BatchApi.retrieveBatch("batch_1"))
      yield* traced(
        Effect.flip(BatchApi.retrieveBatch("batch_401").pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
      )
      yield* traced(BatchWait.awaitBatch("batch_1"))
      yield* traced(Stream.runDrain(BatchApi.streamBatches().pipe(Stream.take(0))))
      const names = spans.map((span) => span.name)
      assert.deepStrictEqual(names.filter((name) => name === "BatchApi.retrieveBatch").length, 2)
      assert.include(names, "BatchWait.awaitBatch")
      assert.include(names, "BatchApi.pollBatch")
      // the platform's HttpClient spans are turned off: every span is one of the library's operations
      for (const name of names) assert.match(name, /^(BatchApi|BatchWait)\./)
      const [ok, failed] = spans.filter((span) => span.name === "BatchApi.retrieveBatch")
      assert.strictEqual(ok?.attributes.get("openai.batch_id"), "batch_1")
      assert.strictEqual(ok?.attributes.get("openai.request_id"), "req_ok")
      assert.strictEqual(failed?.attributes.get("openai.batch_id"), "batch_401")
      assert.strictEqual(failed?.status._tag, "Ended")
      for (const span of spans) {
        for (const [key, value] of span.attributes) {
          assert.notInclude(`${key}=${String(value)}`, Fake.testKey, span.name)
        }
      }
    }).pipe(Effect.provide(Fake.layer(responder))))

  it.effect("the key is in no log line, at any level, through a retried failure whose body echoed it", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.map(Logger.formatJson, (line) => {
        lines.push(line)
      })
      const fiber = yield* Effect.forkChild(
        BatchApi.retrieveBatch("batch_500").pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false })),
          Effect.provide(Logger.layer([capture])),
          Effect.provideService(References.MinimumLogLevel, "All")
        )
      )
      // once the failed attempt is in, the retry's 0.5 s pass on the TestClock
      for (let i = 0; i < 10_000 && (yield* Fake.requests).length < 1; i++) yield* Effect.yieldNow
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      const batch = yield* Fiber.join(fiber)
      assert.strictEqual(batch.id, "batch_1")
      // the failed attempt is logged at debug, with its message: scrubbed of the key
      const attempt = lines.find((line) => line.includes("attempt failed"))
      assert.isDefined(attempt)
      assert.include(attempt ?? "", "<redacted>")
      for (const line of lines) assert.notInclude(line, Fake.testKey)
    }).pipe(Effect.provide(Fake.layer(responder))))
})

const noRetry = BatchSchedule.withRetry(BatchSchedule.noRetry)

describe("the key echoed back", () => {
  it.effect("in the x-request-id header: in no error and no span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const failed = yield* Effect.flip(BatchApi.retrieveBatch("batch_401").pipe(noRetry))
      const undecodable = yield* Effect.flip(BatchApi.retrieveBatch("batch_bad").pipe(noRetry))
      yield* Effect.provideService(BatchApi.retrieveBatch("batch_ok"), Tracer.Tracer, tracer)
      for (const error of [failed, undecodable]) {
        assert.notInclude(error.message, "SECRET")
        assert.notInclude(JSON.stringify(error), "SECRET")
        assert.notInclude(util.inspect(error, { depth: 10 }), "SECRET")
      }
      assert.include(failed.message, "<redacted>")
      assert.notInclude(JSON.stringify(spans.map((span) => [...span.attributes])), "SECRET")
    }).pipe(Effect.provide(Fake.layer((request) => {
      const echo = { "x-request-id": `req ${request.headers["authorization"]}` }
      const path = request.url.pathname
      if (path.endsWith("batch_401")) return Fake.json(401, { error: { message: "no" } }, echo)
      if (path.endsWith("batch_bad")) return Fake.json(200, { nope: true }, echo)
      return Fake.json(200, Fake.batchJson(), echo)
    }))))

  it.effect("JSON-escaped in the body (hidden from a scrub of the raw text): in no error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.notInclude(error.message, "SECRET")
      assert.notInclude(JSON.stringify(error), "SECRET")
    }).pipe(Effect.provide(Fake.layer(
      () => ({ status: 401, body: String.raw`{"error":{"message":"bad key sk-test\/SECRET-0123456789"}}` }),
      { apiKey: Redacted.make("sk-test/SECRET-0123456789") }
    ))))

  it.effect("in the transport's own error (its message, a nested cause): in no TransportError", () =>
    Effect.gen(function*() {
      const outer = yield* Effect.flip(BatchApi.retrieveBatch("batch_outer").pipe(noRetry))
      const nested = yield* Effect.flip(BatchApi.retrieveBatch("batch_nested").pipe(noRetry))
      for (const error of [outer, nested]) {
        assert.strictEqual(error._tag, "TransportError")
        for (
          const rendered of [
            error.message,
            JSON.stringify(error),
            util.inspect(error, { depth: 10 }),
            Cause.pretty(Cause.fail(error))
          ]
        ) assert.notInclude(rendered, "SECRET")
      }
      assert.include(outer.message, "proxy refused Bearer <redacted>")
    }).pipe(Effect.provide(Fake.layer((request) => {
      const quoted = `proxy refused ${request.headers["authorization"]}`
      return request.url.pathname.endsWith("batch_outer")
        ? { drop: true, cause: new Error(quoted) }
        : { drop: true, cause: new Error("fetch failed", { cause: new Error(quoted) }) }
    }))))
})

describe("ids in URL paths", () => {
  it.effect("an id with a lone surrogate is refused as an InvalidParamsError (encodeURIComponent would throw)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.suspend(() => BatchApi.retrieveBatch("batch_\ud800")))
      assert.strictEqual(error._tag, "InvalidParamsError")
      const cancel = yield* Effect.flip(Effect.suspend(() => BatchApi.cancelBatch("\udc00batch")))
      assert.strictEqual(cancel._tag, "InvalidParamsError")
      yield* BatchApi.retrieveBatch("batch_\ud83d\ude00")
      assert.strictEqual((yield* Fake.requests).length, 1)
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(200, Fake.batchJson())))))
})

describe("a query over a Transport", () => {
  const paths: Array<string> = []
  const TransportLive = Transport.layer(Effect.succeed<Transport.Service>({
    httpClient: HttpClient.make(() => Effect.die("not used")),
    bodyIdleTimeout: false,
    exchange: (request) =>
      Effect.sync(() => {
        paths.push(request.path)
        return {
          status: 200,
          headers: {},
          text: JSON.stringify({ object: "list", data: [], has_more: false, first_id: null, last_id: null })
        }
      })
  }))

  it.effect("an after cursor with a lone surrogate is sent as the platform sends it (U+FFFD), not a URIError", () =>
    Effect.gen(function*() {
      yield* BatchApi.listBatches({ after: "batch_\ud800" })
      assert.deepStrictEqual(paths, ["/v1/batches?after=batch_%EF%BF%BD"])
    }).pipe(Effect.provide(BatchApi.layer.pipe(
      Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(Fake.testKey) })),
      Layer.provide(TransportLive)
    ))))
})
