import { assert, describe, it } from "@effect/vitest"
import { Match, Result, Schema } from "effect"
import * as BatchLine from "../src/BatchLine.js"
import { resultLine } from "./support/fixtures.js"

const decodeResult = Schema.decodeUnknownResult(BatchLine.BatchResultFromLine)
const decodeInput = Schema.decodeUnknownResult(BatchLine.BatchRequestInput)

const describeResult = Match.type<BatchLine.BatchResult>().pipe(
  Match.tag("Succeeded", (r) => `ok ${r.response.status_code}`),
  Match.tag("FailedResponse", (r) => `failed ${r.response.status_code} ${r.error?.code ?? "-"}`),
  Match.tag("Errored", (r) => `errored ${r.error.code ?? "-"}`),
  Match.exhaustive
)

describe("BatchLine", () => {
  describe("input lines", () => {
    it("decodes the reference example and keeps extra body fields", () => {
      const line = {
        custom_id: "request-1",
        method: "POST",
        url: "/v1/chat/completions",
        body: {
          model: "gpt-4o-mini",
          messages: [{ role: "system", content: "You are a helpful assistant.", name: "sys" }],
          temperature: 0.2,
          response_format: { type: "json_object" }
        }
      }
      const decoded = decodeInput(line)
      assert.isTrue(Result.isSuccess(decoded))
      if (Result.isSuccess(decoded)) {
        assert.deepStrictEqual(decoded.success, line as unknown)
        assert.strictEqual(decoded.success.body["temperature"], 0.2)
      }
    })

    it("checks the typed bodies and does not let a bad chat body pass as untyped", () => {
      const bad = { custom_id: "a", method: "POST", url: "/v1/chat/completions", body: { model: "m" } }
      assert.isTrue(Result.isFailure(decodeInput(bad)))
      const badEmbedding = { custom_id: "a", method: "POST", url: "/v1/embeddings", body: { model: "m", input: 3 } }
      assert.isTrue(Result.isFailure(decodeInput(badEmbedding)))
      assert.isTrue(Result.isSuccess(decodeInput(BatchLine.embedding("e", { model: "m", input: [[1, 2], [3]] }))))
      assert.isTrue(Result.isSuccess(decodeInput(BatchLine.response("r", { model: "m", input: "hi", store: false }))))
      assert.isTrue(Result.isFailure(decodeInput({ ...BatchLine.response("r", { model: "m" }), method: "GET" })))
      assert.isTrue(Result.isFailure(decodeInput({ ...BatchLine.response("r", { model: "m" }), custom_id: "" })))
    })

    it("keeps any other endpoint's body as a JSON object", () => {
      const line = BatchLine.request("m1", "/v1/moderations", { model: "omni-moderation-latest", input: "x" })
      const decoded = decodeInput(line)
      assert.deepStrictEqual(Result.getOrThrow(decoded), line)
      assert.isTrue(Result.isFailure(decodeInput({ ...line, body: [1, 2] })))
    })
  })

  describe("results", () => {
    it("decodes a 2xx line to Succeeded, keeping the body", () => {
      const result = Result.getOrThrow(decodeResult(resultLine("r1")))
      assert.strictEqual(result._tag, "Succeeded")
      assert.strictEqual(describeResult(result), "ok 200")
      if (result._tag === "Succeeded") {
        assert.strictEqual(result.custom_id, "r1")
        assert.strictEqual(result.response.request_id, "req_r1")
        assert.deepStrictEqual(result.response.body["object"], "chat.completion")
      }
    })

    it("decodes the #302 shape (error null, envelope in response.body.error) to FailedResponse", () => {
      const result = Result.getOrThrow(decodeResult(resultLine("r2")))
      assert.strictEqual(describeResult(result), "failed 404 model_not_found")
      if (result._tag === "FailedResponse") {
        assert.deepStrictEqual(result.error, {
          message: "Invalid model",
          type: "invalid_request_error",
          param: "model",
          code: "model_not_found"
        })
      }
    })

    it("keeps a non-2xx line whose body has no envelope, with no error", () => {
      const line = {
        id: "x",
        custom_id: "r3",
        response: { status_code: 500, request_id: null, body: { oops: 1 } },
        error: null
      }
      const result = Result.getOrThrow(decodeResult(line))
      assert.strictEqual(result._tag, "FailedResponse")
      if (result._tag === "FailedResponse") {
        assert.isUndefined(result.error)
        assert.isFalse("request_id" in result.response)
      }
    })

    it("decodes an error line to Errored", () => {
      const result = Result.getOrThrow(decodeResult(resultLine("r4")))
      assert.strictEqual(describeResult(result), "errored batch_expired")
    })

    it("refuses a line with neither response nor error, and a line of the wrong shape", () => {
      assert.isTrue(Result.isFailure(decodeResult({ id: "x", custom_id: "r", response: null, error: null })))
      assert.isTrue(
        Result.isFailure(
          decodeResult({ id: "x", custom_id: "r", response: { status_code: "200", body: {} }, error: null })
        )
      )
      assert.isTrue(Result.isFailure(decodeResult({ custom_id: "r", response: null, error: { code: "x" } })))
    })

    it("encodes a result back to its wire form", () => {
      const wire = resultLine("r5")
      const encoded = Schema.encodeSync(BatchLine.BatchResultFromLine)(Result.getOrThrow(decodeResult(wire)))
      assert.deepStrictEqual(encoded, wire)
    })
  })
})
