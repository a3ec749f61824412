/**
 * Two rules of the real API the simulator follows: an embeddings batch holds at most 50,000 embedding inputs across
 * its requests (an input array counts each item), and an ended batch without an error file may show
 * `error_file_id: ""` (opt-in: `absentErrorFileId: ""`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { jsonl, send, start } from "./support.js"

const embedding = (id: string, input: unknown) => ({
  custom_id: id,
  method: "POST",
  url: "/v1/embeddings",
  body: { model: "text-embedding-3-small", input }
})

const strings = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`)

/** Creates an embeddings batch from `lines` and reads it after its validation. */
const validated = (simulator: BatchApiSimulator.Simulator, lines: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const file = yield* simulator.putFile({ content: jsonl(lines) })
    const body = { input_file_id: file.id, endpoint: "/v1/embeddings", completion_window: "24h" }
    const created = yield* send(simulator, "POST", "/v1/batches", { body })
    yield* TestClock.adjust("31 seconds")
    return (yield* send(simulator, "GET", `/v1/batches/${created.json.id}`)).json
  })

describe("BatchApiSimulator input rules", () => {
  it.effect("an embeddings batch over 50,000 inputs fails in validation; input arrays count each item", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      // a responder that does not compute 50,000 embeddings
      const simulator = yield* BatchApiSimulator.make({ responder: () => ({ status_code: 200, body: {} }) })
      // 30,000 + 20,000 strings, plus one tokenized input (an array of token ids counts one): 50,001
      const over = yield* validated(simulator, [
        embedding("a", strings(30_000)),
        embedding("b", strings(20_000)),
        embedding("c", [101, 2023, 102])
      ])
      assert.strictEqual(over.status, "failed")
      assert.strictEqual(over.errors.data[0].code, "too_many_embedding_inputs")
      assert.match(over.errors.data[0].message, /50001 embedding inputs/)
      // exactly 50,000, as strings and token arrays (an array of arrays counts each inner array)
      const atCap = yield* validated(simulator, [
        embedding("a", strings(49_997)),
        embedding("b", [[1, 2], [3]]),
        embedding("c", "one")
      ])
      assert.strictEqual(atCap.status, "in_progress")
      // the rule is the embeddings endpoint's: a chat batch of 3 requests is not counted by inputs
      const chat = yield* simulator.putFile({
        content: jsonl([{
          custom_id: "x",
          method: "POST",
          url: "/v1/chat/completions",
          body: { model: "m", input: strings(60_000) }
        }])
      })
      const created = yield* send(simulator, "POST", "/v1/batches", {
        body: { input_file_id: chat.id, endpoint: "/v1/chat/completions", completion_window: "24h" }
      })
      yield* TestClock.adjust("31 seconds")
      assert.strictEqual((yield* send(simulator, "GET", `/v1/batches/${created.json.id}`)).json.status, "in_progress")
    }))

  it.effect("absentErrorFileId: \"\" shows an ended batch without an error file as error_file_id: \"\"", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      for (const [option, expected] of [[undefined, null], ["", ""]] as const) {
        const simulator = yield* BatchApiSimulator.make(option === undefined ? {} : { absentErrorFileId: option })
        const batch = yield* validated(simulator, [embedding("a", "x")])
        assert.isNull(batch.error_file_id, "no error file while it runs")
        yield* TestClock.adjust("1 hour")
        const done = (yield* send(simulator, "GET", `/v1/batches/${batch.id}`)).json
        assert.strictEqual(done.status, "completed")
        assert.isString(done.output_file_id)
        assert.strictEqual(done.error_file_id, expected)
      }
    }))
})
