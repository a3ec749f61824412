/**
 * Azure OpenAI's shape in memory: the simulator's `HttpClient` routes by the URL's path, so a client configured with
 * `OpenAiConfig.layerAzure` (any endpoint) reaches the same routes through `/openai`. Its log and its fault matchers
 * see the request as sent (the `/openai` path), never the key. (Ported from the root's
 * test/testing/BatchApiSimulator.azure.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { chatLine, jsonl, send, start } from "./support.js"

const AzureApi = BatchApi.layer.pipe(
  Layer.provide(OpenAiConfig.layerAzure({
    endpoint: "https://example-resource.openai.azure.com",
    apiVersion: "2024-10-21",
    apiKey: Redacted.make(BatchApiSimulator.testApiKey),
    deployment: "gpt-4o-mini-batch"
  })),
  Layer.orDie,
  Layer.provideMerge(BatchApiSimulator.layer())
)

describe("BatchApiSimulator as Azure OpenAI", () => {
  it.effect("the in-memory HttpClient: a create through the deployment, a retrieve; logged as sent, without the key", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const file = yield* simulator.putFile({ content: jsonl([chatLine("a")]) })
      const created = yield* BatchApi.createBatch({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h"
      })
      // a fault matched by the path as sent
      yield* simulator.injectFault(BatchApiSimulator.serverError(503), { match: { path: /^\/openai\/batches\// } })
      const failed = yield* Effect.flip(
        BatchApi.retrieveBatch(created.id).pipe(BatchSchedule.withRetry(BatchSchedule.noRetry))
      )
      assert.strictEqual(failed._tag, "InternalServerError")
      assert.strictEqual((yield* BatchApi.retrieveBatch(created.id)).status, "validating")
      const log = yield* simulator.requests
      assert.deepStrictEqual(log.map((r) => [r.method, r.path, r.query["api-version"], r.status]), [
        ["POST", "/openai/deployments/gpt-4o-mini-batch/batches", "2024-10-21", 200],
        ["GET", `/openai/batches/${created.id}`, "2024-10-21", 503],
        ["GET", `/openai/batches/${created.id}`, "2024-10-21", 200]
      ])
      for (const request of log) assert.isUndefined(request.headers["api-key"])
    }).pipe(Effect.provide(AzureApi)))

  it.effect("the key's header follows the shape: /v1 takes a bearer key only, /openai an api-key or a bearer key", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const apiKey = { authorization: "", "api-key": BatchApiSimulator.testApiKey }
      const version = { "api-version": "2024-10-21" }
      assert.strictEqual((yield* send(simulator, "GET", "/v1/batches", { headers: apiKey })).status, 401)
      assert.strictEqual(
        (yield* send(simulator, "GET", "/openai/batches", { headers: apiKey, query: version })).status,
        200
      )
      assert.strictEqual((yield* send(simulator, "GET", "/openai/batches", { query: version })).status, 200)
      const wrong = yield* send(simulator, "GET", "/openai/batches", {
        headers: { ...apiKey, "api-key": "sk-wrong" },
        query: version
      })
      assert.strictEqual(wrong.status, 401)
      assert.include(wrong.json.error.message, "Access denied")
      // the deployment's route is a create's only; a path Azure does not serve is a 404
      assert.strictEqual(
        (yield* send(simulator, "GET", "/openai/deployments/d/batches", { query: version })).status,
        404
      )
      assert.strictEqual((yield* send(simulator, "GET", "/openai/models", { query: version })).status, 404)
    }))
})
