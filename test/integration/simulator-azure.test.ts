/**
 * The simulator's server answers an Azure OpenAI client too: the library with `OpenAiConfig.layerAzure` pointed at
 * `server.url` sends `/openai/...` with an `api-key` header and `api-version`, and the server maps that onto its
 * routes. Its key rules are the bearer key's; a request without `api-version` gets Azure's 404.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchResults from "../../src/BatchResults.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as OpenAiUploads from "../../src/OpenAiUploads.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as Server from "../../src/testing/server.js"

const encoder = new TextEncoder()

const lines = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `r${i}`,
      method: "POST",
      url: "/v1/embeddings",
      body: { model: "text-embedding-3-small", input: `text ${i}` }
    })).join("\n") + "\n"

const azureOver = (server: Server.SimulatorServer, apiKey: string, deployment?: string) =>
  Layer.mergeAll(BatchApi.layer, OpenAiFiles.layer, OpenAiUploads.layer).pipe(
    Layer.provideMerge(BatchSchedule.layerTimeout("5 seconds")),
    Layer.provide(OpenAiConfig.layerAzure({
      endpoint: server.url,
      apiVersion: "2024-10-21",
      apiKey: Redacted.make(apiKey),
      deployment
    })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )

// 1 real second = 1000 batch seconds: an upload's hour lasts 3.6 s, 20 hours 72 s, the first batch's 3 s 3 ms.
const speed = 1000

describe("simulator over real HTTP, as Azure OpenAI", () => {
  it.scopedLive("layerAzure: upload, create, retrieve, list, cancel and the results, end to end", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({ speed })
      // The first batch ends in 3 simulated seconds; the second, cancelled a few requests later, stays in progress
      // for 20 simulated hours.
      yield* server.simulator.scriptNext({ validating: "1 second", inProgress: "1 second", finalizing: "1 second" })
      yield* server.simulator.scriptNext({ inProgress: "20 hours" })
      yield* Effect.gen(function*() {
        const file = yield* OpenAiFiles.uploadFile({ file: lines(3), filename: "in.jsonl", purpose: "batch" })
        const content = encoder.encode(lines(2))
        const upload = yield* OpenAiUploads.uploadStream(Stream.make(content), {
          bytes: content.length,
          filename: "parts.jsonl",
          purpose: "batch",
          partSize: 64
        })
        assert.strictEqual(upload.status, "completed")
        const created = yield* BatchApi.createBatch({
          input_file_id: file.id,
          endpoint: "/v1/embeddings",
          completion_window: "24h"
        })
        assert.strictEqual((yield* BatchApi.retrieveBatch(created.id)).id, created.id)
        const other = yield* BatchApi.createBatch({
          input_file_id: upload.file.id,
          endpoint: "/v1/embeddings",
          completion_window: "24h"
        })
        const page = yield* BatchApi.listBatches({ limit: 5 })
        assert.deepStrictEqual(page.data.map((b) => b.id), [other.id, created.id])
        assert.strictEqual((yield* BatchApi.cancelBatch(other.id)).status, "cancelling")
        const done = yield* BatchWait.awaitCompleted(created.id, { schedule: BatchSchedule.every("10 millis") })
        const results = yield* Stream.runCollect(BatchResults.stream(done))
        assert.deepStrictEqual(Chunk.toReadonlyArray(results).map((r) => `${r.custom_id} ${r._tag}`), [
          "r0 Succeeded",
          "r1 Succeeded",
          "r2 Succeeded"
        ])
      }).pipe(Effect.provide(azureOver(server, BatchApiSimulator.testApiKey, "my-deployment")))
      const log = yield* server.simulator.requests
      const paths = new Set(log.map((r) => `${r.method} ${r.path.replace(/(batch|file|upload|part)_\w+/g, "{id}")}`))
      assert.includeMembers([...paths], [
        "POST /openai/files",
        "POST /openai/uploads",
        "POST /openai/uploads/{id}/parts",
        "POST /openai/uploads/{id}/complete",
        "POST /openai/deployments/my-deployment/batches",
        "GET /openai/batches/{id}",
        "GET /openai/batches",
        "POST /openai/batches/{id}/cancel"
      ])
      assert.isTrue([...paths].some((path) => path.startsWith("GET /openai/files/") && path.endsWith("/content")))
      for (const request of log) {
        assert.strictEqual(request.status, 200, `${request.method} ${request.path}`)
        assert.strictEqual(request.query["api-version"], "2024-10-21")
        // the log never keeps the key
        assert.isUndefined(request.headers["api-key"])
      }
    }))

  it.scopedLive("a wrong api-key gets the simulator's 401, as a bearer key would", () =>
    Effect.gen(function*() {
      const server = yield* Server.make()
      const error = yield* Effect.flip(
        BatchApi.listBatches().pipe(
          BatchSchedule.withRetry(BatchSchedule.noRetry),
          Effect.provide(azureOver(server, "sk-wrong"))
        )
      )
      assert.strictEqual(error._tag, "AuthenticationError")
      if (error._tag === "AuthenticationError") assert.strictEqual(error.status, 401)
      assert.deepStrictEqual((yield* server.simulator.requests).map((r) => `${r.path} ${r.status}`), [
        "/openai/batches 401"
      ])
      // the same key rules: with acceptAnyKey, any non-empty key
      const open = yield* Server.make({ acceptAnyKey: true })
      const page = yield* BatchApi.listBatches().pipe(Effect.provide(azureOver(open, "sk-anything")))
      assert.deepStrictEqual(page.data, [])
    }))

  it.scopedLive("a request without api-version is refused with Azure's 404; with it, the same request is served", () =>
    Effect.gen(function*() {
      const server = yield* Server.make()
      const get = (query: string) =>
        Effect.promise(async () => {
          const response = await fetch(`${server.url}/openai/batches${query}`, {
            headers: { "api-key": BatchApiSimulator.testApiKey }
          })
          return { status: response.status, body: await response.json() }
        })
      const without = yield* get("")
      assert.strictEqual(without.status, 404)
      assert.deepStrictEqual(without.body.error.message, "Resource not found")
      assert.strictEqual((yield* get("?api-version=")).status, 404)
      const served = yield* get("?api-version=2024-10-21")
      assert.strictEqual(served.status, 200)
      assert.strictEqual(served.body.object, "list")
    }))
})
