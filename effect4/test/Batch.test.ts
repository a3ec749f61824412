import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as Batch from "../src/Batch.js"
import { batchFixtures, fixture } from "./support/fixtures.js"

const decodeBatch = Schema.decodeUnknownResult(Batch.Batch)

describe("Batch", () => {
  it("decodes every official batch example", () => {
    for (const name of batchFixtures) {
      const result = decodeBatch(fixture(name))
      assert.isTrue(Result.isSuccess(result), `${name}: ${Result.isFailure(result) ? result.failure.message : ""}`)
    }
    const full = Schema.decodeUnknownSync(Batch.Batch)(fixture("Batch.object.json"))
    assert.strictEqual(full.model, "gpt-5-2025-08-07")
    assert.strictEqual(full.usage?.input_tokens_details.cached_tokens, 1024)
    assert.deepStrictEqual(full.request_counts, { total: 100, completed: 95, failed: 5 })
    assert.strictEqual(full.metadata?.["batch_description"], "Nightly eval job")
    // null in the wire format becomes an absent key
    assert.isFalse("failed_at" in full)
    assert.isFalse("errors" in full)
  })

  it("decodes the list example as a page", () => {
    const page = Schema.decodeUnknownSync(Batch.BatchPage)(fixture("listBatches.response.json"))
    assert.strictEqual(page.data.length, 1)
    assert.strictEqual(page.has_more, true)
    assert.strictEqual(page.last_id, "batch_abc456")
  })

  it("accepts absent and null for every optional field", () => {
    const minimal = {
      id: "batch_1",
      object: "batch",
      endpoint: "/v1/embeddings",
      input_file_id: "file-1",
      completion_window: "24h",
      status: "in_progress",
      created_at: 1
    }
    assert.isTrue(Result.isSuccess(decodeBatch(minimal)))
    const optionalKeys = [
      "model",
      "errors",
      "output_file_id",
      "error_file_id",
      "in_progress_at",
      "expires_at",
      "finalizing_at",
      "completed_at",
      "failed_at",
      "expired_at",
      "cancelling_at",
      "cancelled_at",
      "request_counts",
      "usage",
      "metadata"
    ]
    const allNull = Object.fromEntries(optionalKeys.map((key) => [key, null]))
    assert.isTrue(Result.isSuccess(decodeBatch({ ...minimal, ...allNull })))
  })

  it("decodes an unknown status and endpoint instead of failing, and keeps them", () => {
    const batch = Schema.decodeUnknownSync(Batch.Batch)({
      ...fixture("Batch.object.json") as object,
      status: "paused",
      endpoint: "/v1/audio/speech",
      some_new_field: { nested: true }
    })
    assert.strictEqual(batch.status, "paused")
    assert.strictEqual(batch.endpoint, "/v1/audio/speech")
    assert.isFalse(Batch.isKnownStatus(batch.status))
    assert.isFalse(Batch.isTerminal(batch))
  })

  it("still rejects a body that is not a batch", () => {
    assert.isTrue(Result.isFailure(decodeBatch({ id: "batch_1", object: "batch" })))
    assert.isTrue(Result.isFailure(decodeBatch({ ...fixture("Batch.object.json") as object, status: 3 })))
  })

  it("status predicates", () => {
    const terminal = Batch.knownStatuses.filter((status) => Batch.isTerminal({ status }))
    assert.deepStrictEqual(terminal, ["failed", "completed", "expired", "cancelled"])
    const cancellable = Batch.knownStatuses.filter((status) => Batch.isCancellable({ status }))
    assert.deepStrictEqual(cancellable, ["validating", "in_progress", "finalizing"])
    assert.isTrue(Batch.hasResults({ output_file_id: "file-1" }))
    assert.isFalse(Batch.hasResults({}))
  })

  describe("CreateBatchParams", () => {
    const valid = { input_file_id: "file-1", endpoint: "/v1/chat/completions", completion_window: "24h" } as const
    const check = Schema.decodeUnknownResult(Batch.CreateBatchParams)

    it("accepts the spec's values, including every endpoint", () => {
      for (const endpoint of Batch.knownEndpoints) assert.isTrue(Result.isSuccess(check({ ...valid, endpoint })))
      assert.isTrue(Result.isSuccess(check({
        ...valid,
        metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`.padEnd(64, "x"), "v".repeat(512)])),
        output_expires_after: { anchor: "created_at", seconds: 3600 }
      })))
    })

    it("rejects what the API would", () => {
      const bad = [
        { ...valid, endpoint: "/v1/unknown" },
        { ...valid, completion_window: "48h" },
        { ...valid, input_file_id: "" },
        { ...valid, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) },
        { ...valid, metadata: { ["k".repeat(65)]: "v" } },
        { ...valid, metadata: { k: "v".repeat(513) } },
        { ...valid, metadata: { k: 1 } },
        { ...valid, output_expires_after: { anchor: "created_at", seconds: 3599 } },
        { ...valid, output_expires_after: { anchor: "created_at", seconds: 2_592_001 } },
        { ...valid, output_expires_after: { anchor: "now", seconds: 3600 } }
      ]
      for (const params of bad) assert.isTrue(Result.isFailure(check(params)), JSON.stringify(params).slice(0, 120))
    })
  })

  it("ListBatchesParams: limit 1..100", () => {
    const check = Schema.decodeUnknownResult(Batch.ListBatchesParams)
    assert.isTrue(Result.isSuccess(check({ limit: 1 })))
    assert.isTrue(Result.isSuccess(check({ limit: 100, after: "batch_1" })))
    for (const limit of [0, 101, 2.5]) assert.isTrue(Result.isFailure(check({ limit })))
    assert.isTrue(Result.isFailure(check({ after: "" })))
  })

  it("BatchId rejects anything that could change the URL path", () => {
    const check = Schema.decodeUnknownResult(Batch.BatchId)
    assert.isTrue(Result.isSuccess(check("batch_abc123")))
    for (
      const id of [
        "",
        ".",
        "a/b",
        "a?b",
        "a#b",
        "a%2Fb",
        "..",
        "a..b",
        "a b",
        "a\tb",
        "a\nb",
        "a\u0000b",
        "a\\b",
        "x".repeat(257)
      ]
    ) {
      assert.isTrue(Result.isFailure(check(id)), JSON.stringify(id))
    }
  })
})
