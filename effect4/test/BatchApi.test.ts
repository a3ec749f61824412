/**
 * BatchApi on an in-memory `HttpClient` and `TestClock`: every request reads the region's retry policy and timeout
 * (`BatchSchedule`), the server's retry hints, the duplicate-free create's decisions, and `streamBatches`' paging.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Exit, Fiber, Layer, Redacted, Ref, Stream } from "effect"
import { HttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { inspect } from "node:util"
import * as Batch from "../src/Batch.js"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as Fake from "./support/FakeHttp.js"
import { batchJson, envelope } from "./support/loopback.js"

const exact = BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false }))
const ok = Fake.json(200, batchJson())
const page = (ids: ReadonlyArray<string>, hasMore: boolean) =>
  Fake.json(200, { object: "list", data: ids.map((id) => batchJson({ id })), has_more: hasMore })

/**
 * Waits (without time passing) until `requests` holds `count` requests, then lets the attempt arm its timer: a
 * sleep is registered with `TestClock` only once the fiber that sleeps has run, and `TestClock.adjust` lets pending
 * fibers run one round only.
 */
const sent = (count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000 && (yield* Fake.requests).length < count; i++) yield* Effect.yieldNow
    assert.isAtLeast((yield* Fake.requests).length, count)
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow
  })

const metadataOf = (body: unknown): unknown =>
  typeof body === "object" && body !== null && "metadata" in body ? body.metadata : undefined

/** Runs `effect` in a fiber while `virtual` time passes; its exit. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>, virtual: Duration.Input = "1 hour") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.exit(effect))
    yield* TestClock.adjust(virtual)
    return yield* Fiber.join(fiber)
  })

describe("BatchApi: the region's policy, on every request", () => {
  it.effect("retries on the region's policy: 0.5 s, then 1 s, then the batch", () => {
    const fake = Fake.layer((_, index) => index < 2 ? Fake.json(503, envelope("busy")) : ok)
    return Effect.gen(function*() {
      const exit = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(exact))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual((yield* Fake.requests).map((request) => request.at), [0, 500, 1500])
    }).pipe(Effect.provide(fake))
  })

  it.effect("the default policy without any region: 2 retries; a layer's policy for everything under it", () => {
    const fake = Fake.layer(() => Fake.json(500, envelope("boom")))
    return Effect.gen(function*() {
      yield* timed(BatchApi.retrieveBatch("batch_1"))
      assert.strictEqual((yield* Fake.requests).length, 3)
      yield* timed(
        BatchApi.retrieveBatch("batch_1").pipe(Effect.provide(BatchSchedule.layerRetry(BatchSchedule.noRetry)))
      )
      assert.strictEqual((yield* Fake.requests).length, 4)
    }).pipe(Effect.provide(fake))
  })

  it.effect("Retry-After as an HTTP date, against the Clock; as seconds", () => {
    const start = Date.parse("2026-11-28T10:00:00Z")
    const fake = Fake.layer((_, index) =>
      index === 0
        ? Fake.json(503, envelope("maintenance"), { "retry-after": "Sat, 28 Nov 2026 10:00:12 GMT" })
        : index === 1
        ? Fake.json(429, envelope("slow"), { "retry-after": "7" })
        : ok
    )
    return Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const exit = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(exact))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual((yield* Fake.requests).map((request) => request.at - start), [0, 12_000, 19_000])
    }).pipe(Effect.provide(fake))
  })

  it.effect("retry-after-ms takes precedence over retry-after; a Retry-After that is neither digits nor a date is no hint", () =>
    Effect.gen(function*() {
      const gapAfter = (headers: Record<string, string>) =>
        Effect.gen(function*() {
          const before = (yield* Fake.requests).length
          const fiber = yield* Effect.forkChild(Effect.exit(BatchApi.retrieveBatch(`batch_${before}`).pipe(exact)))
          yield* sent(before + 1)
          yield* TestClock.adjust("1 minute")
          yield* Fiber.join(fiber)
          const all = yield* Fake.requests
          return (all[before + 1]?.at ?? 0) - (all[before]?.at ?? 0)
        }).pipe(Effect.provide(Fake.layer((_, index) => index === 0 ? Fake.json(429, envelope("slow"), headers) : ok)))
      assert.strictEqual(yield* gapAfter({ "retry-after-ms": "300", "retry-after": "30" }), 300)
      // "12" is 12 seconds (digits); every other form is no hint: the backoff's 0.5 s. (The Effect 3 edition's table
      // also has " 16": a web Response trims a header value's surrounding whitespace, as HTTP parsers drop it, so
      // through this fake it arrives as "16".)
      for (const hint of ["0x10", "1e1", "+16", "16s", "12"]) {
        assert.strictEqual(yield* gapAfter({ "retry-after": hint }), hint === "12" ? 12_000 : 500, hint)
      }
      // a hint of zero is no hint either: the policy backs off instead of re-sending at once
      assert.strictEqual(yield* gapAfter({ "retry-after-ms": "0" }), 500)
    }))

  it.effect("the per-attempt timeout: 60 s by default, the region's when set, retried as a TransportError", () => {
    const fake = Fake.layer((_, index) => index === 0 || index === 1 ? { hang: true } : ok)
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(
        Effect.exit(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
      )
      yield* sent(1)
      yield* TestClock.adjust("59 seconds")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(fiber)
      const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      if (reason?._tag !== "Fail" || reason.error._tag !== "TransportError") return assert.fail("not a TransportError")
      assert.strictEqual(reason.error.reason, "Timeout")
      assert.match(
        reason.error.message,
        /^retrieveBatch: GET https:\/\/api\.test\/v1\/batches\/batch_1 timed out after 1m$/
      )
      // a region's 5 s timeout, retried after 0.5 s: the next attempt answers
      const retried = yield* Effect.forkChild(
        Effect.exit(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withTimeout("5 seconds"), exact))
      )
      yield* sent(2)
      yield* TestClock.adjust("5 seconds")
      yield* sent(2) // the retry's delay is armed
      yield* TestClock.adjust("500 millis")
      assert.isTrue(Exit.isSuccess(yield* Fiber.join(retried)))
      const all = yield* Fake.requests
      assert.deepStrictEqual(all.map((request) => request.at - (all[1]?.at ?? 0)).slice(1), [0, 5_500])
    }).pipe(Effect.provide(fake))
  })

  it.effect("the timeout fires even in an uninterruptible region (a cancel in a finalizer, say)", () => {
    const fake = Fake.layer(() => ({ hang: true }))
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.exit(
        Effect.uninterruptible(
          BatchApi.cancelBatch("batch_1").pipe(
            BatchSchedule.withTimeout("3 seconds"),
            BatchSchedule.withRetry(BatchSchedule.noRetry)
          )
        )
      ))
      yield* sent(1)
      yield* TestClock.adjust("3 seconds")
      const exit = yield* Fiber.join(fiber)
      const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.isTrue(reason?._tag === "Fail" && reason.error._tag === "TransportError")
    }).pipe(Effect.provide(fake))
  })
})

describe("BatchApi.createBatch: never a second batch", () => {
  const params = { input_file_id: "file-abc123", endpoint: "/v1/chat/completions", completion_window: "24h" } as const

  it.effect("a 429 is re-sent without a lookup (it certainly created nothing), with the same key", () => {
    const fake = Fake.layer((request, index) =>
      index === 0
        ? Fake.json(429, envelope("slow"))
        : Fake.json(200, batchJson({ metadata: metadataOf(request.body) }))
    )
    return Effect.gen(function*() {
      const exit = yield* timed(BatchApi.createBatch(params).pipe(exact))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual((yield* Fake.requests).map((request) => request.method), ["POST", "POST"])
      assert.strictEqual(
        (yield* Fake.requests)[0]?.headers["idempotency-key"],
        (yield* Fake.requests)[1]?.headers["idempotency-key"]
      )
    }).pipe(Effect.provide(fake))
  })

  it.effect("a dropped create that reached nobody (the lookup finds nothing) is re-sent with the same key", () => {
    const fake = Fake.layer((request, index) =>
      request.method === "GET"
        ? page([], false)
        : index === 0
        ? { drop: true }
        : Fake.json(200, batchJson({ id: "batch_new" }))
    )
    return Effect.gen(function*() {
      const exit = yield* timed(BatchApi.createBatch(params).pipe(exact))
      assert.isTrue(Exit.isSuccess(exit) && exit.value.id === "batch_new")
      assert.deepStrictEqual((yield* Fake.requests).map((request) => request.method), ["POST", "GET", "POST"])
    }).pipe(Effect.provide(fake))
  })

  it.effect("without a marker, an ambiguous failure is not retried", () => {
    const fake = Fake.layer(() => Fake.json(502, envelope("bad gateway")))
    return Effect.gen(function*() {
      const exit = yield* timed(BatchApi.createBatch(params, { idempotencyMarker: false }).pipe(exact))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual((yield* Fake.requests).length, 1)
      assert.isUndefined(metadataOf((yield* Fake.requests)[0]?.body))
    }).pipe(Effect.provide(fake))
  })

  it.effect("a caller's key that already names a batch made from other parameters is an IdempotencyConflictError", () => {
    const fake = Fake.layer(() =>
      Fake.json(200, {
        object: "list",
        data: [batchJson({
          id: "batch_old",
          input_file_id: "file-other",
          created_at: 1_800_000_000,
          metadata: { [BatchApi.idempotencyMetadataKey]: "nightly" }
        })],
        has_more: false
      })
    )
    return Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_100_000)
      const error = yield* Effect.flip(BatchApi.createBatch(params, { idempotencyKey: "nightly" }))
      assert.strictEqual(error._tag, "IdempotencyConflictError")
      if (error._tag === "IdempotencyConflictError") {
        assert.strictEqual(error.batchId, "batch_old")
        assert.deepStrictEqual(error.existing, { input_file_id: "file-other", endpoint: "/v1/chat/completions" })
      }
      assert.deepStrictEqual((yield* Fake.requests).map((request) => request.method), ["GET"])
    }).pipe(Effect.provide(fake))
  })

  it.effect("an invalid key or parameters send nothing", () => {
    const fake = Fake.layer(() => ok)
    return Effect.gen(function*() {
      const key = yield* Effect.flip(BatchApi.createBatch(params, { idempotencyKey: "has space" }))
      assert.strictEqual(key._tag, "InvalidParamsError")
      const window = yield* Effect.flip(BatchApi.createBatch({ ...params, completion_window: "1h" as "24h" }))
      assert.strictEqual(window._tag, "InvalidParamsError")
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(fake))
  })
})

describe("BatchApi.streamBatches", () => {
  it.effect("pages as the consumer pulls: take(3) fetches one page; all of them, in order", () => {
    const fake = Fake.layer((request) => {
      const after = request.url.searchParams.get("after")
      return after === null
        ? page(["b1", "b2", "b3"], true)
        : after === "b3"
        ? page(["b4", "b5"], true)
        : page(["b6"], false)
    })
    return Effect.gen(function*() {
      const first = yield* BatchApi.streamBatches({ pageSize: 3 }).pipe(Stream.take(3), Stream.runCollect)
      assert.deepStrictEqual(first.map((batch) => batch.id), ["b1", "b2", "b3"])
      assert.strictEqual((yield* Fake.requests).length, 1)
      const all = yield* BatchApi.streamBatches({ pageSize: 3 }).pipe(Stream.runCollect)
      assert.deepStrictEqual(all.map((batch) => batch.id), ["b1", "b2", "b3", "b4", "b5", "b6"])
      assert.strictEqual((yield* Fake.requests)[1]?.url.searchParams.get("limit"), "3")
    }).pipe(Effect.provide(fake))
  })

  it.effect("a batch two pages both return (the list moved) is passed once", () =>
    Effect.gen(function*() {
      const all = yield* BatchApi.streamBatches().pipe(Stream.runCollect)
      assert.deepStrictEqual(all.map((batch) => batch.id), ["b1", "b2", "b3"])
    }).pipe(Effect.provide(
      Fake.layer((_, index) => index === 0 ? page(["b1", "b2"], true) : page(["b2", "b3"], false))
    )))

  it.effect("an empty page that says has_more, or a repeated cursor, is a PaginationError, not a silent end or a loop", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(
        BatchApi.streamBatches().pipe(Stream.runCollect, Effect.provide(Fake.layer(() => page([], true))))
      )
      assert.strictEqual(empty._tag, "PaginationError")
      if (empty._tag === "PaginationError") {
        assert.strictEqual(empty.reason, "EmptyPageWithMore")
        assert.strictEqual(empty.operation, "streamBatches")
        assert.strictEqual(
          empty.message,
          "streamBatches: page 1 is empty but says has_more: true; stopping rather than truncating the list"
        )
      }
      const looping = yield* Effect.flip(
        BatchApi.streamBatches().pipe(Stream.runCollect, Effect.provide(Fake.layer(() => page(["b1"], true))))
      )
      assert.strictEqual(looping._tag, "PaginationError")
      if (looping._tag === "PaginationError") {
        assert.strictEqual(looping.reason, "RepeatedCursor")
        assert.strictEqual(looping.message, "streamBatches: page 2 ends at b1 again; stopping rather than looping")
      }
    }))

  it.effect("a request error names streamBatches, the operation the user called", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        BatchApi.streamBatches().pipe(Stream.runCollect, BatchSchedule.withRetry(BatchSchedule.noRetry))
      )
      assert.strictEqual(error._tag, "PermissionDeniedError")
      if (error._tag === "PermissionDeniedError") {
        assert.strictEqual(error.operation, "streamBatches")
        assert.match(error.message, /^streamBatches: 403 /)
      }
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(403, envelope("no"))))))
})

describe("BatchApi: answers, mapped", () => {
  const noRetry = BatchSchedule.withRetry(BatchSchedule.noRetry)
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
        if (!BatchError.isStatusError(error)) return assert.fail("expected a status error")
        assert.strictEqual(error.status, status)
        assert.strictEqual(error.type, "invalid_request_error")
        assert.strictEqual(error.code, "some_code")
        assert.strictEqual(error.param, "batch_id")
        assert.strictEqual(error.requestId, "req_123")
        assert.strictEqual(error.apiMessage, "Something went wrong")
        assert.strictEqual(error.operation, "retrieveBatch")
        assert.strictEqual(error.message, `retrieveBatch: ${status} Something went wrong (request id req_123)`)
        assert.isUndefined(error.bodyExcerpt)
      }).pipe(Effect.provide(Fake.layer(() =>
        Fake.json(status, envelope("Something went wrong", { code: "some_code", param: "batch_id" }), {
          "x-request-id": "req_123"
        })
      ))))
  }

  it.effect("an HTML page from a proxy keeps the status and an excerpt; an empty body says so", () =>
    Effect.gen(function*() {
      const html = yield* Effect.flip(BatchApi.retrieveBatch("batch_html").pipe(noRetry))
      assert.strictEqual(html._tag, "InternalServerError")
      if (html._tag === "InternalServerError") {
        assert.strictEqual(html.status, 502)
        // whitespace flattened to single spaces
        assert.strictEqual(html.bodyExcerpt, "<html> <body>Bad gateway</body> </html>")
      }
      const empty = yield* Effect.flip(BatchApi.retrieveBatch("batch_empty").pipe(noRetry))
      assert.strictEqual(empty.message, "retrieveBatch: 503 status code (no body)")
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.url.pathname.endsWith("batch_html")
        ? { status: 502, body: "<html>\n<body>Bad gateway</body>\n</html>" }
        : { status: 503, body: "" }
    ))))

  it.effect("a dropped connection is a TransportError that keeps the transport's cause and code, not the request", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_1").pipe(noRetry))
      if (error._tag !== "TransportError") return assert.fail(error._tag)
      assert.strictEqual(error.reason, "Transport")
      assert.strictEqual(error.code, "ECONNRESET")
      assert.instanceOf(error.cause, Error)
      assert.strictEqual(
        error.message,
        "retrieveBatch: GET https://api.test/v1/batches/batch_1 failed: no response (socket hang up) [ECONNRESET]"
      )
      for (const text of [JSON.stringify(error), String(error), inspect(error, { depth: 10 })]) {
        assert.notInclude(text, "SECRET")
      }
    }).pipe(Effect.provide(
      Fake.layer(() => ({ drop: true, cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) }))
    )))

  it.effect("fields the API adds later are kept on batches and pages (readable with Batch.unknownFields)", () =>
    Effect.gen(function*() {
      const batch = yield* BatchApi.retrieveBatch("batch_1")
      assert.deepStrictEqual(Batch.unknownFields(batch), { priority: "high" })
      const list = yield* BatchApi.listBatches()
      assert.deepStrictEqual(Batch.unknownFields(list), { total_count: 1 })
      assert.deepStrictEqual(list.data.map(Batch.unknownFields), [{ priority: "high" }])
    }).pipe(Effect.provide(Fake.layer((request) =>
      request.url.pathname.endsWith("/batches")
        ? Fake.json(200, {
          object: "list",
          data: [{ ...batchJson(), priority: "high" }],
          has_more: false,
          total_count: 1
        })
        : Fake.json(200, { ...batchJson(), priority: "high" })
    ))))
})

describe("a create whose 2xx answer cannot be read", () => {
  const params = { input_file_id: "file-abc123", endpoint: "/v1/chat/completions", completion_window: "24h" } as const

  it.effect("is looked up by its marker and returned; never sent twice", () => {
    let made: Record<string, unknown> | undefined
    return Effect.gen(function*() {
      const batch = yield* BatchApi.createBatch(params)
      assert.strictEqual(batch.id, "batch_made")
      assert.deepStrictEqual((yield* Fake.requests).map((request) => request.method), ["POST", "GET"])
    }).pipe(Effect.provide(Fake.layer((request) => {
      if (request.method === "POST") {
        made = batchJson({ id: "batch_made", created_at: 0, metadata: metadataOf(request.body) })
        return { status: 200, body: JSON.stringify(made).slice(0, 30) }
      }
      return Fake.json(200, { object: "list", data: made === undefined ? [] : [made], has_more: false })
    })))
  })

  it.effect("is a DecodeError (not re-sent) when the lookup finds nothing, or when there is no marker", () =>
    Effect.gen(function*() {
      for (const idempotencyMarker of [true, false]) {
        const posts = { count: 0 }
        const error = yield* Effect.flip(
          BatchApi.createBatch(params, { idempotencyMarker }).pipe(Effect.provide(Fake.layer((request) => {
            if (request.method === "POST") {
              posts.count++
              return { status: 200, body: "<html>gateway ate it</html>" }
            }
            return Fake.json(200, { object: "list", data: [], has_more: false })
          })))
        )
        assert.strictEqual(error._tag, "DecodeError")
        assert.strictEqual(posts.count, 1)
      }
    }))
})

describe("Azure OpenAI", () => {
  it.effect("the key as api-key, api-version on every request, a create routed to its deployment", () =>
    Effect.gen(function*() {
      const { client, log } = yield* Fake.fakeClient((request) =>
        request.method === "POST"
          ? Fake.json(200, batchJson({ metadata: metadataOf(request.body) }))
          : request.url.pathname.endsWith("/batches")
          ? Fake.json(200, { object: "list", data: [], has_more: false })
          : Fake.json(200, batchJson())
      )
      const api = BatchApi.layer.pipe(
        Layer.provide(OpenAiConfig.layerAzure({
          endpoint: "https://example-resource.openai.azure.com",
          apiVersion: "2024-10-21",
          apiKey: Redacted.make(Fake.testKey),
          deployment: "gpt-4o-batch"
        })),
        Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
      )
      yield* BatchApi.retrieveBatch("batch_1").pipe(Effect.provide(api))
      yield* BatchApi.createBatch(
        { input_file_id: "file-1", endpoint: "/v1/chat/completions", completion_window: "24h" },
        { idempotencyKey: "azure-1" }
      ).pipe(Effect.provide(api))
      const sent = yield* Ref.get(log)
      const urls = sent.map((request) => `${request.method} ${request.url.pathname}${request.url.search}`)
      assert.deepStrictEqual(urls, [
        "GET /openai/batches/batch_1?api-version=2024-10-21",
        "GET /openai/batches?api-version=2024-10-21&limit=100",
        "POST /openai/deployments/gpt-4o-batch/batches?api-version=2024-10-21"
      ])
      for (const request of sent) {
        assert.strictEqual(request.headers["api-key"], Fake.testKey)
        assert.isUndefined(request.headers["authorization"])
      }
    }))
})
