import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema, Stream } from "effect"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchInput from "../src/BatchInput.js"
import * as BatchLine from "../src/BatchLine.js"
import * as BatchResults from "../src/BatchResults.js"
import * as BatchApiTest from "../src/testing/BatchApiTest.js"
import * as FakeFiles from "./support/FakeFiles.js"
import * as Fake from "./support/FakeHttp.js"

const samples: ReadonlyArray<BatchError.BatchError> = [
  new BatchError.RateLimitError({ message: "429 slow", status: 429, method: "GET", url: "u", retryAfterMs: 1000 }),
  new BatchError.TransportError({ message: "reset", method: "GET", url: "u", reason: "Transport", code: "ECONNRESET" }),
  new BatchError.InvalidParamsError({
    message: "listBatches: limit ...",
    operation: "listBatches",
    field: "limit",
    issue: "..."
  }),
  new BatchError.IdempotencyConflictError({
    message: "conflict",
    idempotencyKey: "k",
    batchId: "batch_1",
    existing: { input_file_id: "file-1", endpoint: "/v1/embeddings" }
  }),
  new BatchError.WaitTimeoutError({ message: "gave up", batchId: "batch_1", waitedMs: 5 }),
  new BatchError.DuplicateCustomIdError({ message: "dup", line: 3, customId: "a", firstLine: 1 }),
  new BatchError.WebhookTimestampError({
    message: "old",
    reason: "TooOld",
    timestamp: "1",
    now: 400,
    toleranceSeconds: 300
  }),
  new BatchError.WebhookHeadersError({ message: "missing", missing: ["webhook-id"] }),
  new BatchError.MalformedLineError({
    message: "bad",
    fileId: "file-1",
    file: "output",
    line: 2,
    issue: "x",
    excerpt: "{"
  })
]

describe("BatchError: one error model", () => {
  it("every error decodes back from its serialized form through the one BatchError schema", () => {
    for (const error of samples) {
      const encoded = Schema.encodeSync(BatchError.BatchError)(error)
      const json: unknown = JSON.parse(JSON.stringify(encoded))
      const decoded = Schema.decodeUnknownSync(BatchError.BatchError)(json)
      assert.strictEqual(decoded._tag, error._tag)
      assert.strictEqual(Object.getPrototypeOf(decoded), Object.getPrototypeOf(error))
      assert.strictEqual(decoded.message, error.message)
      assert.isTrue(BatchError.isBatchError(decoded))
    }
  })

  it("isBatchError recognises the library's errors, whichever module raised them, and nothing else", () =>
    Effect.gen(function*() {
      const fromApi = yield* Effect.flip(BatchApi.listBatches({ limit: 0 })).pipe(
        Effect.provide(Fake.layer(() => Fake.json(200, {})))
      )
      const fromInput = yield* Effect.flip(BatchInput.check([], { endpoint: "/v1/embeddings" }))
      const fromResults = yield* Effect.flip(
        Stream.runDrain(BatchResults.stream(BatchApiTest.batch({ status: "in_progress" }))).pipe(
          Effect.provide(FakeFiles.layer(() => ({ status: 404 })))
        )
      )
      for (const error of [fromApi, fromInput, fromResults, ...samples]) {
        assert.isTrue(BatchError.isBatchError(error), error._tag)
      }
      for (const other of [new Error("x"), { _tag: "NotFoundError" }, "NotFoundError", null, undefined]) {
        assert.isFalse(BatchError.isBatchError(other))
      }
    }))

  it("the union covers every error class of the module", () => {
    const classes = Object.values(BatchError).filter(
      (value): value is typeof BatchError.ApiError => typeof value === "function" && "fields" in value
    )
    assert.isAbove(classes.length, 20)
    const members = BatchError.BatchError.members.map((member) => member)
    for (const errorClass of classes) assert.include(members, errorClass)
  })

  it("a result line's union is separate: lines are data, not errors", () => {
    const line = Either.getOrThrow(
      BatchLine.classify({ id: "r", custom_id: "a", response: null, error: { code: "x", message: "y" } })
    )
    assert.isFalse(BatchError.isBatchError(line))
  })
})

describe("BatchError.transience: the one classifier", () => {
  const status = (code: number, extra: { readonly shouldRetry?: boolean } = {}) =>
    new BatchError.InternalServerError({ message: `${code}`, status: code, method: "GET", url: "u", ...extra })
  const transport = (reason: BatchError.TransportError["reason"]) =>
    new BatchError.TransportError({ message: reason, method: "POST", url: "u", reason })

  it("ambiguous: the request may have reached the server (connection failed or timed out, 408, 5xx)", () => {
    for (const error of [transport("Transport"), transport("Timeout"), status(408), status(500), status(503)]) {
      assert.strictEqual(BatchError.transience(error), "ambiguous", error.message)
    }
  })

  it("transient: nothing was done, a later attempt may succeed (409, 429, x-should-retry: true)", () => {
    for (const error of [status(409), status(429), status(400, { shouldRetry: true })]) {
      assert.strictEqual(BatchError.transience(error), "transient", error.message)
    }
  })

  it("permanent: another attempt cannot succeed (4xx, decode, params, a request that could not be written)", () => {
    const decode = new BatchError.DecodeError({
      message: "d",
      method: "GET",
      url: "u",
      status: 200,
      issue: "i",
      bodyExcerpt: ""
    })
    const params = new BatchError.InvalidParamsError({ message: "p", operation: "listBatches", issue: "i" })
    for (
      const error of [
        status(400),
        status(401),
        status(404),
        status(422),
        status(503, { shouldRetry: false }),
        transport("Encode"),
        transport("InvalidUrl"),
        decode,
        params
      ]
    ) {
      assert.strictEqual(BatchError.transience(error), "permanent", error.message)
    }
  })
})
