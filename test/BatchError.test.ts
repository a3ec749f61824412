import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchInput from "../src/BatchInput.js"
import * as BatchLine from "../src/BatchLine.js"
import * as BatchResults from "../src/BatchResults.js"
import * as BatchApiTest from "../src/testing/BatchApiTest.js"
import * as FakeFiles from "./support/FakeFiles.js"
import * as Fake from "./support/FakeHttp.js"

const samples: ReadonlyArray<BatchError.BatchError> = [
  new BatchError.RateLimitError({ status: 429, method: "GET", url: "u", retryAfterMs: 1000 }),
  new BatchError.TransportError({ method: "GET", url: "u", reason: "Transport", code: "ECONNRESET" }),
  new BatchError.InvalidParamsError({
    operation: "listBatches",
    field: "limit",
    issue: "..."
  }),
  new BatchError.IdempotencyConflictError({
    idempotencyKey: "k",
    batchId: "batch_1",
    existing: { input_file_id: "file-1", endpoint: "/v1/embeddings" }
  }),
  new BatchError.WaitTimeoutError({ batchId: "batch_1", waitedMs: 5 }),
  new BatchError.WaitTimeoutError({
    operation: "awaitBatch",
    batchId: "batch_1",
    waitedMs: 5,
    reason: "NoPoll",
    cause: new Error("reset")
  }),
  new BatchError.NotFoundError({
    operation: "retrieveBatch",
    status: 404,
    method: "GET",
    url: "u",
    apiMessage: "No batch found",
    requestId: "req_1"
  }),
  new BatchError.TransportError({ method: "GET", url: "u", reason: "Timeout", timeoutMs: 2000 }),
  new BatchError.LocalFileError({ path: "/tmp/x", action: "read", cause: new Error("EACCES: permission denied") }),
  new BatchError.DuplicateCustomIdError({ line: 3, customId: "a", firstLine: 1 }),
  new BatchError.WebhookTimestampError({
    reason: "TooOld",
    timestamp: "1",
    now: 400,
    toleranceSeconds: 300
  }),
  new BatchError.WebhookHeadersError({ missing: ["webhook-id"] }),
  new BatchError.JobInterruptedError({ jobId: "nightly", operation: "DurableJob.run" }),
  new BatchError.MalformedLineError({
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

  it("a 404 for a route the API does not have says to check the base URL (most often one without /v1)", () => {
    const error = (apiMessage: string) =>
      new BatchError.NotFoundError({ operation: "listBatches", status: 404, method: "GET", url: "u", apiMessage })
    assert.strictEqual(
      error("Invalid URL (GET /batches)").message,
      "listBatches: 404 Invalid URL (GET /batches): no such route; check the base URL (OpenAI's ends with /v1)"
    )
    assert.strictEqual(error("No batch found").message, "listBatches: 404 No batch found")
  })

  it("messages are derived from the fields: one wording per error, the same after a round trip, not serialized", () => {
    const expected = new Map<string, string>([
      ["RateLimitError", "GET u: 429 status code (no body)"],
      ["TransportError", "GET u failed: no response [ECONNRESET]"],
      ["InvalidParamsError", "listBatches: limit ..."],
      [
        "IdempotencyConflictError",
        "createBatch: the idempotency key k already names batch batch_1, made from file-1 for /v1/embeddings"
      ],
      ["DuplicateCustomIdError", "request 3 repeats custom_id a of request 1"],
      ["WebhookTimestampError", "its timestamp is 399 s old, beyond the tolerance of 300 s"],
      ["WebhookHeadersError", "not a Standard Webhooks delivery: webhook-id missing"],
      ["MalformedLineError", "line 2 of the output file file-1 is malformed: x"],
      ["NotFoundError", "retrieveBatch: 404 No batch found (request id req_1)"],
      ["LocalFileError", "could not read /tmp/x: EACCES: permission denied"],
      [
        "JobInterruptedError",
        "DurableJob.run: job nightly was interrupted (DurableJob.interrupt): its batches were cancelled (unless its policy.cancelOnExit was false) and it stays interrupted; to run its requests again, give the job a new jobId"
      ]
    ])
    const seen = new Set<string>()
    for (const error of samples) {
      const wording = expected.get(error._tag)
      if (wording !== undefined && !seen.has(error._tag)) {
        seen.add(error._tag)
        assert.strictEqual(error.message, wording)
      }
      const encoded = Schema.encodeSync(BatchError.BatchError)(error)
      assert.notProperty(encoded, "message")
      assert.notProperty(JSON.parse(JSON.stringify(error)), "message")
    }
    assert.strictEqual(seen.size, expected.size)
    const waits = samples.filter((error) => error._tag === "WaitTimeoutError").map((error) => error.message)
    assert.deepStrictEqual(waits, [
      "gave up waiting for batch batch_1 after 5ms (deadline reached); last status: unknown",
      "awaitBatch: gave up waiting for batch batch_1 after 5ms (no poll succeeded; the last said: reset); last status: unknown"
    ])
    const timeout = samples.find((error) => error._tag === "TransportError" && error.reason === "Timeout")
    assert.strictEqual(timeout?.message, "GET u timed out after 2s")
    // An old serialized error (0.2.0 stored its message) still decodes; the message is derived again.
    const old = Schema.decodeUnknownSync(BatchError.BatchError)({
      _tag: "EmptyInputError",
      message: "the batch has no requests"
    })
    assert.strictEqual(old.message, "the input has no requests: a batch needs at least one")
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
    const line = Schema.decodeUnknownSync(BatchLine.BatchResultFromLine)({
      id: "r",
      custom_id: "a",
      response: null,
      error: { code: "x", message: "y" }
    })
    assert.strictEqual(line._tag, "Errored")
    assert.isFalse(BatchError.isBatchError(line))
  })
})

describe("BatchError.transience: the one classifier", () => {
  const status = (code: number, extra: { readonly shouldRetry?: boolean } = {}) =>
    new BatchError.InternalServerError({ status: code, method: "GET", url: "u", ...extra })
  const transport = (reason: BatchError.TransportError["reason"]) =>
    new BatchError.TransportError({ method: "POST", url: "u", reason })

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
      method: "GET",
      url: "u",
      status: 200,
      issue: "i",
      bodyExcerpt: ""
    })
    const params = new BatchError.InvalidParamsError({ operation: "listBatches", issue: "i" })
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
