/**
 * A batch at the API's maximum size, end to end through the library: a regression to per-line quadratic work in
 * the simulator (or a per-request copy of its state) would make this test time out.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"
import { start } from "./support.js"

/** Waits run on FastTestClock: Effect 4's TestClock.adjust leaves a forked wait at its first poll. */
const fast = Effect.provide(FastTestClock.layer)

const lines = 50_000
const decoder = new TextDecoder()

describe("BatchApiSimulator at scale", () => {
  it.effect(`a ${lines.toLocaleString("en")}-line batch: upload, run, output and error files downloaded by the library`, () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      let content = ""
      for (let i = 0; i < lines; i++) {
        content += JSON.stringify({
          custom_id: `r${i}`,
          method: "POST",
          url: "/v1/embeddings",
          // every 100th line has no model: the API's 400, in the error file
          body: i % 100 === 99 ? { input: `text ${i}` } : { model: "text-embedding-3-small", input: `text ${i}` }
        }) + "\n"
      }
      const file = yield* OpenAiFiles.uploadFile({ file: content, filename: "big.jsonl", purpose: "batch" })
      const created = yield* BatchApi.createBatch({
        input_file_id: file.id,
        endpoint: "/v1/embeddings",
        completion_window: "24h"
      })
      const fiber = yield* Effect.forkChild(
        BatchWait.awaitBatch(created.id, { schedule: BatchSchedule.every("1 minute") })
      )
      yield* TestClock.adjust("10 minutes")
      const batch = yield* Fiber.join(fiber)
      assert.deepStrictEqual({ ...batch.request_counts }, { total: lines, completed: lines - 500, failed: 500 })
      // downloaded by the library as a socket delivers it: in chunks, not one 2.6 MB piece
      const newlines = (chunk: Uint8Array) => {
        let n = 0
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++
        return n
      }
      const download = (fileId: string | undefined) =>
        OpenAiFiles.downloadFile(fileId ?? "").pipe(
          Stream.runFold(() => ({ chunks: 0, lines: 0, last: new Uint8Array(0) as Uint8Array }), (acc, chunk) => ({
            chunks: acc.chunks + 1,
            lines: acc.lines + newlines(chunk),
            last: chunk
          })),
          Effect.map(({ chunks, last, lines }) => ({
            chunks,
            lines,
            lastLine: decoder.decode(last).trim().split("\n").pop()
          }))
        )
      const output = yield* download(batch.output_file_id)
      const errors = yield* download(batch.error_file_id)
      assert.deepStrictEqual([output.lines, errors.lines], [lines - 500, 500])
      assert.isAbove(output.chunks, 30)
      assert.strictEqual(JSON.parse(output.lastLine ?? "").custom_id, `r${lines - 2}`)
      assert.strictEqual(JSON.parse(errors.lastLine ?? "").response.status_code, 400)
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ logRequests: false })), fast))
})
