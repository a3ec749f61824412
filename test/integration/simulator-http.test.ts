import type { HttpClient } from "@effect/platform"
import { FetchHttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import OpenAI, { toFile } from "openai"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as Server from "../../src/testing/server.js"

const lines = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `r${i}`,
      method: "POST",
      url: "/v1/embeddings",
      body: { model: "text-embedding-3-small", input: `text ${i}` }
    })).join("\n") + "\n"

const apiOver = (server: Server.SimulatorServer, client: Layer.Layer<HttpClient.HttpClient>) =>
  BatchApi.layer.pipe(
    Layer.provideMerge(BatchSchedule.layerTimeout("5 seconds")),
    Layer.provide(OpenAiConfig.layer({
      apiKey: Redacted.make(BatchApiSimulator.testApiKey),
      baseUrl: server.baseUrl
    })),
    Layer.provide(client)
  )

// 1 real second = 1000 batch seconds: the default 6-minute lifecycle takes about 0.4 s.
const speed = 1000

describe("simulator over real HTTP", () => {
  for (
    const [name, client] of [
      ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici],
      ["FetchHttpClient.layer", FetchHttpClient.layer]
    ] as const
  ) {
    it.scopedLive(`the four operations and a whole lifecycle through ${name}`, () =>
      Effect.gen(function*() {
        const server = yield* Server.make({ speed })
        assert.isAbove(server.port, 0)
        assert.strictEqual(server.baseUrl, `http://127.0.0.1:${server.port}/v1`)
        const file = yield* server.simulator.putFile({ content: lines(5) })
        // The first batch lives the default 0.36 s; the second, cancelled a few requests later, stays in progress
        // for 20 simulated hours (72 s): a loaded machine can take longer than 0.36 s for those requests.
        yield* server.simulator.scriptNext({})
        yield* server.simulator.scriptNext({ inProgress: "20 hours" })
        yield* Effect.gen(function*() {
          const created = yield* BatchApi.createBatch({
            input_file_id: file.id,
            endpoint: "/v1/embeddings",
            completion_window: "24h",
            metadata: { run: name }
          })
          assert.strictEqual(created.status, "validating")
          const retrieved = yield* BatchApi.retrieveBatch(created.id)
          assert.strictEqual(retrieved.id, created.id)
          const other = yield* BatchApi.createBatch({
            input_file_id: file.id,
            endpoint: "/v1/embeddings",
            completion_window: "24h"
          })
          const page = yield* BatchApi.listBatches({ limit: 1 })
          assert.deepStrictEqual(page.data.map((b) => b.id), [other.id])
          assert.isTrue(page.has_more)
          const rest = yield* BatchApi.listBatches({ after: other.id })
          assert.deepStrictEqual(rest.data.map((b) => b.id), [created.id])
          const cancelling = yield* BatchApi.cancelBatch(other.id)
          assert.strictEqual(cancelling.status, "cancelling")
          const done = yield* BatchWait.awaitCompleted(created.id, { schedule: BatchSchedule.every("50 millis") })
          assert.deepStrictEqual({ ...done.request_counts }, { total: 5, completed: 5, failed: 0 })
          assert.isDefined(done.output_file_id)
          const missing = yield* Effect.flip(BatchApi.retrieveBatch("batch_missing"))
          assert.strictEqual(missing._tag, "NotFoundError")
        }).pipe(Effect.provide(apiOver(server, client)))
      }))
  }

  it.scopedLive("enqueued limits pass through the server: the second batch fails with token_limit_exceeded", () =>
    Effect.gen(function*() {
      // In progress for 20 simulated hours (72 s): still enqueued when checked, however loaded the machine.
      const server = yield* Server.make({
        speed,
        enqueuedTokenLimit: { "text-embedding-3-small": 15 },
        script: { inProgress: "20 hours" }
      })
      const file = yield* server.simulator.putFile({ content: lines(5) }) // 5 lines of 2 tokens each
      yield* Effect.gen(function*() {
        const params = { input_file_id: file.id, endpoint: "/v1/embeddings", completion_window: "24h" } as const
        const admitted = yield* BatchApi.createBatch(params)
        const rejected = yield* BatchApi.createBatch(params)
        const error = yield* Effect.flip(
          BatchWait.awaitCompleted(rejected.id, { schedule: BatchSchedule.every("50 millis") })
        )
        assert.strictEqual(error._tag, "BatchFailedError")
        if (error._tag === "BatchFailedError") assert.strictEqual(error.errors[0]?.code, "token_limit_exceeded")
        assert.strictEqual((yield* BatchApi.retrieveBatch(admitted.id)).status, "in_progress")
        assert.deepStrictEqual(yield* server.simulator.enqueued("text-embedding-3-small"), {
          tokens: 10,
          requests: 5,
          batches: 1
        })
      }).pipe(Effect.provide(apiOver(server, NodeHttpClient.layerUndici)))
    }))

  it.scopedLive("a dropped connection really drops the socket: the library's TransportError", () =>
    Effect.gen(function*() {
      const server = yield* Server.make()
      yield* server.simulator.injectFault(BatchApiSimulator.dropConnection)
      const error = yield* Effect.flip(BatchApi.listBatches({}).pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
        .pipe(
          Effect.provide(apiOver(server, NodeHttpClient.layerUndici))
        )
      assert.strictEqual(error._tag, "TransportError")
      if (error._tag === "TransportError") assert.strictEqual(error.reason, "Transport")
      // and a retried call gets through after one drop
      yield* server.simulator.injectFault(BatchApiSimulator.dropConnection)
      const page = yield* BatchApi.listBatches().pipe(Effect.provide(apiOver(server, FetchHttpClient.layer)))
      assert.strictEqual(page.object, "list")
      const statuses = (yield* server.simulator.requests).map((r) => r.status ?? r.fault)
      assert.deepStrictEqual(statuses, ["Dropped", "Dropped", 200])
      // a request that is never answered: the client's timeout fires, and the server still stops
      yield* server.simulator.injectFault(BatchApiSimulator.timeout)
      const timedOut = yield* Effect.flip(BatchApi.listBatches({}).pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
        .pipe(
          Effect.provide(
            BatchApi.layer.pipe(
              Layer.provideMerge(BatchSchedule.layerTimeout("300 millis")),
              Layer.provide(OpenAiConfig.layer({
                apiKey: Redacted.make(BatchApiSimulator.testApiKey),
                baseUrl: server.baseUrl
              })),
              Layer.provide(NodeHttpClient.layerUndici)
            )
          )
        )
      assert.strictEqual(timedOut._tag, "TransportError")
      if (timedOut._tag === "TransportError") assert.strictEqual(timedOut.reason, "Timeout")
    }))

  it.scopedLive("the official openai SDK (maxRetries 0) works against it", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({ speed })
      // The batch to cancel (the second) stays in progress for 20 simulated hours, as in the first test.
      yield* server.simulator.scriptNext({})
      yield* server.simulator.scriptNext({ inProgress: "20 hours" })
      const result = yield* Effect.promise(async () => {
        const openai = new OpenAI({ apiKey: BatchApiSimulator.testApiKey, baseURL: server.baseUrl, maxRetries: 0 })
        const file = await openai.files.create({
          file: await toFile(Buffer.from(lines(3)), "requests.jsonl"),
          purpose: "batch"
        })
        const created = await openai.batches.create({
          input_file_id: file.id,
          endpoint: "/v1/embeddings",
          completion_window: "24h",
          metadata: { via: "openai-node" }
        })
        const toCancel = await openai.batches.create({
          input_file_id: file.id,
          endpoint: "/v1/embeddings",
          completion_window: "24h"
        })
        const cancelled = await openai.batches.cancel(toCancel.id)
        const listed: Array<string> = []
        for await (const batch of openai.batches.list({ limit: 1 })) listed.push(batch.id)
        let batch = await openai.batches.retrieve(created.id)
        for (let i = 0; i < 100 && batch.status !== "completed"; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50))
          batch = await openai.batches.retrieve(created.id)
        }
        const content = await (await openai.files.content(batch.output_file_id!)).text()
        let denied: unknown
        try {
          await new OpenAI({ apiKey: "sk-wrong", baseURL: server.baseUrl, maxRetries: 0 }).batches.retrieve(created.id)
        } catch (error) {
          denied = error
        }
        return { file, created, cancelled, listed, batch, content, denied }
      })
      assert.strictEqual(result.file.purpose, "batch")
      assert.strictEqual(result.created.status, "validating")
      assert.strictEqual(result.created.metadata?.["via"], "openai-node")
      assert.strictEqual(result.cancelled.status, "cancelling")
      assert.deepStrictEqual(result.listed, [result.cancelled.id, result.created.id])
      assert.strictEqual(result.batch.status, "completed")
      const outputs = result.content.trim().split("\n").map((line) => JSON.parse(line))
      assert.deepStrictEqual(outputs.map((line) => line.custom_id), ["r0", "r1", "r2"])
      assert.strictEqual(outputs[0].response.body.object, "list")
      assert.instanceOf(result.denied, OpenAI.AuthenticationError)
      // two list pages of one item each: the SDK followed the cursor
      const lists = (yield* server.simulator.requests).filter((r) => r.method === "GET" && r.path === "/v1/batches")
      assert.deepStrictEqual(lists.map((r) => r.query["after"] ?? null), [null, result.cancelled.id])
    }))
})
