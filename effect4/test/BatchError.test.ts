/**
 * The one error model on Effect 4 (`Schema.TaggedError` classes): every error round-trips through the `BatchError`
 * schema, `isBatchError` recognises them whichever module raised them, and `transience` classifies request errors.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result, Schema } from "effect"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchLine from "../src/BatchLine.js"
import * as Params from "../src/internal/params.js"
import * as RequestCheck from "../src/internal/requestCheck.js"
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

  it("a cause survives the round trip as an Error, named and with its message", () => {
    const error = new BatchError.TransportError({
      message: "refused",
      method: "GET",
      url: "u",
      reason: "Transport",
      cause: new TypeError("fetch failed")
    })
    const json: unknown = JSON.parse(JSON.stringify(Schema.encodeSync(BatchError.BatchError)(error)))
    const decoded = Schema.decodeUnknownSync(BatchError.BatchError)(json)
    assert.strictEqual(decoded._tag, "TransportError")
    if (decoded._tag !== "TransportError") return
    assert.instanceOf(decoded.cause, Error)
    assert.strictEqual((decoded.cause as Error).message, "fetch failed")
  })

  it("errors are yieldable and caught by tag", () =>
    Effect.gen(function*() {
      const caught = yield* Effect.gen(function*() {
        return yield* new BatchError.EmptyInputError({ message: "no lines" })
      }).pipe(Effect.catchTag("EmptyInputError", (error) => Effect.succeed(`caught: ${error.message}`)))
      assert.strictEqual(caught, "caught: no lines")
      const exit = yield* Effect.exit(new BatchError.EmptyInputError({ message: "no lines" }))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.isTrue(Cause.hasFails(exit.cause))
    }))

  it("isBatchError recognises the library's errors, whichever module raised them, and nothing else", () =>
    Effect.gen(function*() {
      const fromParams = yield* Effect.flip(Params.path("retrieveBatch", "batch", "/v1/batches/", "../files"))
      const fromValidate = yield* Effect.flip(
        Params.validate("listBatches", Schema.Struct({ limit: Schema.Number }), { limit: 1, lmit: 2 })
      )
      const fromApi = yield* Effect.flip(BatchApi.retrieveBatch("batch_404")).pipe(
        Effect.provide(Fake.layer(() => Fake.json(404, { error: { message: "no such batch" } })))
      )
      const fromCheck = RequestCheck.checkLine({ custom_id: "a" }, 1, "/v1/embeddings", "batch")
      assert.isTrue(Result.isFailure(fromCheck))
      const checkError = Result.isFailure(fromCheck) ? fromCheck.failure : assert.fail("checked")
      assert.strictEqual(fromApi._tag, "NotFoundError")
      for (const error of [fromApi, fromParams, fromValidate, checkError, ...samples]) {
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
    assert.strictEqual(classes.length, 35)
    const members: ReadonlyArray<unknown> = BatchError.BatchError.members
    for (const errorClass of classes) assert.include(members, errorClass)
  })

  it("a result line's union is separate: lines are data, not errors", () => {
    const line = Result.getOrThrow(
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

describe("Params and requestCheck: the errors they build", () => {
  it("validate refuses a misspelt option and names it, without echoing values", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Params.validate("listBatches", Schema.Struct({ limit: Schema.Number }), { limit: "secret-value" })
      )
      assert.strictEqual(error._tag, "InvalidParamsError")
      assert.strictEqual(error.field, "limit")
      assert.strictEqual(error.message, "listBatches: limit must be a number")
      const excess = yield* Effect.flip(
        Params.validate("listBatches", Schema.Struct({ limit: Schema.Number }), { limit: 1, lmit: 2 })
      )
      assert.strictEqual(excess.field, "lmit")
      assert.strictEqual(excess.issue, "is not a known parameter")
      const ok = yield* Params.validate("listBatches", Schema.Struct({ limit: Schema.Number }), { limit: 3 })
      assert.deepStrictEqual(ok, { limit: 3 })
    }))

  it("path encodes a safe id and refuses one that could change the path", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Params.path("retrieveBatch", "batch", "/batches/", "batch_1"), "/batches/batch_1")
      const error = yield* Effect.flip(Params.path("retrieveFile", "file", "/files/", "a/../b"))
      assert.strictEqual(error.operation, "retrieveFile")
      assert.strictEqual(error.field, "fileId")
      assert.notInclude(error.message, "a/../b")
    }))

  it("checkLine: a valid line with its JSONL text and bytes; an invalid one, another endpoint's", () => {
    const request = BatchLine.embedding("é-1", { model: "text-embedding-3-small", input: "héllo" })
    const ok = RequestCheck.checkLine(request, 1, "/v1/embeddings", "batch")
    if (Result.isFailure(ok)) return assert.fail(ok.failure.message)
    assert.strictEqual(ok.success.text, `${JSON.stringify(request)}\n`)
    assert.strictEqual(ok.success.bytes, new TextEncoder().encode(ok.success.text).length)
    const other = RequestCheck.checkLine(request, 4, "/v1/chat/completions", "job")
    if (Result.isSuccess(other)) return assert.fail("accepted another endpoint's line")
    assert.strictEqual(other.failure._tag, "EndpointMismatchError")
    assert.strictEqual(
      other.failure.message,
      "request 4 (é-1) is for /v1/embeddings, but the job's endpoint is /v1/chat/completions"
    )
    const invalid = RequestCheck.checkLine({ custom_id: "x", method: "GET" }, 2, "/v1/embeddings", "batch")
    if (Result.isSuccess(invalid)) return assert.fail("accepted an invalid line")
    assert.strictEqual(invalid.failure._tag, "InvalidRequestError")
    assert.match(invalid.failure.message, /^request 2 \(x\) is not a valid input line: /)
    const cyclic: Record<string, unknown> = { ...request }
    cyclic["body"] = { model: "m", input: "x", self: cyclic }
    const unwritable = RequestCheck.checkLine(cyclic, 3, "/v1/embeddings", "batch")
    if (Result.isSuccess(unwritable)) return assert.fail("wrote a cyclic line")
    assert.match(unwritable.failure.message, /cannot be written as JSON \(TypeError\)/)
  })
})
