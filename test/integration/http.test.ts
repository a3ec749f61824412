/**
 * The four operations over real loopback HTTP, through each transport users pick (undici, node:http, fetch): a
 * `node:http` server answers with the official example bodies and records what arrived. Then every kind of failure
 * a real network produces — a proxy's HTML page, an empty 500, OpenAI's 404 envelope, a refused connection, a reset,
 * a server that never answers — must come out as the library's typed error, without the API key in it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { readFileSync } from "node:fs"
import type * as Http from "node:http"
import type * as Batch from "../../src/Batch.js"
import * as BatchApi from "../../src/BatchApi.js"
import type * as BatchError from "../../src/BatchError.js"
import { apiKey, library, type LibraryOptions, packageVersion, renderings, transports } from "./support/client.js"
import { dropConnection, freePort, type Recorded, sendJson, sendText, startServer } from "./support/server.js"

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), "utf8"))

const created = fixture("createBatch.response.json")
const listed = fixture("listBatches.response.json")
const retrieved = fixture("retrieveBatch.response.json")
const cancelling = fixture("cancelBatch.response.json")

/** Answers the four operations like the API, with the official examples. */
const api = (request: Recorded, response: Http.ServerResponse) => {
  const headers = { "x-request-id": `req_${request.method}_${request.path.replaceAll("/", "_")}` }
  if (request.method === "POST" && request.path === "/v1/batches") return sendJson(response, 200, created, headers)
  if (request.method === "GET" && request.path === "/v1/batches") return sendJson(response, 200, listed, headers)
  if (request.method === "GET" && request.path === "/v1/batches/batch_abc123") {
    return sendJson(response, 200, retrieved, headers)
  }
  if (request.method === "POST" && request.path === "/v1/batches/batch_abc123/cancel") {
    return sendJson(response, 200, cancelling, headers)
  }
  return sendJson(response, 404, { error: { message: "not routed", type: "invalid_request_error" } })
}

type Tag = BatchError.CreateError["_tag"]
type ErrorOf<T extends Tag> = Extract<BatchError.CreateError, { readonly _tag: T }>

/** Runs the call, expects it to fail with the given tag, and returns that error. */
const failsWith =
  <T extends Tag>(tag: T) => <A>(call: Effect.Effect<A, BatchError.CreateError>): Effect.Effect<ErrorOf<T>> =>
    Effect.flatMap(
      Effect.either(call),
      (result) => {
        if (result._tag === "Right") return Effect.dieMessage(`expected ${tag}, but the call succeeded`)
        const error = result.left
        const matches = (e: BatchError.CreateError): e is ErrorOf<T> => e._tag === tag
        return matches(error)
          ? Effect.succeed(error)
          : Effect.dieMessage(`expected ${tag}, got ${error._tag}: ${error.message}`)
      }
    )

const assertNoKey = (error: unknown) => {
  for (const text of renderings(error)) assert.notInclude(text, apiKey)
  // Not even the start of it.
  for (const text of renderings(error)) assert.notInclude(text, apiKey.slice(0, 16))
}

const createParams: Batch.CreateBatchParams = {
  input_file_id: "file-abc123",
  endpoint: "/v1/chat/completions",
  completion_window: "24h",
  metadata: { customer_id: "user_123456789" },
  output_expires_after: { anchor: "created_at", seconds: 86_400 }
}

for (const transport of transports) {
  describe(`over real HTTP with ${transport.name}`, () => {
    const run = <A>(
      call: Effect.Effect<A, BatchError.CreateError, BatchApi.BatchApi>,
      options: Omit<LibraryOptions, "transport">
    ) => Effect.provide(call, library({ ...options, transport: transport.layer }))

    it.scopedLive("the four operations: method, path, query, headers and JSON body", () =>
      Effect.gen(function*() {
        const server = yield* startServer(api)
        const results = yield* run(
          Effect.all([
            BatchApi.createBatch(createParams, { idempotencyKey: "key-http-1" }),
            BatchApi.listBatches({ after: "batch_abc123", limit: 2 }),
            BatchApi.retrieveBatch("batch_abc123"),
            BatchApi.cancelBatch("batch_abc123")
          ]),
          {
            // A trailing slash works the same as without.
            baseUrl: `${server.origin}/v1/`,
            organization: "org-integration",
            project: "proj_integration",
            maxRetries: 0
          }
        )
        const [batch, page, completed, cancelled] = results
        assert.strictEqual(batch.id, "batch_abc123")
        assert.strictEqual(batch.status, "validating")
        assert.strictEqual(batch.metadata?.["customer_id"], "user_123456789")
        assert.strictEqual(page.data.length, 1)
        assert.strictEqual(page.last_id, "batch_abc456")
        assert.isTrue(page.has_more)
        assert.strictEqual(completed.status, "completed")
        assert.strictEqual(completed.output_file_id, "file-cvaTdG")
        assert.strictEqual(completed.request_counts?.failed, 5)
        assert.strictEqual(cancelled.status, "cancelling")
        assert.strictEqual(cancelled.cancelling_at, 1711475133)

        const seen = server.requests()
        assert.deepStrictEqual(
          seen.map((r) => [r.method, r.path, r.query]),
          [
            // a caller's idempotency key is looked up first (the fixture page is from 2024: one page is enough)
            ["GET", "/v1/batches", { limit: "100" }],
            ["POST", "/v1/batches", {}],
            ["GET", "/v1/batches", { after: "batch_abc123", limit: "2" }],
            ["GET", "/v1/batches/batch_abc123", {}],
            ["POST", "/v1/batches/batch_abc123/cancel", {}]
          ]
        )
        for (const request of seen) {
          assert.strictEqual(request.headers.authorization, `Bearer ${apiKey}`)
          assert.strictEqual(request.headers["user-agent"], `effect-openai-batch/${packageVersion}`)
          assert.strictEqual(request.headers["openai-organization"], "org-integration")
          assert.strictEqual(request.headers["openai-project"], "proj_integration")
          assert.strictEqual(request.headers.accept, "application/json")
        }
        const [, create, list, retrieve, cancel] = seen
        assert.match(create?.headers["content-type"] ?? "", /^application\/json\b/)
        assert.strictEqual(create?.headers["idempotency-key"], "key-http-1")
        assert.deepStrictEqual(create?.body, {
          ...createParams,
          metadata: { customer_id: "user_123456789", [BatchApi.idempotencyMetadataKey]: "key-http-1" }
        })
        for (const bodiless of [list, retrieve, cancel]) {
          assert.strictEqual(bodiless?.text, "")
          assert.isUndefined(bodiless?.headers["content-type"])
          assert.isUndefined(bodiless?.headers["idempotency-key"])
        }
      }))

    describe("errors", () => {
      it.scopedLive("an HTML 502 page from a proxy: InternalServerError with the status and a body excerpt", () =>
        Effect.gen(function*() {
          const page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1>" +
            "</center><hr><center>nginx</center></body>\n</html>\n"
          const server = yield* startServer((_, response) =>
            sendText(response, 502, page, { "content-type": "text/html" })
          )
          const error = yield* run(BatchApi.retrieveBatch("batch_abc123"), {
            baseUrl: `${server.origin}/v1`,
            maxRetries: 0
          })
            .pipe(failsWith("InternalServerError"))
          assert.strictEqual(error.status, 502)
          assert.strictEqual(error.method, "GET")
          assert.strictEqual(error.url, `${server.origin}/v1/batches/batch_abc123`)
          assert.include(error.bodyExcerpt ?? "", "<title>502 Bad Gateway</title>")
          assert.isTrue(error.message.startsWith("retrieveBatch: 502 "), error.message)
          assert.include(error.message, "502 Bad Gateway")
          assert.isUndefined(error.type)
          assert.strictEqual(server.requests().length, 1)
          assertNoKey(error)
        }))

      it.scopedLive("an empty-body 500: InternalServerError", () =>
        Effect.gen(function*() {
          const server = yield* startServer((_, response) => sendText(response, 500, ""))
          const error = yield* run(BatchApi.listBatches(), { baseUrl: `${server.origin}/v1`, maxRetries: 0 })
            .pipe(failsWith("InternalServerError"))
          assert.strictEqual(error.status, 500)
          assert.strictEqual(error.bodyExcerpt, "")
          assert.include(error.message, "500")
          assert.include(error.message, "no body")
          assert.strictEqual(server.requests().length, 1)
          assertNoKey(error)
        }))

      it.scopedLive("a 404 with OpenAI's envelope: NotFoundError with message, type, code and x-request-id", () =>
        Effect.gen(function*() {
          const server = yield* startServer((_, response) =>
            sendJson(response, 404, {
              error: {
                message: "No batch found with id 'batch_missing'.",
                type: "invalid_request_error",
                param: null,
                code: "batch_not_found"
              }
            }, { "x-request-id": "req_404_abcdef" })
          )
          const error = yield* run(BatchApi.retrieveBatch("batch_missing"), {
            baseUrl: `${server.origin}/v1`,
            maxRetries: 0
          })
            .pipe(failsWith("NotFoundError"))
          assert.strictEqual(error.status, 404)
          assert.include(error.message, "No batch found with id 'batch_missing'.")
          assert.include(error.message, "req_404_abcdef")
          assert.strictEqual(error.type, "invalid_request_error")
          assert.strictEqual(error.code, "batch_not_found")
          assert.isUndefined(error.param)
          assert.strictEqual(error.requestId, "req_404_abcdef")
          assert.isUndefined(error.bodyExcerpt)
          assertNoKey(error)
        }))

      it.scopedLive("connection refused: TransportError", () =>
        Effect.gen(function*() {
          const port = yield* freePort
          const error = yield* run(BatchApi.retrieveBatch("batch_abc123"), {
            baseUrl: `http://127.0.0.1:${port}/v1`,
            maxRetries: 0
          }).pipe(failsWith("TransportError"))
          assert.strictEqual(error.reason, "Transport")
          assert.strictEqual(error.url, `http://127.0.0.1:${port}/v1/batches/batch_abc123`)
          // The system's code and the transport's own error are kept.
          assert.strictEqual(error.code, "ECONNREFUSED")
          assert.isDefined(error.cause)
          assertNoKey(error)
        }))

      it.scopedLive("a reset (the server destroys the socket): TransportError", () =>
        Effect.gen(function*() {
          const server = yield* startServer((_, response) => dropConnection(response))
          const error = yield* run(BatchApi.createBatch(createParams), {
            baseUrl: `${server.origin}/v1`,
            maxRetries: 0
          })
            .pipe(failsWith("TransportError"))
          assert.strictEqual(error.reason, "Transport")
          assert.strictEqual(error.method, "POST")
          assert.include(["ECONNRESET", "UND_ERR_SOCKET", "EPIPE"], error.code)
          assert.strictEqual(server.requests().length, 1)
          assertNoKey(error)
        }))

      it.scopedLive("a server that never answers: TransportError reason Timeout after the configured timeout", () =>
        Effect.gen(function*() {
          const server = yield* startServer(() => {
            // Never answers; the scope's end closes the socket.
          })
          const start = yield* Clock.currentTimeMillis
          const error = yield* run(BatchApi.retrieveBatch("batch_abc123"), {
            baseUrl: `${server.origin}/v1`,
            timeout: "300 millis",
            maxRetries: 0
          }).pipe(failsWith("TransportError"))
          const elapsed = (yield* Clock.currentTimeMillis) - start
          assert.strictEqual(error.reason, "Timeout")
          assert.isAtLeast(elapsed, 290)
          assert.isBelow(elapsed, 3000)
          assert.strictEqual(server.requests().length, 1)
          assertNoKey(error)
        }))
    })
  })
}
