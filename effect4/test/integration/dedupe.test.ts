/**
 * A retried create never makes a second batch, over real HTTP: the server commits the create and then the response
 * is lost (dropped connection, a 5xx, a timeout). The library must find the batch it made, by the idempotency marker
 * in its metadata, among the newest batches, instead of sending the create again. The root's
 * test/integration/dedupe.test.ts, every case, on the edition's `UndiciTransport` (the root's runs on
 * `NodeHttpClient.layerUndici`, its default client); test/BatchApi.http.test.ts has the dropped create on every
 * transport of this edition.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Layer, Redacted, type Result } from "effect"
import type * as Batch from "../../src/Batch.js"
import * as BatchApi from "../../src/BatchApi.js"
import type * as BatchError from "../../src/BatchError.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import { type BatchServerOptions, type Request, startBatchServer } from "./support/batchServer.js"

const marker = BatchApi.idempotencyMetadataKey

// Real retries, kept fast: the default policy (2 retries) with 10 ms, 20 ms backoff.
const retry = BatchSchedule.retry({ jitter: false, baseDelay: "10 millis" })

const params: Batch.CreateBatchParams = {
  input_file_id: "file-nightly",
  endpoint: "/v1/chat/completions",
  completion_window: "24h",
  metadata: { customer_id: "user_123456789" }
}

/** `BatchApi` as users run it: on the config, the retry policy, a per-attempt timeout when given, and undici. */
const library = (baseUrl: string, timeout: Duration.Input | undefined) =>
  BatchApi.layer.pipe(
    Layer.provideMerge(BatchSchedule.layerRetry(retry)),
    Layer.provideMerge(timeout === undefined ? Layer.empty : BatchSchedule.layerTimeout(timeout)),
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make("sk-dedupe-test"), baseUrl })),
    Layer.provide(UndiciTransport.layer),
    // The config is built from literals that are valid: a ConfigError here is a bug in the test.
    Layer.orDie
  )

/** Starts the server, runs `createBatch` through the real library over undici, and returns both. */
const scenario = (
  serverOptions: BatchServerOptions,
  createOptions: BatchApi.CreateOptions = {},
  timeout?: Duration.Input,
  createParams: Batch.CreateBatchParams = params
) =>
  Effect.gen(function*() {
    const server = yield* startBatchServer(serverOptions)
    const result = yield* Effect.result(Effect.provide(
      BatchApi.createBatch(createParams, createOptions),
      library(`${server.origin}/v1`, timeout)
    ))
    const requests = server.requests()
    return {
      result,
      server,
      requests,
      lines: requests.map((r) => `${r.method} ${r.path}${r.query["after"] === undefined ? "" : ` after`}`)
    }
  })

const succeeded = (result: Result.Result<Batch.Batch, BatchError.CreateError>): Batch.Batch => {
  if (result._tag === "Failure") {
    return assert.fail(`createBatch failed: ${result.failure._tag}: ${result.failure.message}`)
  }
  return result.success
}

const header = (request: Request | undefined, name: string): string | undefined => request?.headers[name]

const metadataOf = (body: unknown): unknown =>
  typeof body === "object" && body !== null ? Reflect.get(body, "metadata") : undefined

describe("duplicate-free create over real HTTP", () => {
  it.live("the first create is committed, then its connection dropped: the lookup returns that batch", () =>
    Effect.gen(function*() {
      const { lines, requests, result, server } = yield* scenario({})
      const batch = succeeded(result)
      const stored = server.store.batches()
      // Exactly one batch on the server, and it is the one returned.
      assert.strictEqual(stored.length, 1)
      assert.strictEqual(batch.id, stored[0]?.id)
      // POST, then the lookup, and no second POST.
      assert.deepStrictEqual(lines, ["POST /v1/batches", "GET /v1/batches"])
      assert.deepStrictEqual(requests[1]?.query, { limit: "100" })
      // The Idempotency-Key header was sent, and the marker in the metadata carries the same value.
      const key = header(requests[0], "idempotency-key")
      assert.match(key ?? "", /^eob-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      assert.deepStrictEqual(metadataOf(requests[0]?.body), { customer_id: "user_123456789", [marker]: key })
      assert.strictEqual(stored[0]?.metadata?.[marker], key)
      assert.strictEqual(batch.metadata?.[marker], key)
      assert.strictEqual(batch.metadata?.["customer_id"], "user_123456789")
    }))

  it.live("a caller-supplied idempotencyKey is looked up first, then sent and stored as is", () =>
    Effect.gen(function*() {
      const key = "nightly-eval-2026-11-28"
      const { lines, requests, result, server } = yield* scenario({}, { idempotencyKey: key })
      const batch = succeeded(result)
      // lookup (nothing yet), the dropped POST, lookup again (finds it)
      assert.deepStrictEqual(lines, ["GET /v1/batches", "POST /v1/batches", "GET /v1/batches"])
      assert.strictEqual(header(requests[1], "idempotency-key"), key)
      assert.strictEqual(server.store.batches().length, 1)
      assert.strictEqual(batch.metadata?.[marker], key)
      assert.strictEqual(batch.id, server.store.batches()[0]?.id)
    }))

  it.live("a caller's key makes a re-run after a crash return the batch made before it, without a POST", () =>
    Effect.gen(function*() {
      const key = "nightly-eval-2026-11-27"
      const twoHoursAgo = Math.floor(Date.now() / 1000) - 7200
      const { lines, result, server } = yield* scenario({
        seed: (store) =>
          void store.add({ createdAt: twoHoursAgo, input_file_id: params.input_file_id, metadata: { [marker]: key } })
      }, { idempotencyKey: key })
      const batch = succeeded(result)
      assert.deepStrictEqual(lines, ["GET /v1/batches"])
      assert.strictEqual(server.store.batches().length, 1)
      assert.strictEqual(batch.id, server.store.batches()[0]?.id)
    }))

  it.live("a stale marker copied into the caller's metadata is replaced, and never matches an older batch", () =>
    Effect.gen(function*() {
      const twoHoursAgo = Math.floor(Date.now() / 1000) - 7200
      const { lines, requests, result, server } = yield* scenario(
        {
          seed: (store) =>
            void store.add({ createdAt: twoHoursAgo, metadata: { [marker]: "eob-old-key", customer_id: "c1" } }),
          onCreate: (index) => (index === 0 ? "drop" : "answer")
        },
        {},
        undefined,
        { ...params, input_file_id: "file-rerun", metadata: { customer_id: "c1", [marker]: "eob-old-key" } }
      )
      const batch = succeeded(result)
      const sentKey = header(requests[0], "idempotency-key")
      assert.notStrictEqual(sentKey, "eob-old-key")
      assert.strictEqual(Reflect.get(Object(metadataOf(requests[0]?.body)), marker), sentKey)
      // the old batch was not returned: the create was sent again and a new batch made
      assert.deepStrictEqual(lines, ["POST /v1/batches", "GET /v1/batches", "POST /v1/batches"])
      assert.strictEqual(batch.input_file_id, "file-rerun")
      assert.strictEqual(server.store.batches().length, 2)
    }))

  it.live("idempotencyMarker: false: an ambiguous failure is not retried (one POST, a TransportError)", () =>
    Effect.gen(function*() {
      const { lines, requests, result, server } = yield* scenario({}, { idempotencyMarker: false })
      assert.strictEqual(result._tag, "Failure")
      if (result._tag === "Failure") {
        assert.strictEqual(result.failure._tag, "TransportError")
        if (result.failure._tag === "TransportError") assert.strictEqual(result.failure.reason, "Transport")
      }
      assert.deepStrictEqual(lines, ["POST /v1/batches"])
      // No marker in the metadata; the header is still sent.
      assert.deepStrictEqual(metadataOf(requests[0]?.body), { customer_id: "user_123456789" })
      assert.isString(header(requests[0], "idempotency-key"))
      // The server did create it: the caller learns the outcome is unknown, rather than getting a duplicate.
      assert.strictEqual(server.store.batches().length, 1)
    }))

  it.live("metadata already full (16 pairs): no slot for the marker, so an ambiguous failure is not retried", () =>
    Effect.gen(function*() {
      const full = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, `v${i}`]))
      const { lines, requests, result } = yield* scenario({}, {}, undefined, { ...params, metadata: full })
      assert.strictEqual(result._tag === "Failure" ? result.failure._tag : "Success", "TransportError")
      assert.deepStrictEqual(lines, ["POST /v1/batches"])
      assert.deepStrictEqual(metadataOf(requests[0]?.body), full)
    }))

  it.live("a create dropped before the server committed it is sent again, with the same key, after the lookup", () =>
    Effect.gen(function*() {
      const { lines, requests, result, server } = yield* scenario({
        onCreate: (index) => (index === 0 ? "drop" : "answer")
      })
      const batch = succeeded(result)
      assert.deepStrictEqual(lines, ["POST /v1/batches", "GET /v1/batches", "POST /v1/batches"])
      const [first, , second] = requests
      assert.strictEqual(header(second, "idempotency-key"), header(first, "idempotency-key"))
      assert.deepStrictEqual(second?.body, first?.body)
      assert.strictEqual(server.store.batches().length, 1)
      assert.strictEqual(batch.id, server.store.batches()[0]?.id)
    }))

  it.live("a create committed and answered with a 500: the lookup returns the batch", () =>
    Effect.gen(function*() {
      const { lines, result, server } = yield* scenario({ onCreate: () => "commit-then-500" })
      const batch = succeeded(result)
      assert.deepStrictEqual(lines, ["POST /v1/batches", "GET /v1/batches"])
      assert.strictEqual(server.store.batches().length, 1)
      assert.strictEqual(batch.id, server.store.batches()[0]?.id)
    }))

  it.live("a create committed and never answered (the per-request timeout fires): the lookup returns it", () =>
    Effect.gen(function*() {
      const { lines, result, server } = yield* scenario(
        { onCreate: (index) => (index === 0 ? "commit-then-hang" : "answer") },
        {},
        "300 millis"
      )
      const batch = succeeded(result)
      assert.deepStrictEqual(lines, ["POST /v1/batches", "GET /v1/batches"])
      assert.strictEqual(server.store.batches().length, 1)
      assert.strictEqual(batch.id, server.store.batches()[0]?.id)
    }))

  it.live("the lookup pages past 150 newer batches of other clients to find its own", () =>
    Effect.gen(function*() {
      let landed = false
      const { lines, requests, result, server } = yield* scenario({
        afterCommit: (store) => {
          // Right after our create: 150 batches of other clients land before our lookup.
          if (landed) return
          landed = true
          for (let i = 1; i <= 150; i++) store.add({ metadata: { [marker]: `eob-someone-else-${i}` } })
        }
      })
      const batch = succeeded(result)
      assert.deepStrictEqual(lines, ["POST /v1/batches", "GET /v1/batches", "GET /v1/batches after"])
      const newestFirst = [...server.store.batches()].reverse()
      assert.deepStrictEqual(requests[2]?.query, { limit: "100", after: newestFirst[99]?.id ?? "(no 100th batch)" })
      assert.strictEqual(newestFirst.length, 151)
      const ours = newestFirst.filter((b) => b.metadata?.[marker] === header(requests[0], "idempotency-key"))
      assert.strictEqual(ours.length, 1)
      assert.strictEqual(batch.id, ours[0]?.id)
    }))

  it.live("the lookup stops at batches older than the create (minus skew) instead of paging through them", () =>
    Effect.gen(function*() {
      const twoHoursAgo = Math.floor(Date.now() / 1000) - 7200
      const { lines, result, server } = yield* scenario({
        seed: (store) => {
          for (let i = 0; i < 250; i++) store.add({ createdAt: twoHoursAgo + i, metadata: { n: `${i}` } })
        },
        onCreate: (index) => (index === 0 ? "drop" : "answer")
      })
      const batch = succeeded(result)
      // One page of old batches is enough to know ours is not there; then the create is sent again.
      assert.deepStrictEqual(lines, ["POST /v1/batches", "GET /v1/batches", "POST /v1/batches"])
      assert.strictEqual(server.store.batches().length, 251)
      assert.strictEqual(batch.id, server.store.batches()[250]?.id)
    }))
})
