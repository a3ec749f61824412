import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Logger, LogLevel, Schema } from "effect"
import { readFileSync } from "node:fs"
import { inspect } from "node:util"
import * as Batch from "../src/Batch.js"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as Fake from "./support/FakeHttp.js"

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8"))

const noRetry = BatchSchedule.withRetry(BatchSchedule.noRetry)

describe("BatchApi operations", () => {
  it.effect("createBatch: POST /batches with the JSON body, auth and identification headers", () =>
    Effect.gen(function*() {
      const batch = yield* BatchApi.createBatch({
        input_file_id: "file-abc123",
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
        metadata: { job: "nightly" },
        output_expires_after: { anchor: "created_at", seconds: 7200 }
      }, { idempotencyKey: "key-1" })
      assert.strictEqual(batch.id, "batch_abc123")
      // a caller's key is looked up first (a re-run after a crash must not create a second batch)
      const [lookup, request] = yield* Fake.requests
      assert.strictEqual(`${lookup?.method} ${lookup?.url.pathname}`, "GET /v1/batches")
      assert.strictEqual(request?.method, "POST")
      assert.strictEqual(request?.url.href, "https://api.test/v1/batches")
      assert.strictEqual(request?.headers["authorization"], `Bearer ${Fake.testKey}`)
      assert.strictEqual(request?.headers["content-type"], "application/json")
      assert.strictEqual(request?.headers["accept"], "application/json")
      assert.strictEqual(request?.headers["user-agent"], "effect-openai-batch/0.2.0")
      assert.strictEqual(request?.headers["openai-organization"], "org-1")
      assert.strictEqual(request?.headers["openai-project"], "proj-1")
      assert.strictEqual(request?.headers["idempotency-key"], "key-1")
      assert.deepStrictEqual(request?.body, {
        input_file_id: "file-abc123",
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
        metadata: { job: "nightly", [BatchApi.idempotencyMetadataKey]: "key-1" },
        output_expires_after: { anchor: "created_at", seconds: 7200 }
      })
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.method === "GET"
        ? Fake.json(200, { object: "list", data: [], has_more: false })
        : Fake.json(200, fixture("createBatch.response.json")), {
      organization: "org-1",
      project: "proj-1"
    }))))

  it.effect("createBatch without marker: no metadata slot used, still an Idempotency-Key", () =>
    Effect.gen(function*() {
      yield* BatchApi.createBatch(
        { input_file_id: "file-1", endpoint: "/v1/embeddings", completion_window: "24h" },
        { idempotencyMarker: false }
      )
      const [request] = yield* Fake.requests
      assert.deepStrictEqual(request?.body, {
        input_file_id: "file-1",
        endpoint: "/v1/embeddings",
        completion_window: "24h"
      })
      assert.match(request?.headers["idempotency-key"] ?? "", /^eob-[0-9a-f-]{36}$/)
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(200, fixture("createBatch.response.json"))))))

  it.effect("retrieveBatch: GET /batches/{id}; listBatches: query; cancelBatch: POST /batches/{id}/cancel", () =>
    Effect.gen(function*() {
      const retrieved = yield* BatchApi.retrieveBatch("batch_abc123")
      assert.strictEqual(retrieved.status, "completed")
      const page = yield* BatchApi.listBatches({ after: "batch_x", limit: 2 })
      assert.strictEqual(page.data[0]?.id, "batch_abc123")
      yield* BatchApi.listBatches()
      const cancelled = yield* BatchApi.cancelBatch("batch_abc123")
      assert.strictEqual(cancelled.status, "cancelling")
      const log = yield* Fake.requests
      assert.deepStrictEqual(
        log.map((r) => `${r.method} ${r.url.pathname}${r.url.search}`),
        [
          "GET /v1/batches/batch_abc123",
          "GET /v1/batches?after=batch_x&limit=2",
          "GET /v1/batches",
          "POST /v1/batches/batch_abc123/cancel"
        ]
      )
      assert.isUndefined(log[3]?.body)
    }).pipe(Effect.provide(Fake.layer((request) => {
      if (request.url.pathname.endsWith("/cancel")) return Fake.json(200, fixture("cancelBatch.response.json"))
      if (request.url.pathname === "/v1/batches") return Fake.json(200, fixture("listBatches.response.json"))
      return Fake.json(200, fixture("retrieveBatch.response.json"))
    }))))

  it.effect("a base URL with a trailing slash behaves the same", () =>
    Effect.gen(function*() {
      yield* BatchApi.retrieveBatch("batch_1")
      const [request] = yield* Fake.requests
      assert.strictEqual(request?.url.href, "http://127.0.0.1:1/v1/batches/batch_1")
    }).pipe(
      Effect.provide(Fake.layer(() => Fake.json(200, Fake.batchJson()), { baseUrl: "http://127.0.0.1:1/v1///" }))
    ))
})

describe("client-side validation sends nothing", () => {
  const layer = Fake.layer(() => Fake.json(200, Fake.batchJson()))

  it.effect("bad params and bad ids fail with InvalidParamsError before any request", () =>
    Effect.gen(function*() {
      const failures: ReadonlyArray<Effect.Effect<unknown, BatchError.CreateError, BatchApi.BatchApi>> = [
        BatchApi.createBatch({ input_file_id: "", endpoint: "/v1/embeddings", completion_window: "24h" }),
        BatchApi.createBatch({
          input_file_id: "f",
          endpoint: "/v1/embeddings",
          completion_window: "24h",
          metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]))
        }),
        BatchApi.listBatches({ limit: 500 }),
        BatchApi.listBatches({ limit: 0 }),
        BatchApi.retrieveBatch("../files/file-1"),
        BatchApi.retrieveBatch(""),
        BatchApi.retrieveBatch("batch_1?x=1"),
        BatchApi.cancelBatch("batch_1/../../x"),
        BatchApi.cancelBatch("batch 1"),
        BatchApi.retrieveBatch("batch%2F1"),
        BatchApi.cancelBatch("."),
        BatchApi.createBatch({ input_file_id: "f", endpoint: "/v1/embeddings", completion_window: "24h" }, {
          idempotencyKey: ""
        }),
        BatchApi.createBatch({ input_file_id: "f", endpoint: "/v1/embeddings", completion_window: "24h" }, {
          idempotencyKey: "has space"
        }),
        BatchApi.createBatch({ input_file_id: "f", endpoint: "/v1/embeddings", completion_window: "24h" }, {
          idempotencyKey: "k".repeat(513)
        })
      ]
      for (const effect of failures) {
        const error = yield* Effect.flip(effect)
        assert.strictEqual(error._tag, "InvalidParamsError")
      }
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(layer)))

  it.effect("the error says which field broke which rule, in one short line naming the operation", () =>
    Effect.gen(function*() {
      const limit = yield* Effect.flip(BatchApi.listBatches({ limit: 500 }))
      assert.strictEqual(limit._tag, "InvalidParamsError")
      if (limit._tag === "InvalidParamsError") assert.strictEqual(limit.field, "limit")
      assert.strictEqual(limit.message, "listBatches: limit must be an integer between 1 and 100")
      const id = yield* Effect.flip(BatchApi.retrieveBatch("../x"))
      assert.strictEqual(
        id.message,
        "retrieveBatch: batchId must not contain '/', '?', '#', '%', '\\', '..', whitespace or control characters"
      )
      // The rule a filter states, not "must be an object"; every allowed endpoint, not the first one.
      const params = { input_file_id: "f", endpoint: "/v1/embeddings", completion_window: "24h" } as const
      const tooMany = yield* Effect.flip(BatchApi.createBatch({
        ...params,
        metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]))
      }))
      assert.strictEqual(tooMany.message, "createBatch: metadata holds at most 16 key-value pairs, got 17")
      const longKey = yield* Effect.flip(BatchApi.createBatch({ ...params, metadata: { ["k".repeat(65)]: "v" } }))
      assert.strictEqual(longKey.message, "createBatch: metadata has a key longer than 64 characters")
      const endpoint = yield* Effect.flip(
        BatchApi.createBatch({ ...params, endpoint: "/v1/unknown" as Batch.KnownEndpoint })
      )
      assert.strictEqual(
        endpoint.message,
        `createBatch: endpoint must be one of ${Batch.knownEndpoints.map((e) => JSON.stringify(e)).join(", ")}`
      )
    }).pipe(Effect.provide(layer)))

  it.effect("never echoes the caller's values (metadata may be large or private), nor a schema dump", () =>
    Effect.gen(function*() {
      const secret = "PRIVATE-" + "x".repeat(2000)
      const cases = [
        { metadata: { note: secret } },
        { metadata: { note: { nested: secret } } as unknown as Record<string, string> },
        { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, secret])) }
      ]
      for (const extra of cases) {
        const error = yield* Effect.flip(
          BatchApi.createBatch({ input_file_id: "f", endpoint: "/v1/embeddings", completion_window: "24h", ...extra })
        )
        assert.strictEqual(error._tag, "InvalidParamsError")
        assert.notInclude(JSON.stringify(error), "PRIVATE")
        assert.isBelow(error.message.length, 120, error.message)
        assert.notInclude(error.message, "readonly")
        assert.notInclude(error.message, "{")
        assert.match(error.message, /^createBatch: metadata/)
      }
    }).pipe(Effect.provide(layer)))
})

describe("errors", () => {
  const envelope = (message: string, type: string, code: string | null, param: string | null = null) => ({
    error: { message, type, param, code }
  })
  const cases: ReadonlyArray<readonly [number, string]> = [
    [400, "BadRequestError"],
    [401, "AuthenticationError"],
    [403, "PermissionDeniedError"],
    [404, "NotFoundError"],
    [409, "ConflictError"],
    [422, "UnprocessableEntityError"],
    [429, "RateLimitError"],
    [500, "InternalServerError"],
    [503, "InternalServerError"],
    [418, "ApiError"]
  ]

  for (const [status, tag] of cases) {
    it.effect(`${status} -> ${tag} with the envelope's fields and the request id`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
        assert.strictEqual(error._tag, tag)
        if (error._tag === "InvalidParamsError" || error._tag === "TransportError" || error._tag === "DecodeError") {
          return assert.fail("expected a status error")
        }
        assert.strictEqual(error.status, status)
        assert.strictEqual(error.type, "invalid_request_error")
        assert.strictEqual(error.code, "some_code")
        assert.strictEqual(error.param, "batch_id")
        assert.strictEqual(error.requestId, "req_123")
        assert.strictEqual(error.operation, "retrieveBatch")
        assert.strictEqual(error.message, `retrieveBatch: ${status} Something went wrong (request id req_123)`)
        assert.isUndefined(error.bodyExcerpt)
      }).pipe(Effect.provide(Fake.layer(() =>
        Fake.json(status, envelope("Something went wrong", "invalid_request_error", "some_code", "batch_id"), {
          "x-request-id": "req_123"
        })
      ))))
  }

  it.effect("catchTag tells the kinds apart", () =>
    Effect.gen(function*() {
      const result = yield* BatchApi.retrieveBatch("batch_missing").pipe(
        noRetry,
        Effect.map(() => "found"),
        Effect.catchTag("NotFoundError", (error) => Effect.succeed(`not found: ${error.message}`))
      )
      assert.strictEqual(result, "not found: retrieveBatch: 404 No batch found with id 'batch_missing'.")
    }).pipe(Effect.provide(Fake.layer(() =>
      Fake.json(404, envelope("No batch found with id 'batch_missing'.", "invalid_request_error", null))
    ))))

  it.effect("an HTML error page from a proxy keeps the status and an excerpt", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      assert.strictEqual(error._tag, "InternalServerError")
      if (error._tag !== "InternalServerError") return
      assert.strictEqual(error.status, 502)
      assert.include(error.bodyExcerpt ?? "", "502 Bad Gateway")
      assert.include(error.message, "502 <html>")
    }).pipe(Effect.provide(Fake.layer(() => ({
      status: 502,
      body: "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
      headers: { "content-type": "text/html" }
    })))))

  it.effect("an empty error body and a JSON body that is not the envelope", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      assert.strictEqual(empty._tag, "InternalServerError")
      assert.strictEqual(empty.message, "retrieveBatch: 500 status code (no body)")
      const other = yield* Effect.flip(BatchApi.retrieveBatch("batch_2").pipe(noRetry))
      assert.strictEqual(other._tag, "BadRequestError")
      if (other._tag === "BadRequestError") assert.strictEqual(other.bodyExcerpt, `{"detail":"nope"}`)
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.url.pathname.endsWith("batch_1") ? { status: 500 } : Fake.json(400, { detail: "nope" })
    ))))

  it.effect("a 2xx body that is not a batch is a DecodeError with the issue and request id", () =>
    Effect.gen(function*() {
      const notJson = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      assert.strictEqual(notJson._tag, "DecodeError")
      if (notJson._tag === "DecodeError") {
        assert.include(notJson.issue, "not JSON")
        assert.strictEqual(notJson.requestId, "req_9")
        assert.strictEqual(notJson.status, 200)
      }
      const wrongShape = yield* Effect.flip(BatchApi.retrieveBatch("batch_2").pipe(noRetry))
      assert.strictEqual(wrongShape._tag, "DecodeError")
      if (wrongShape._tag === "DecodeError") assert.include(wrongShape.issue, "created_at")
      const truncated = yield* Effect.flip(BatchApi.retrieveBatch("batch_3").pipe(noRetry))
      assert.strictEqual(truncated._tag, "DecodeError")
    }).pipe(Effect.provide(Fake.layer((request) => {
      const path = request.url.pathname
      if (path.endsWith("batch_1")) {
        return { status: 200, body: "<html>ok</html>", headers: { "x-request-id": "req_9" } }
      }
      if (path.endsWith("batch_2")) return Fake.json(200, { ...Fake.batchJson(), created_at: "yesterday" })
      return { status: 200, body: JSON.stringify(Fake.batchJson()).slice(0, 40) }
    }))))

  it.effect("a DecodeError has a cause: the parse issue, summarized, never echoing the values it found", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      if (error._tag !== "DecodeError") return assert.fail(`expected DecodeError, got ${error._tag}`)
      assert.strictEqual(error.issue, "created_at must be a number")
      assert.instanceOf(error.cause, Error)
      assert.strictEqual((error.cause as Error).message, error.issue)
      assert.isTrue(error.message.endsWith(": created_at must be a number"), error.message)
      for (const text of [error.issue, error.message, String(error.cause)]) assert.notInclude(text, "private-0042")
      // It serializes and decodes back, cause included.
      const decoded = Schema.decodeUnknownSync(BatchError.BatchError)(Schema.encodeSync(BatchError.BatchError)(error))
      assert.strictEqual(decoded._tag, "DecodeError")
      if (decoded._tag === "DecodeError") assert.strictEqual((decoded.cause as Error).message, error.issue)
      // Nor does the JSON parser's message, which quotes the body, reach the issue.
      const notJson = yield* Effect.flip(BatchApi.retrieveBatch("batch_2").pipe(noRetry))
      if (notJson._tag !== "DecodeError") return assert.fail(`expected DecodeError, got ${notJson._tag}`)
      assert.strictEqual(notJson.issue, "not JSON")
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.url.pathname.endsWith("batch_1")
        ? Fake.json(200, { ...Fake.batchJson(), created_at: "private-0042" })
        : { status: 200, body: "<html>private-0042</html>" }
    ))))

  it.effect("a dropped connection is a TransportError that keeps the transport's cause and code", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      assert.strictEqual(error._tag, "TransportError")
      if (error._tag !== "TransportError") return
      assert.strictEqual(error.reason, "Transport")
      assert.strictEqual(error.code, "ECONNRESET")
      assert.instanceOf(error.cause, Error)
      assert.include(error.message, "ECONNRESET")
      // The platform error (whose request holds the Authorization header) is not kept.
      for (const text of [JSON.stringify(error), String(error), inspect(error, { depth: 10 })]) {
        assert.notInclude(text, "SECRET")
      }
    }).pipe(
      Effect.provide(
        Fake.layer(() => ({ drop: true, cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) }))
      )
    ))

  it.effect("fields the API adds later are kept on batches and pages (readable with Batch.unknownFields)", () =>
    Effect.gen(function*() {
      const batch = yield* BatchApi.retrieveBatch("batch_1")
      assert.deepStrictEqual(Batch.unknownFields(batch), { priority: "high" })
      const page = yield* BatchApi.listBatches()
      assert.deepStrictEqual(Batch.unknownFields(page), { total_count: 1 })
      assert.deepStrictEqual(page.data.map(Batch.unknownFields), [{ priority: "high" }])
      // the typed fields are as before
      assert.strictEqual(batch.status, "validating")
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.url.pathname.endsWith("/batches")
        ? Fake.json(200, {
          object: "list",
          data: [{ ...Fake.batchJson(), priority: "high" }],
          has_more: false,
          total_count: 1
        })
        : Fake.json(200, { ...Fake.batchJson(), priority: "high" })
    ))))
})

describe("a create whose 2xx answer cannot be read", () => {
  const created = (request: Fake.Recorded) =>
    Fake.batchJson({
      id: "batch_made",
      created_at: 1_000_000,
      metadata: request.body === undefined ? null : Reflect.get(Object(request.body), "metadata")
    })

  it.effect("is looked up by its marker and returned; never sent twice", () =>
    Effect.gen(function*() {
      let made: ReturnType<typeof created> | undefined
      const batch = yield* BatchApi.createBatch({
        input_file_id: "file-abc123",
        endpoint: "/v1/chat/completions",
        completion_window: "24h"
      })
        .pipe(
          Effect.provide(Fake.layer((request) => {
            if (request.method === "POST") {
              made = created(request)
              return { status: 200, body: JSON.stringify(made).slice(0, 30) }
            }
            return Fake.json(200, { object: "list", data: made === undefined ? [] : [made], has_more: false })
          }))
        )
      assert.strictEqual(batch.id, "batch_made")
    }))

  it.effect("is a DecodeError (not re-sent) when the lookup finds nothing, or when there is no marker", () =>
    Effect.gen(function*() {
      for (const idempotencyMarker of [true, false]) {
        const posts = { count: 0 }
        const error = yield* Effect.flip(
          BatchApi.createBatch({ input_file_id: "f", endpoint: "/v1/embeddings", completion_window: "24h" }, {
            idempotencyMarker
          }).pipe(
            Effect.provide(Fake.layer((request) => {
              if (request.method === "POST") {
                posts.count++
                return { status: 200, body: "<html>gateway ate it</html>" }
              }
              return Fake.json(200, { object: "list", data: [], has_more: false })
            }))
          )
        )
        assert.strictEqual(error._tag, "DecodeError")
        assert.strictEqual(posts.count, 1)
      }
    }))
})

describe("layers", () => {
  it.effect("BatchApi.layer(options).retry replaces the default schedule for every call", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.either(BatchApi.retrieveBatch("batch_1"))
      assert.isTrue(Either.isLeft(exit))
      assert.strictEqual((yield* Fake.requests).length, 1)
    }).pipe(Effect.provide(Fake.layer(() => ({ status: 500 }), { retry: BatchSchedule.noRetry }))))

  it.effect("a layer built from handlers is not needed to use the accessors", () =>
    Effect.gen(function*() {
      const batch = yield* BatchApi.retrieveBatch("batch_1")
      assert.strictEqual(batch.id, "batch_abc123")
    }).pipe(Effect.provide(Layer.fresh(Fake.layer(() => Fake.json(200, Fake.batchJson()))))))
})

describe("logs", () => {
  const capture = () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => lines.push(`${logLevel.label} ${JSON.stringify(message)}`))
    return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
  }

  for (const clock of ["live clock", "TestClock"] as const) {
    const test = clock === "live clock" ? it.live : it.effect
    test(`a handled error logs no "unhandled" fiber failure at debug level (${clock})`, () =>
      Effect.gen(function*() {
        const { layer, lines } = capture()
        const handled = yield* BatchApi.retrieveBatch("batch_1").pipe(
          noRetry,
          Effect.catchTag("NotFoundError", () => Effect.succeed("handled")),
          Effect.provide(layer),
          Logger.withMinimumLogLevel(LogLevel.All)
        )
        assert.strictEqual(handled, "handled")
        assert.deepStrictEqual(lines.filter((line) => line.includes("unhandled")), [])
        // A failure the library retries is still logged at debug, once per attempt, in one line.
        yield* BatchApi.retrieveBatch("batch_1").pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 1, baseDelay: 0, jitter: false })),
          Effect.either,
          Effect.provide(layer),
          Logger.withMinimumLogLevel(LogLevel.All)
        )
        assert.deepStrictEqual(lines.filter((line) => line.includes("unhandled")), [])
        assert.strictEqual(lines.filter((line) => line.includes("attempt failed")).length, 2)
      }).pipe(Effect.provide(Fake.layer(() =>
        Fake.json(404, { error: { message: "No batch", type: "invalid_request_error", param: null, code: null } })
      ))))
  }
})
