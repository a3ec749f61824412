/**
 * Fidelity details clients read: a batch's `usage` (summed from the answers, growing as requests complete) and the
 * API's response headers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"
import { chatLine, jsonl, send, start } from "./support.js"

/** Waits run on FastTestClock: Effect 4's TestClock.adjust leaves a forked wait at its first poll. */
const fast = Effect.provide(FastTestClock.layer)

const decoder = new TextDecoder()

/** Line i: 10 + i prompt tokens (2 cached), 5 completion tokens (1 reasoning); line 3 is a 400, line 7 an error. */
const responder: BatchApiSimulator.Responder = (_line, { index }) =>
  index === 3
    ? { status_code: 400, body: { error: { message: "bad" }, usage: { prompt_tokens: 1000, completion_tokens: 1000 } } }
    : index === 7
    ? { error: { code: "server_error", message: "lost" } }
    : {
      status_code: 200,
      body: {
        object: "chat.completion",
        usage: {
          prompt_tokens: 10 + index,
          completion_tokens: 5,
          total_tokens: 15 + index,
          prompt_tokens_details: { cached_tokens: 2 },
          completion_tokens_details: { reasoning_tokens: 1 }
        }
      }
    }

const usage = (input: number, cached: number, output: number, reasoning: number) => ({
  input_tokens: input,
  input_tokens_details: { cached_tokens: cached },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: reasoning },
  total_tokens: input + output
})

const outputLines = (simulator: BatchApiSimulator.Simulator, fileId: string | undefined) =>
  Effect.map(
    simulator.file(fileId ?? ""),
    (file) => decoder.decode(Option.getOrThrow(file).content).trim().split("\n").map((line) => JSON.parse(line))
  )

describe("BatchApiSimulator fidelity", () => {
  it.effect("usage: zero while validating, the sum over the successful answers so far, growing to the total", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const file = yield* simulator.putFile({ content: jsonl(Array.from({ length: 10 }, (_, i) => chatLine(`r${i}`))) })
      const { id } = yield* BatchApi.createBatch({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h"
      })
      assert.deepStrictEqual(yield* Effect.map(BatchApi.retrieveBatch(id), (b) => b.usage), usage(0, 0, 0, 0))
      yield* TestClock.adjust(`${30 + 150} seconds`) // half of the 300 s in_progress: lines 0-4, of which 3 failed
      const half = yield* BatchApi.retrieveBatch(id)
      assert.strictEqual(half.status, "in_progress")
      assert.deepStrictEqual(half.usage, usage(10 * 4 + 0 + 1 + 2 + 4, 8, 20, 4))
      yield* TestClock.adjust("10 minutes")
      const done = yield* BatchApi.retrieveBatch(id)
      assert.strictEqual(done.status, "completed")
      assert.deepStrictEqual({ ...done.request_counts }, { total: 10, completed: 8, failed: 2 })
      assert.deepStrictEqual(done.usage, usage(10 * 8 + (0 + 1 + 2 + 4 + 5 + 6 + 8 + 9), 16, 40, 8))
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ responder })), fast))

  it.effect("usage of the default responder's embeddings and responses equals the sum over their output files", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      for (
        const [endpoint, body] of [
          ["/v1/embeddings", (i: number) => ({ model: "text-embedding-3-small", input: `some text number ${i}` })],
          ["/v1/responses", (i: number) => ({ model: "gpt-4.1-mini", input: `a question, ${"long ".repeat(i)}` })]
        ] as const
      ) {
        const lines = Array.from(
          { length: 6 },
          (_, i) => ({ custom_id: `x${i}`, method: "POST", url: endpoint, body: body(i) })
        )
        const file = yield* simulator.putFile({ content: jsonl(lines) })
        const { id } = yield* BatchApi.createBatch({ input_file_id: file.id, endpoint, completion_window: "24h" })
        const fiber = yield* Effect.forkChild(
          BatchWait.awaitCompleted(id, { schedule: BatchSchedule.every("1 minute") })
        )
        yield* TestClock.adjust("10 minutes")
        const done = yield* Fiber.join(fiber)
        const answers = (yield* outputLines(simulator, done.output_file_id)).map((line) => line.response.body.usage)
        const sum = (key: "input" | "output") =>
          answers.reduce((n, u) => n + (key === "input" ? u.input_tokens ?? u.prompt_tokens : u.output_tokens ?? 0), 0)
        assert.isAbove(sum("input"), 6, endpoint)
        assert.deepStrictEqual(done.usage, usage(sum("input"), 0, sum("output"), 0), endpoint)
        if (endpoint === "/v1/embeddings") assert.strictEqual(done.usage?.output_tokens, 0)
        else assert.isAbove(done.usage?.output_tokens ?? 0, 0)
      }
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi()), fast))

  it.effect("x-request-id, openai-processing-ms, openai-version and openai-organization on answers and API errors", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const simulator = yield* BatchApiSimulator.make({ requireInputFile: false })
      yield* simulator.injectFault(BatchApiSimulator.rateLimited(), { match: { path: "/v1/batches/limited" } })
      yield* simulator.injectFault(BatchApiSimulator.serverError(503), { match: { path: "/v1/batches/broken" } })
      const answers = [
        yield* send(simulator, "GET", "/v1/batches"),
        yield* send(simulator, "POST", "/v1/batches", {
          body: { input_file_id: "file-x", endpoint: "/v1/embeddings", completion_window: "24h" }
        }),
        yield* send(simulator, "GET", "/v1/batches/batch_unknown"),
        yield* send(simulator, "GET", "/v1/files", { headers: { authorization: "Bearer sk-wrong" } }),
        yield* send(simulator, "GET", "/v1/batches/limited"),
        yield* send(simulator, "GET", "/v1/batches/broken")
      ]
      assert.deepStrictEqual(answers.map((a) => a.status), [200, 200, 404, 401, 429, 503])
      const ids = new Set<string>()
      for (const { headers, status } of answers) {
        assert.match(headers["x-request-id"] ?? "", /^req_sim_[0-9a-f]{12}$/, String(status))
        ids.add(headers["x-request-id"] ?? "")
        assert.match(headers["openai-processing-ms"] ?? "", /^[1-9]\d*$/, String(status))
        assert.strictEqual(headers["openai-version"], "2020-10-01")
        assert.strictEqual(headers["openai-organization"], "org-simulator")
      }
      assert.strictEqual(ids.size, answers.length)
      // a proxy's HTML page carries none of the API's own headers
      yield* simulator.injectFault(BatchApiSimulator.malformedBody)
      const proxied = yield* send(simulator, "GET", "/v1/batches")
      assert.isUndefined(proxied.headers["openai-version"])
    }))

  it.effect("the HttpClient's responses: text, json, arrayBuffer, a large body streamed in 64 KiB chunks, errors", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const client = yield* HttpClient.HttpClient
      const content = jsonl(Array.from({ length: 3000 }, (_, i) => chatLine(`request-${i}`)))
      const file = yield* simulator.putFile({ content })
      const get = (path: string) =>
        client.execute(
          HttpClientRequest.get(`https://api.openai.com/v1${path}`).pipe(
            HttpClientRequest.setHeaders({ authorization: `Bearer ${BatchApiSimulator.testApiKey}` })
          )
        )
      const download = yield* get(`/files/${file.id}/content`)
      const chunks = yield* Stream.runCollect(download.stream)
      const sizes = chunks.map((c) => c.length)
      assert.isAbove(content.length, 3 * 65_536)
      assert.strictEqual(sizes.length, Math.ceil(content.length / 65_536))
      assert.isTrue(sizes.slice(0, -1).every((size) => size === 65_536))
      // a web Response's body is read once: each way of reading it on an answer of its own
      const again = () => get(`/files/${file.id}/content`)
      assert.strictEqual(decoder.decode(new Uint8Array(yield* (yield* again()).arrayBuffer)), content)
      assert.strictEqual(yield* (yield* again()).text, content)
      const meta = yield* get(`/files/${file.id}`)
      assert.strictEqual(((yield* meta.json) as { id: string }).id, file.id)
      assert.strictEqual(meta.headers["content-type"], "application/json")
      const notJson = yield* Effect.flip((yield* again()).json)
      assert.strictEqual(notJson.reason._tag, "DecodeError")
      yield* simulator.injectFault(BatchApiSimulator.truncatedBody)
      const cut = yield* get(`/files/${file.id}`)
      assert.strictEqual((yield* Effect.flip(cut.json)).reason._tag, "DecodeError")
    }).pipe(Effect.provide(BatchApiSimulator.layer()), fast))
})
