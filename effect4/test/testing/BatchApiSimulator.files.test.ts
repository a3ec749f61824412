import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, type Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { TestClock } from "effect/testing"
import { readFileSync } from "node:fs"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"
import { chatLine, jsonl, multipart, send, start } from "./support.js"

/** Waits run on FastTestClock: Effect 4's TestClock.adjust leaves a forked wait at its first poll. */
const fast = Effect.provide(FastTestClock.layer)

const auth = { authorization: `Bearer ${BatchApiSimulator.testApiKey}` }
const base = "https://api.openai.com/v1"
const decoder = new TextDecoder()

const run = <A, E>(
  effect: Effect.Effect<A, E, BatchApi.BatchApi | BatchApiSimulator.BatchApiSimulator | HttpClient.HttpClient>,
  options: BatchApiSimulator.Options = {}
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* effect
  }).pipe(
    Effect.provide(BatchApiSimulator.layerBatchApi(options)),
    fast,
    Effect.provide(BatchApiSimulator.layer(options)),
    fast
  )

/** Creates a batch from `lines` through the library and waits it out. */
const runBatch = (
  content: string,
  endpoint: "/v1/chat/completions" | "/v1/embeddings" | "/v1/responses" = "/v1/chat/completions"
) =>
  Effect.gen(function*() {
    const simulator = yield* BatchApiSimulator.BatchApiSimulator
    const file = yield* simulator.putFile({ content })
    const batch = yield* BatchApi.createBatch({ input_file_id: file.id, endpoint, completion_window: "24h" })
    const fiber = yield* Effect.forkChild(
      BatchWait.awaitBatch(batch.id, { schedule: BatchSchedule.every("10 minutes") })
    )
    yield* TestClock.adjust("26 hours")
    return yield* Fiber.join(fiber)
  })

const fileLines = (fileId: string | undefined) =>
  Effect.gen(function*() {
    const simulator = yield* BatchApiSimulator.BatchApiSimulator
    assert.isDefined(fileId)
    const file = Option.getOrThrow(yield* simulator.file(fileId!))
    assert.strictEqual(file.purpose, "batch_output")
    return decoder.decode(file.content).split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line))
  })

describe("BatchApiSimulator files", () => {
  it.effect("upload (multipart through HttpClient FormData), retrieve, content, delete", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const client = yield* HttpClient.HttpClient
      const content = jsonl([chatLine("a"), chatLine("b")])
      const form = new FormData()
      form.append("purpose", "batch")
      form.append("file", new Blob([content]), "requests.jsonl")
      const uploaded = yield* client.execute(
        HttpClientRequest.post(`${base}/files`).pipe(
          HttpClientRequest.setHeaders(auth),
          HttpClientRequest.bodyFormData(form)
        )
      )
      assert.strictEqual(uploaded.status, 200)
      const file = (yield* uploaded.json) as { readonly [key: string]: Schema.Json }
      const fixture = JSON.parse(
        readFileSync(new URL("../../../fixtures/createFile.response.json", import.meta.url), "utf8")
      )
      assert.includeMembers(Object.keys(file), Object.keys(fixture))
      assert.strictEqual(file["object"], "file")
      assert.strictEqual(file["purpose"], "batch")
      assert.strictEqual(file["filename"], "requests.jsonl")
      assert.strictEqual(file["bytes"], new TextEncoder().encode(content).length)
      assert.strictEqual(file["created_at"], start / 1000)
      assert.strictEqual(file["expires_at"], start / 1000 + 30 * 86_400)
      const id = String(file["id"])
      const retrieved = yield* client.execute(
        HttpClientRequest.get(`${base}/files/${id}`).pipe(HttpClientRequest.setHeaders(auth))
      )
      assert.deepStrictEqual(yield* retrieved.json, file)
      const download = yield* client.execute(
        HttpClientRequest.get(`${base}/files/${id}/content`).pipe(HttpClientRequest.setHeaders(auth))
      )
      assert.strictEqual(download.headers["content-type"], "application/octet-stream")
      assert.strictEqual(yield* download.text, content)
      const deleted = yield* client.execute(
        HttpClientRequest.delete(`${base}/files/${id}`).pipe(HttpClientRequest.setHeaders(auth))
      )
      assert.deepStrictEqual(yield* deleted.json, { id, object: "file", deleted: true })
      const gone = yield* client.execute(
        HttpClientRequest.get(`${base}/files/${id}`).pipe(HttpClientRequest.setHeaders(auth))
      )
      assert.strictEqual(gone.status, 404)
      const log = yield* (yield* BatchApiSimulator.BatchApiSimulator).requests
      assert.deepStrictEqual(log[0]!.body, {
        purpose: "batch",
        file: { filename: "requests.jsonl", bytes: file["bytes"] }
      })
    }).pipe(Effect.provide(BatchApiSimulator.layer()), fast))

  it.effect("upload validation: purpose, file, .jsonl for batch, expires_after", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const simulator = yield* BatchApiSimulator.make()
      const upload = (fields: Parameters<typeof multipart>[0]) =>
        send(simulator, "POST", "/v1/files", multipart(fields))
      const file = { filename: "in.jsonl", content: jsonl([chatLine("a")]) }
      const cases: ReadonlyArray<readonly [Parameters<typeof multipart>[0], string]> = [
        [{ file }, "purpose"],
        [{ purpose: "bogus", file }, "purpose"],
        [{ purpose: "batch" }, "file"],
        [{ purpose: "batch", file: { filename: "in.csv", content: "a,b" } }, "file"],
        [
          { purpose: "batch", file, "expires_after[anchor]": "created_at", "expires_after[seconds]": "10" },
          "expires_after.seconds"
        ]
      ]
      for (const [fields, param] of cases) {
        const answer = yield* upload(fields)
        assert.strictEqual(answer.status, 400, param)
        assert.strictEqual(answer.json.error.param, param)
      }
      const ok = yield* upload({
        purpose: "batch",
        file,
        "expires_after[anchor]": "created_at",
        "expires_after[seconds]": "7200"
      })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(ok.json.expires_at, start / 1000 + 7200)
      const notMultipart = yield* send(simulator, "POST", "/v1/files", { body: { purpose: "batch" } })
      assert.strictEqual(notMultipart.status, 400)
    }))

  it.effect("list: 400s naming param for a bad order, limit or cursor, as the API answers them", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      yield* simulator.putFile({ content: jsonl([chatLine("a")]) })
      const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
        [{ order: "newest" }, "order"],
        [{ limit: "0" }, "limit"],
        [{ limit: "10001" }, "limit"],
        [{ limit: "ten" }, "limit"],
        [{ after: "file-missing" }, "after"]
      ]
      for (const [query, param] of cases) {
        const answer = yield* send(simulator, "GET", "/v1/files", { query })
        assert.strictEqual(answer.status, 400, param)
        assert.strictEqual(answer.json.error.param, param)
      }
      const ok = yield* send(simulator, "GET", "/v1/files", { query: { limit: "10000", order: "asc" } })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(ok.json.data.length, 1)
    }))

  it.effect("a batch from an uploaded file: lines counted, output and error files in the official line format", () =>
    run(Effect.gen(function*() {
      const batch = yield* runBatch(jsonl([chatLine("r1"), chatLine("r2"), chatLine("no-model", null), chatLine("r3")]))
      assert.strictEqual(batch.status, "completed")
      assert.deepStrictEqual({ ...batch.request_counts }, { total: 4, completed: 3, failed: 1 })
      assert.strictEqual(batch.model, "gpt-4o-mini")
      const output = yield* fileLines(batch.output_file_id)
      assert.deepStrictEqual(output.map((line) => line.custom_id), ["r1", "r2", "r3"])
      for (const line of output) {
        assert.deepStrictEqual(Object.keys(line), ["id", "custom_id", "response", "error"])
        assert.match(line.id, /^batch_req_/)
        assert.strictEqual(line.response.status_code, 200)
        assert.match(line.response.request_id, /^req_/)
        assert.strictEqual(line.response.body.object, "chat.completion")
        assert.strictEqual(line.error, null)
      }
      const errors = yield* fileLines(batch.error_file_id)
      assert.strictEqual(errors.length, 1)
      assert.strictEqual(errors[0].custom_id, "no-model")
      assert.strictEqual(errors[0].response.status_code, 400)
      assert.strictEqual(errors[0].response.body.error.type, "invalid_request_error")
    })))

  it.effect("invalid lines and a url other than the endpoint fail the batch in validating, with errors by line", () =>
    run(Effect.gen(function*() {
      const content = [
        JSON.stringify(chatLine("ok")),
        "{not json",
        JSON.stringify({ ...chatLine("wrong-url"), url: "/v1/embeddings" }),
        JSON.stringify(chatLine("ok")),
        ""
      ].join("\n")
      const batch = yield* runBatch(content)
      assert.strictEqual(batch.status, "failed")
      assert.strictEqual(batch.failed_at, start / 1000 + 30)
      assert.isUndefined(batch.in_progress_at)
      assert.deepStrictEqual(
        batch.errors?.data?.map((e) => [e.code, e.line]),
        [["invalid_json_line", 2], ["mismatched_endpoint", 3], ["duplicate_custom_id", 4]]
      )
      const error = yield* Effect.flip(BatchWait.requireCompleted(batch))
      assert.strictEqual(error._tag, "BatchFailedError")
      assert.isUndefined(batch.output_file_id)
    })))

  it.effect("cancel mid-way: a PARTIAL output file with the lines done by then", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const file = yield* simulator.putFile({ content: jsonl(Array.from({ length: 10 }, (_, i) => chatLine(`r${i}`))) })
      const { id } = yield* BatchApi.createBatch({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h"
      })
      yield* TestClock.adjust("180 seconds") // 150 s of a 300 s in_progress: 5 of 10
      yield* BatchApi.cancelBatch(id)
      yield* TestClock.adjust("10 minutes")
      const batch = yield* BatchApi.retrieveBatch(id)
      assert.strictEqual(batch.status, "cancelled")
      assert.deepStrictEqual({ ...batch.request_counts }, { total: 10, completed: 5, failed: 0 })
      const output = yield* fileLines(batch.output_file_id)
      assert.deepStrictEqual(output.map((line) => line.custom_id), ["r0", "r1", "r2", "r3", "r4"])
      assert.isUndefined(batch.error_file_id)
      // the file ids are stable once terminal
      assert.strictEqual((yield* BatchApi.retrieveBatch(id)).output_file_id, batch.output_file_id)
    })))

  it.effect("expiry: a PARTIAL output file, and a batch_expired error line for each request that never ran", () =>
    run(
      Effect.gen(function*() {
        const batch = yield* runBatch(jsonl(Array.from({ length: 8 }, (_, i) => chatLine(`r${i}`))))
        assert.strictEqual(batch.status, "expired")
        assert.strictEqual(batch.request_counts?.completed, 4)
        assert.deepStrictEqual((yield* fileLines(batch.output_file_id)).map((line) => line.custom_id), [
          "r0",
          "r1",
          "r2",
          "r3"
        ])
        const notRun = yield* fileLines(batch.error_file_id)
        assert.deepStrictEqual(notRun.map((line) => [line.custom_id, line.response, line.error.code]), [
          ["r4", null, "batch_expired"],
          ["r5", null, "batch_expired"],
          ["r6", null, "batch_expired"],
          ["r7", null, "batch_expired"]
        ])
        assert.isTrue(notRun.every((line) => typeof line.id === "string" && line.id.startsWith("batch_req_")))
      }),
      { script: { outcome: "expired" } }
    ))

  it.effect("every request failed: output_file_id null and an error file; the responder decides each line", () =>
    run(
      Effect.gen(function*() {
        const batch = yield* runBatch(jsonl([chatLine("a"), chatLine("b")]))
        assert.strictEqual(batch.status, "completed")
        assert.isUndefined(batch.output_file_id)
        assert.deepStrictEqual({ ...batch.request_counts }, { total: 2, completed: 0, failed: 2 })
        const errors = yield* fileLines(batch.error_file_id)
        assert.deepStrictEqual(errors.map((line) => [line.custom_id, line.response, line.error.code]), [
          ["a", null, "quota_exceeded"],
          ["b", null, "quota_exceeded"]
        ])
      }),
      { responder: () => ({ error: { code: "quota_exceeded", message: "out of tokens" } }) }
    ))

  it.effect("default responder: deterministic embeddings and response objects", () =>
    run(Effect.gen(function*() {
      const embed = (id: string) => ({
        custom_id: id,
        method: "POST",
        url: "/v1/embeddings",
        body: { model: "text-embedding-3-small", input: "same text" }
      })
      const batch = yield* runBatch(jsonl([embed("e1"), embed("e2")]), "/v1/embeddings")
      const [e1, e2] = yield* fileLines(batch.output_file_id)
      const vector: ReadonlyArray<number> = e1.response.body.data[0].embedding
      assert.strictEqual(vector.length, 8)
      assert.closeTo(Math.hypot(...vector), 1, 1e-5)
      assert.deepStrictEqual(vector, e2.response.body.data[0].embedding)
      const responses = yield* runBatch(
        jsonl([{ custom_id: "x", method: "POST", url: "/v1/responses", body: { model: "gpt-4.1", input: "hi" } }]),
        "/v1/responses"
      )
      const [line] = yield* fileLines(responses.output_file_id)
      assert.strictEqual(line.response.body.object, "response")
      assert.strictEqual(line.response.body.output[0].content[0].type, "output_text")
    })))
})
