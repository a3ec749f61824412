/**
 * What a BatchApi call leaves behind it: the API key in no error, log line or span, and the spans themselves.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Logger, LogLevel, Redacted, Tracer } from "effect"
import * as util from "node:util"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as Transport from "../src/transport/Transport.js"
import * as Fake from "./support/FakeHttp.js"

const noRetry = BatchSchedule.withRetry(BatchSchedule.noRetry)

/** A tracer that records every span's name and attributes. */
const recordingTracer = () => {
  const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      spans.push({ name, attributes })
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length}`,
        traceId: "trace-1",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: () => undefined,
        attribute: (key, value) => void attributes.set(key, value),
        event: () => undefined,
        addLinks: () => undefined
      }
      return span
    },
    context: (f) => f()
  })
  return { spans, tracer }
}

describe("the API key never leaks", () => {
  const secret = Fake.testKey

  it.effect("not in any error: message, String, JSON.stringify, cause rendering", () =>
    Effect.gen(function*() {
      const errors = [
        yield* Effect.flip(BatchApi.retrieveBatch("batch_401").pipe(noRetry)),
        yield* Effect.flip(BatchApi.retrieveBatch("batch_html").pipe(noRetry)),
        yield* Effect.flip(BatchApi.retrieveBatch("batch_drop").pipe(noRetry)),
        yield* Effect.flip(BatchApi.retrieveBatch("batch_bad").pipe(noRetry)),
        yield* Effect.flip(BatchApi.retrieveBatch("../x").pipe(noRetry))
      ]
      assert.strictEqual(errors.length, 5)
      for (const error of errors) {
        for (const rendered of [error.message, String(error), JSON.stringify(error), error.stack ?? ""]) {
          assert.notInclude(rendered, secret)
          assert.notInclude(rendered, "SECRET")
        }
      }
      const exit = yield* Effect.exit(BatchApi.retrieveBatch("batch_401").pipe(noRetry))
      assert.isTrue(Exit.isFailure(exit))
      assert.notInclude(JSON.stringify(exit), "SECRET")
    }).pipe(Effect.provide(Fake.layer((request) => {
      const path = request.url.pathname
      if (path.endsWith("batch_401")) {
        return Fake.json(401, {
          error: {
            message: "Incorrect API key provided",
            type: "invalid_request_error",
            param: null,
            code: "invalid_api_key"
          }
        })
      }
      if (path.endsWith("batch_html")) return { status: 503, body: "<html>down</html>" }
      if (path.endsWith("batch_drop")) return { drop: true }
      return Fake.json(200, { nope: true })
    }))))

  it.effect("not in an error even when the server echoes it back (in its envelope, in an HTML page)", () =>
    Effect.gen(function*() {
      const inEnvelope = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      const inHtml = yield* Effect.flip(BatchApi.retrieveBatch("batch_2").pipe(noRetry))
      for (const error of [inEnvelope, inHtml]) {
        assert.notInclude(JSON.stringify(error), "SECRET")
        assert.notInclude(error.message, "SECRET")
        assert.include(JSON.stringify(error), "<redacted>")
      }
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.url.pathname.endsWith("batch_1")
        ? Fake.json(401, {
          error: { message: `Bad key: ${request.headers["authorization"]}`, type: "auth", param: null, code: null }
        })
        : { status: 502, body: `<html>proxy saw ${request.headers["authorization"]}</html>` }
    ))))

  it.effect("not in an error or a span when a proxy echoes it in the x-request-id header", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const failed = yield* Effect.flip(BatchApi.retrieveBatch("batch_401").pipe(noRetry))
      const undecodable = yield* Effect.flip(BatchApi.retrieveBatch("batch_bad").pipe(noRetry))
      yield* BatchApi.retrieveBatch("batch_ok").pipe(Effect.withTracer(tracer))
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

  it.effect("not in an error when the body escapes it (a JSON escape hides it from a scrub of the raw text)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.notInclude(error.message, "SECRET")
      assert.notInclude(JSON.stringify(error), "SECRET")
    }).pipe(Effect.provide(Fake.layer(
      () => ({ status: 401, body: String.raw`{"error":{"message":"bad key sk-test\/SECRET-0123456789"}}` }),
      { apiKey: Redacted.make("sk-test/SECRET-0123456789") }
    ))))

  it.effect("not in a TransportError when the transport's own error quotes it (its message, a nested cause)", () =>
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

  it.effect("not in log lines, even at debug level with retries", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => lines.push(JSON.stringify(message)))
      yield* BatchApi.retrieveBatch("batch_1").pipe(
        BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 1, jitter: false, baseDelay: 0 })),
        Effect.either,
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      assert.isAbove(lines.length, 0)
      for (const line of lines) assert.notInclude(line, "SECRET")
    }).pipe(Effect.provide(Fake.layer(() =>
      Fake.json(500, { error: { message: "boom", type: "server_error", param: null, code: null } })
    ))))

  it.effect("not in span names or attributes, spans are made per operation, and the platform makes none per attempt", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* BatchApi.retrieveBatch("batch_1").pipe(noRetry, Effect.either, Effect.withTracer(tracer))
      yield* BatchApi.createBatch({ input_file_id: "f", endpoint: "/v1/embeddings", completion_window: "24h" }).pipe(
        noRetry
      )
        .pipe(Effect.either, Effect.withTracer(tracer))
      const names = spans.map((span) => span.name)
      assert.include(names, "BatchApi.retrieveBatch")
      assert.include(names, "BatchApi.createBatch")
      assert.isUndefined(spans.find((span) => span.name.startsWith("http.client")))
      assert.strictEqual(
        spans.find((span) => span.name === "BatchApi.retrieveBatch")?.attributes.get("openai.batch_id"),
        "batch_1"
      )
      assert.notInclude(JSON.stringify(spans.map((span) => [span.name, [...span.attributes]])), "SECRET")
    }).pipe(Effect.provide(Fake.layer(
      () => Fake.json(500, { error: { message: "boom", type: "server_error", param: null, code: null } }),
      { organization: "org-secret-1", project: "proj-secret-1" }
    ))))

  it.effect("by default: one span per operation with the request id, no per-attempt HTTP span, no traceparent", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* BatchApi.retrieveBatch("batch_1").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(spans.map((span) => span.name), ["BatchApi.retrieveBatch"])
      assert.strictEqual(spans[0]?.attributes.get("openai.request_id"), "req_42")
      const [request] = yield* Fake.requests
      assert.isUndefined(request?.headers["traceparent"])
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(200, Fake.batchJson(), { "x-request-id": "req_42" })))))
})

describe("ids in URL paths", () => {
  it.effect("an id with a lone surrogate is refused as an InvalidParamsError (encodeURIComponent would throw)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.suspend(() => BatchApi.retrieveBatch("batch_\ud800")))
      assert.strictEqual(error._tag, "InvalidParamsError")
      const cancel = yield* Effect.flip(Effect.suspend(() => BatchApi.cancelBatch("\udc00batch")))
      assert.strictEqual(cancel._tag, "InvalidParamsError")
      // A well-formed pair is fine.
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

describe("spans of the hot operations", () => {
  it.effect("retrieve, poll, cancel and list: exactly one span each, the batch id on it; an invalid id fails in its span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* BatchApi.retrieveBatch("batch_1").pipe(Effect.withTracer(tracer))
      yield* BatchApi.pollBatch("batch_2").pipe(Effect.withTracer(tracer))
      yield* BatchApi.cancelBatch("batch_3").pipe(Effect.withTracer(tracer))
      yield* BatchApi.listBatches({ limit: 1 }).pipe(Effect.either, Effect.withTracer(tracer))
      const invalid = yield* Effect.flip(BatchApi.retrieveBatch("../x").pipe(Effect.withTracer(tracer)))
      assert.strictEqual(invalid._tag, "InvalidParamsError")
      assert.deepStrictEqual(spans.map((span) => [span.name, span.attributes.get("openai.batch_id")]), [
        ["BatchApi.retrieveBatch", "batch_1"],
        ["BatchApi.pollBatch", "batch_2"],
        ["BatchApi.cancelBatch", "batch_3"],
        ["BatchApi.listBatches", undefined],
        ["BatchApi.retrieveBatch", undefined]
      ])
      assert.strictEqual(spans[0]?.attributes.get("openai.request_id"), "req_7")
      // The invalid id was never sent.
      assert.strictEqual((yield* Fake.requests).length, 4)
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(200, Fake.batchJson(), { "x-request-id": "req_7" })))))
})
