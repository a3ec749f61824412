/**
 * The one error model on Effect 4 (`Schema.TaggedError` classes): every error round-trips through the `BatchError`
 * schema, `isBatchError` recognises them whichever module raised them, and `transience` classifies request errors.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result, Schema } from "effect"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchInput from "../src/BatchInput.js"
import * as BatchLine from "../src/BatchLine.js"
import * as Params from "../src/internal/params.js"
import * as RequestCheck from "../src/internal/requestCheck.js"
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
  new BatchError.MalformedLineError({
    fileId: "file-1",
    file: "output",
    line: 2,
    issue: "x",
    excerpt: "{"
  }),
  new BatchError.RunnerLockedError({ filename: "/srv/jobs.db", pid: 42, hostname: "worker-1", startedAt: 0 }),
  new BatchError.JobInterruptedError({ jobId: "nightly", operation: "DurableJob.run" }),
  new BatchError.StructuredOutputError({
    customId: "q-1",
    reason: "NotJson",
    issue: "the answer is not JSON",
    excerpt: "Sure"
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
      ["StructuredOutputError", "q-1: the answer is not JSON"],
      [
        "RunnerLockedError",
        "SqliteEngine.layer: the runner of pid 42 on worker-1 (up since 1970-01-01T00:00:00.000Z) holds /srv/jobs.db; one runner per file: use SqliteEngine.layerClient in a process that only starts or reads jobs, or stop that runner first"
      ],
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
    // A serialized error that still holds a message (the Effect 4 edition stored one before) decodes; the message
    // is derived again.
    const old = Schema.decodeUnknownSync(BatchError.BatchError)({
      _tag: "EmptyInputError",
      message: "the batch has no requests"
    })
    assert.strictEqual(old.message, "the input has no requests: a batch needs at least one")
  })

  it("a cause survives the round trip as an Error, named and with its message", () => {
    const error = new BatchError.TransportError({
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
        return yield* new BatchError.EmptyInputError()
      }).pipe(Effect.catchTag("EmptyInputError", (error) => Effect.succeed(`caught: ${error.message}`)))
      assert.strictEqual(caught, "caught: the input has no requests: a batch needs at least one")
      const exit = yield* Effect.exit(new BatchError.EmptyInputError())
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
      const fromCheck = RequestCheck.checkLine({ custom_id: "a" }, 1, "/v1/embeddings")
      assert.isTrue(Result.isFailure(fromCheck))
      const checkError = Result.isFailure(fromCheck) ? fromCheck.failure : assert.fail("checked")
      assert.strictEqual(fromApi._tag, "NotFoundError")
      assert.isTrue(BatchError.isStatusError(fromApi))
      assert.isFalse(BatchError.isStatusError(fromParams))
      // Raisers pass fields; the message is worded from them, naming the operation called.
      assert.strictEqual(fromApi.message, "retrieveBatch: 404 no such batch")
      const line = BatchLine.embedding("a", { model: "text-embedding-3-small", input: "x" })
      const fromInput = yield* Effect.flip(BatchInput.check([line, line], { endpoint: "/v1/embeddings" }))
      assert.strictEqual(fromInput.message, "BatchInput.check: request 2 repeats custom_id a of request 1")
      for (const error of [fromApi, fromParams, fromValidate, fromInput, checkError, ...samples]) {
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
    assert.strictEqual(classes.length, 37)
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
    const ok = RequestCheck.checkLine(request, 1, "/v1/embeddings")
    if (Result.isFailure(ok)) return assert.fail(ok.failure.message)
    assert.strictEqual(ok.success.text, `${JSON.stringify(request)}\n`)
    assert.strictEqual(ok.success.bytes, new TextEncoder().encode(ok.success.text).length)
    const other = RequestCheck.checkLine(request, 4, "/v1/chat/completions", "Job.run")
    if (Result.isSuccess(other)) return assert.fail("accepted another endpoint's line")
    assert.strictEqual(other.failure._tag, "EndpointMismatchError")
    assert.strictEqual(
      other.failure.message,
      "Job.run: request 4 (é-1) is for /v1/embeddings, but the batch's endpoint is /v1/chat/completions"
    )
    const invalid = RequestCheck.checkLine({ custom_id: "x", method: "GET" }, 2, "/v1/embeddings")
    if (Result.isSuccess(invalid)) return assert.fail("accepted an invalid line")
    assert.strictEqual(invalid.failure._tag, "InvalidRequestError")
    assert.match(invalid.failure.message, /^request 2 \(x\) is not a valid input line: /)
    const cyclic: Record<string, unknown> = { ...request }
    cyclic["body"] = { model: "m", input: "x", self: cyclic }
    const unwritable = RequestCheck.checkLine(cyclic, 3, "/v1/embeddings", "BatchInput.upload")
    if (Result.isSuccess(unwritable)) return assert.fail("wrote a cyclic line")
    assert.strictEqual(unwritable.failure.operation, "BatchInput.upload")
    assert.strictEqual(
      unwritable.failure.message,
      "BatchInput.upload: request 3 (é-1) is not a valid input line: cannot be written as JSON (TypeError)"
    )
  })
})
