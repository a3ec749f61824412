/**
 * The simulator's contract (the Effect 3 edition's test/testing/BatchApiSimulator.contract.test.ts, ported): the API's
 * validation, auth and 404s, the request log, and the basic faults turned into the library's typed errors.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { send, start } from "./support.js"

const params = {
  input_file_id: "file-not-uploaded",
  endpoint: "/v1/chat/completions",
  completion_window: "24h"
} as const

const run = <A, E>(
  effect: Effect.Effect<A, E, BatchApi.BatchApi | BatchApiSimulator.BatchApiSimulator>,
  options: BatchApiSimulator.BatchApiOptions = { requireInputFile: false }
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* effect
  }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi(options)))

const noRetry = BatchSchedule.withRetry(BatchSchedule.noRetry)

/**
 * Waits (without time passing) until the simulator logged `count` requests, then lets the attempt arm its timer:
 * on Effect 4 a sleep is registered with `TestClock` only once the fiber that sleeps has run.
 */
const sent = (simulator: BatchApiSimulator.Simulator, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000 && (yield* simulator.requests).length < count; i++) yield* Effect.yieldNow
    assert.isAtLeast((yield* simulator.requests).length, count)
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow
  })

describe("BatchApiSimulator contract", () => {
  it.effect("an input file that does not exist is a 400 naming input_file_id, decoded as BadRequestError", () =>
    run(
      Effect.gen(function*() {
        const error = yield* Effect.flip(BatchApi.createBatch({ ...params, input_file_id: "file-missing" }))
        assert.strictEqual(error._tag, "BadRequestError")
        if (error._tag !== "BadRequestError") return
        assert.strictEqual(error.status, 400)
        assert.strictEqual(error.param, "input_file_id")
        assert.include(error.message, "Cannot find file file-missing")
        assert.match(error.requestId ?? "", /^req_/)
      }),
      {}
    ))

  it.effect("create validation: OpenAI-style 400s naming param", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const cases: ReadonlyArray<readonly [unknown, string | null]> = [
        [{ endpoint: "/v1/embeddings", completion_window: "24h" }, "input_file_id"],
        [{ ...params, endpoint: "/v1/audio" }, "endpoint"],
        [{ ...params, completion_window: "48h" }, "completion_window"],
        [{ ...params, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
        [{ ...params, metadata: { ["k".repeat(65)]: "v" } }, "metadata"],
        [{ ...params, metadata: { note: "x".repeat(513) } }, "metadata.note"],
        [{ ...params, metadata: { n: 1 } }, "metadata.n"],
        [{ ...params, output_expires_after: { anchor: "created_at", seconds: 60 } }, "output_expires_after.seconds"],
        [{ ...params, output_expires_after: { anchor: "now", seconds: 3600 } }, "output_expires_after.anchor"],
        [{ ...params, priority: "high" }, "priority"]
      ]
      for (const [body, param] of cases) {
        const answer = yield* send(simulator, "POST", "/v1/batches", { body })
        assert.strictEqual(answer.status, 400, JSON.stringify(body).slice(0, 80))
        assert.strictEqual(answer.json.error.param, param)
        assert.strictEqual(answer.json.error.type, "invalid_request_error")
        assert.deepStrictEqual(Object.keys(answer.json.error).sort(), ["code", "message", "param", "type"])
      }
      const notJson = yield* send(simulator, "POST", "/v1/batches", { raw: new TextEncoder().encode("{nope") })
      assert.strictEqual(notJson.status, 400)
      const ok = yield* send(simulator, "POST", "/v1/batches", {
        body: { ...params, metadata: { a: "b" }, output_expires_after: { anchor: "created_at", seconds: 3600 } }
      })
      assert.strictEqual(ok.status, 200)
      assert.deepStrictEqual(ok.json.metadata, { a: "b" })
    })))

  it.effect("401 with OpenAI's envelope for a wrong or missing key; x-request-id on every response", () =>
    Effect.gen(function*() {
      const layer = BatchApi.layer.pipe(
        Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make("sk-wrong-key-123456") })),
        Layer.provideMerge(BatchApiSimulator.layer())
      )
      const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_1")).pipe(Effect.provide(layer))
      assert.strictEqual(error._tag, "AuthenticationError")
      if (error._tag === "AuthenticationError") {
        assert.strictEqual(error.code, "invalid_api_key")
        assert.isDefined(error.requestId)
        assert.notInclude(error.message, "sk-wrong-key-123456")
      }
      const simulator = yield* BatchApiSimulator.make()
      const missing = yield* simulator.handle({
        method: "GET",
        path: "/v1/batches",
        query: {},
        headers: {},
        body: new Uint8Array()
      })
      assert.isTrue(
        missing._tag === "Response" && missing.status === 401 && missing.headers["x-request-id"] !== undefined
      )
    }))

  it.effect("404 for an unknown batch id, decoded as NotFoundError; unknown routes are 404 too", () =>
    run(Effect.gen(function*() {
      const error = yield* Effect.flip(BatchApi.retrieveBatch("batch_unknown"))
      assert.strictEqual(error._tag, "NotFoundError")
      const cancel = yield* Effect.flip(BatchApi.cancelBatch("batch_unknown"))
      assert.strictEqual(cancel._tag, "NotFoundError")
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const route = yield* send(simulator, "GET", "/v1/nothing")
      assert.strictEqual(route.status, 404)
      assert.include(route.json.error.message, "Invalid URL")
    })))

  it.effect("Idempotency-Key is not honoured by default, and is with the option", () =>
    Effect.gen(function*() {
      for (const honour of [false, true]) {
        const simulator = yield* BatchApiSimulator.make({ requireInputFile: false, honourIdempotencyKey: honour })
        const headers = { "idempotency-key": "same-key" }
        const a = yield* send(simulator, "POST", "/v1/batches", { body: params, headers })
        const b = yield* send(simulator, "POST", "/v1/batches", { body: params, headers })
        assert.strictEqual(a.json.id === b.json.id, honour)
      }
    }))

  it.effect("the request log: method, path, query, headers without authorization, parsed body, fault", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.injectFault(BatchApiSimulator.serverError(503), { match: { method: "GET" } })
      const created = yield* BatchApi.createBatch({ ...params, metadata: { team: "search" } })
      yield* Effect.flip(BatchApi.listBatches({ limit: 5 }).pipe(noRetry))
      yield* BatchApi.listBatches({ limit: 5 }).pipe(noRetry)
      const log = yield* simulator.requests
      assert.deepStrictEqual(log.map((r) => `${r.method} ${r.path} ${r.status}`), [
        "POST /v1/batches 200",
        "GET /v1/batches 503",
        "GET /v1/batches 200"
      ])
      const [create, failed, list] = log
      assert.isUndefined(create!.headers["authorization"])
      assert.strictEqual(create!.headers["content-type"], "application/json")
      assert.deepStrictEqual((create!.body as { metadata: Record<string, string> }).metadata.team, "search")
      assert.strictEqual((create!.body as { input_file_id: string }).input_file_id, params.input_file_id)
      assert.strictEqual(create!.at, start)
      assert.strictEqual(failed!.fault, "ServerError")
      assert.deepStrictEqual(list!.query, { limit: "5" })
      assert.isUndefined(list!.fault)
      assert.strictEqual(created.metadata?.["team"], "search")
      yield* simulator.clearRequests
      assert.deepStrictEqual(yield* simulator.requests, [])
    })))

  describe("faults produce the library's typed errors, and retries where it retries", () => {
    it.effect("one 429 with retry-after-ms, then success after exactly that delay", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        const { id } = yield* BatchApi.createBatch(params)
        yield* simulator.injectFault(BatchApiSimulator.rateLimited({ retryAfterMs: 1500 }))
        const fiber = yield* Effect.forkChild(BatchApi.retrieveBatch(id))
        yield* TestClock.adjust("2 seconds")
        const batch = yield* Fiber.join(fiber)
        assert.strictEqual(batch.id, id)
        const gets = (yield* simulator.requests).filter((r) => r.method === "GET")
        assert.deepStrictEqual(gets.map((r) => r.status), [429, 200])
        assert.strictEqual(gets[1]!.at - gets[0]!.at, 1500)
      })))

    it.effect("429 without retry: RateLimitError with retryAfterMs from retry-after", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        yield* simulator.injectFault(BatchApiSimulator.rateLimited({ retryAfterSeconds: 7 }))
        const error = yield* Effect.flip(BatchApi.listBatches({}).pipe(noRetry))
        assert.strictEqual(error._tag, "RateLimitError")
        if (error._tag === "RateLimitError") {
          assert.strictEqual(error.retryAfterMs, 7000)
          assert.strictEqual(error.code, "rate_limit_exceeded")
        }
      })))

    it.effect("5xx on every attempt: InternalServerError after maxRetries + 1 attempts", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        yield* simulator.injectFault(BatchApiSimulator.serverError(502), { times: 5 })
        const fiber = yield* Effect.forkChild(Effect.flip(BatchApi.listBatches()))
        yield* TestClock.adjust("10 seconds")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "InternalServerError")
        if (error._tag === "InternalServerError") assert.strictEqual(error.type, "server_error")
        assert.strictEqual((yield* simulator.requests).length, 3)
      })))

    it.effect("a dropped connection is a TransportError (reason Transport), retried when allowed", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        yield* simulator.injectFault(BatchApiSimulator.dropConnection)
        const error = yield* Effect.flip(BatchApi.listBatches({}).pipe(noRetry))
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") assert.strictEqual(error.reason, "Transport")
        yield* simulator.injectFault(BatchApiSimulator.dropConnection)
        const fiber = yield* Effect.forkChild(BatchApi.listBatches())
        yield* TestClock.adjust("1 second")
        const page = yield* Fiber.join(fiber)
        assert.strictEqual(page.object, "list")
      })))

    it.effect("a timeout never answers: the library's per-request timeout fires on TestClock", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        yield* simulator.injectFault(BatchApiSimulator.timeout)
        const fiber = yield* Effect.forkChild(Effect.flip(BatchApi.listBatches({}).pipe(noRetry)))
        yield* sent(simulator, 1)
        yield* TestClock.adjust("61 seconds")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "TransportError")
        if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
      })))

    it.effect("a malformed body and a truncated body are DecodeErrors", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        const { id } = yield* BatchApi.createBatch(params)
        yield* simulator.injectFault(BatchApiSimulator.malformedBody)
        const malformed = yield* Effect.flip(BatchApi.retrieveBatch(id))
        assert.strictEqual(malformed._tag, "DecodeError")
        if (malformed._tag === "DecodeError") assert.include(malformed.bodyExcerpt, "<html>")
        yield* simulator.injectFault(BatchApiSimulator.truncatedBody, { match: { path: `/v1/batches/${id}` } })
        const truncated = yield* Effect.flip(BatchApi.retrieveBatch(id))
        assert.strictEqual(truncated._tag, "DecodeError")
        if (truncated._tag === "DecodeError") assert.include(truncated.issue, "not JSON")
      })))

    it.effect("commit then drop: the create stored its batch; the library finds it instead of creating a second", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        yield* simulator.injectFault(BatchApiSimulator.commitThenDrop, {
          match: { method: "POST", path: "/v1/batches" }
        })
        const fiber = yield* Effect.forkChild(BatchApi.createBatch(params))
        yield* TestClock.adjust("2 seconds")
        const batch = yield* Fiber.join(fiber)
        const page = yield* BatchApi.listBatches()
        assert.deepStrictEqual(page.data.map((b) => b.id), [batch.id])
        const log = yield* simulator.requests
        assert.deepStrictEqual(log.map((r) => `${r.method} ${r.path}`).slice(0, 2), [
          "POST /v1/batches",
          "GET /v1/batches"
        ])
        assert.strictEqual(log[0]!.fault, "CommitThenDrop")
      })))
  })

  it.effect("the HttpClient layer works for any HttpClient user", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("https://api.openai.com/v1/batches", {
        headers: { authorization: `Bearer ${BatchApiSimulator.testApiKey}` }
      })
      assert.strictEqual(response.status, 200)
      assert.match(response.headers["x-request-id"] ?? "", /^req_sim_/)
    }).pipe(Effect.provide(BatchApiSimulator.layer())))
})

describe("the per-attempt timeout under TestClock", () => {
  // The Effect 3 edition also checks that the answered attempts left no sleep in TestClock's queue; Effect 4's
  // TestClock does not show its sleeps.
  it.effect("after attempts the simulator answers at once, one that never answers still times out", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const [id] = yield* simulator.seed({ count: 1 })
      for (let i = 0; i < 5; i++) yield* BatchApi.retrieveBatch(id ?? "")
      yield* simulator.injectFault(BatchApiSimulator.timeout, { match: { method: "GET" } })
      const fiber = yield* Effect.forkChild(
        Effect.flip(BatchApi.retrieveBatch(id ?? "").pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
      )
      yield* sent(simulator, 6)
      yield* TestClock.adjust("60 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "TransportError")
      if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi())))
})
