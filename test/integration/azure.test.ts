/**
 * Azure OpenAI's batch endpoints and base URLs with a query, over real loopback HTTP on every transport: requests
 * go to `<endpoint>/openai/...`, carry the key in an `api-key` header (never `Authorization`) and `api-version` on
 * every request (list, retrieve, create, upload, download), and a create goes to the configured deployment, as
 * openai-node's `AzureOpenAI` sends them. A base URL with a query keeps its path (`/v1/batches?api-version=1`, not
 * `/v1?api-version=1/batches`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import { readFileSync } from "node:fs"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import { transports } from "./support/client.js"
import { sendJson, sendText, startServer, type TestServer } from "./support/server.js"

const batch: unknown = JSON.parse(
  readFileSync(new URL("../../fixtures/retrieveBatch.response.json", import.meta.url), "utf8")
)
const file = { id: "file-1", object: "file", bytes: 6, created_at: 1, filename: "in.jsonl", purpose: "batch" }
const azureKey = "azure-key-NEVER-IN-AUTHORIZATION-1234"

const serve = () =>
  startServer((request, response) => {
    if (request.path.endsWith("/content")) return sendText(response, 200, "line1\n")
    if (request.path.endsWith("/files")) return sendJson(response, 200, file)
    if (request.method === "GET" && request.path.endsWith("/batches")) {
      return sendJson(response, 200, { object: "list", data: [batch], has_more: false })
    }
    return sendJson(response, 200, batch)
  })

/** Every operation once. */
const everything = Effect.gen(function*() {
  yield* BatchApi.retrieveBatch("batch_abc123")
  yield* BatchApi.listBatches({ limit: 5 })
  yield* BatchApi.createBatch(
    { input_file_id: "file-1", endpoint: "/v1/embeddings", completion_window: "24h" },
    { idempotencyMarker: false }
  )
  yield* OpenAiFiles.uploadFile({ file: "line1\n", filename: "in.jsonl", purpose: "batch" })
  const bytes = yield* Stream.runCollect(OpenAiFiles.downloadFile("file-1"))
  assert.strictEqual(Chunk.reduce(bytes, 0, (n, chunk) => n + chunk.length), 6)
}).pipe(BatchSchedule.withRetry(BatchSchedule.noRetry))

const services = (
  config: Layer.Layer<OpenAiConfig.OpenAiConfig, unknown>,
  transport: (typeof transports)[number]
) =>
  Layer.mergeAll(BatchApi.layer, OpenAiFiles.layer).pipe(
    Layer.provide(config),
    Layer.provide(transport.layer),
    Layer.orDie
  )

const paths = (server: TestServer) => server.requests().map((request) => `${request.method} ${request.path}`)

describe("Azure OpenAI", () => {
  for (const transport of transports) {
    it.scopedLive(`api-key, api-version on every request, the deployment's create: ${transport.name}`, () =>
      Effect.gen(function*() {
        const server = yield* serve()
        yield* everything.pipe(Effect.provide(services(
          OpenAiConfig.layerAzure({
            endpoint: `${server.origin}/`,
            apiVersion: "2024-10-21",
            apiKey: Redacted.make(azureKey),
            deployment: "my-deployment"
          }),
          transport
        )))
        assert.deepStrictEqual(paths(server), [
          "GET /openai/batches/batch_abc123",
          "GET /openai/batches",
          "POST /openai/deployments/my-deployment/batches",
          "POST /openai/files",
          "GET /openai/files/file-1/content"
        ])
        for (const request of server.requests()) {
          assert.strictEqual(request.headers["api-key"], azureKey)
          assert.isUndefined(request.headers["authorization"])
          assert.strictEqual(request.query["api-version"], "2024-10-21")
        }
        assert.deepStrictEqual(server.requests()[1]?.query, { "api-version": "2024-10-21", limit: "5" })
      }))

    it.scopedLive(`a base URL with a query keeps its path and sends the query with every request: ${transport.name}`, () =>
      Effect.gen(function*() {
        const server = yield* serve()
        yield* everything.pipe(Effect.provide(services(
          OpenAiConfig.layer({ apiKey: Redacted.make("sk-query-test"), baseUrl: `${server.origin}/v1/?api-version=1` }),
          transport
        )))
        assert.deepStrictEqual(paths(server), [
          "GET /v1/batches/batch_abc123",
          "GET /v1/batches",
          "POST /v1/batches",
          "POST /v1/files",
          "GET /v1/files/file-1/content"
        ])
        for (const request of server.requests()) {
          assert.strictEqual(request.query["api-version"], "1")
          assert.strictEqual(request.headers["authorization"], "Bearer sk-query-test")
        }
      }))
  }

  it.effect("its settings are checked when the layer is built: an endpoint that is no URL, an empty version", () =>
    Effect.gen(function*() {
      const key = Redacted.make("k")
      const endpoint = yield* Effect.flip(OpenAiConfig.makeAzure({ endpoint: "x", apiVersion: "1", apiKey: key }))
      if (endpoint._op === "InvalidData") assert.deepStrictEqual(endpoint.path, ["endpoint"])
      else assert.fail(`expected InvalidData, got ${endpoint._op}`)
      const version = yield* Effect.flip(OpenAiConfig.makeAzure({ endpoint: "https://x", apiVersion: "", apiKey: key }))
      if (version._op === "InvalidData") assert.deepStrictEqual(version.path, ["apiVersion"])
      else assert.fail(`expected InvalidData, got ${version._op}`)
      const deployment = yield* Effect.flip(
        OpenAiConfig.makeAzure({ endpoint: "https://x", apiVersion: "1", apiKey: key, deployment: "a/b" })
      )
      if (deployment._op === "InvalidData") assert.deepStrictEqual(deployment.path, ["deployment"])
      else assert.fail(`expected InvalidData, got ${deployment._op}`)
    }))
})
