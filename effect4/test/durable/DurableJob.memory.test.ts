/**
 * DurableJob on the memory engine (ported from the root's test/durable/DurableJob.memory.test.ts), on
 * `FastTestClock` (see ../support/webCrypto.ts): the job's four parts must be enqueued together for the API to fail two of
 * them on its limit, however late the workflow's digests answer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, identity, Layer, Ref } from "effect"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import * as DurableJob from "../../src/durable/DurableJob.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { drive, embedding, model, poll, processOver, recorder } from "../job/support.js"
import { fast, lateWebCrypto } from "../support/webCrypto.js"

/**
 * The digests' lateness in event-loop turns: 0 is the real Web Crypto; 35 and 36 are the two that split the first
 * step when `drive` let the fibers run a fixed 40 turns before each move of TestClock (it failed on both, and passed on
 * every other from 20 to 59; other counts of turns would need other latenesses).
 */
const lateness = [0, 35, 36]

describe("DurableJob on the memory engine", () => {
  it.effect.each(lateness)(
    "runs a job as a workflow: parts, late limit re-sends, every result once; a second run returns the stored summary (digests %i turns late)",
    (turns) =>
      Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.make({ enqueuedTokenLimit: 200 })
        const { delivered, onEvent, sink } = yield* recorder
        const env = Layer.provideMerge(
          DurableJob.layer({ sink, onEvent, poll }),
          Layer.merge(processOver(simulator), WorkflowEngine.layerMemory)
        )
        const summary = yield* Effect.gen(function*() {
          const fs = yield* Effect.service(FileSystem.FileSystem)
          yield* fs.writeFileString(
            "/input.jsonl",
            Array.from({ length: 40 }, (_, i) => JSON.stringify(embedding(i))).join("\n") + "\n"
          )
          const payload = {
            jobId: "durable-1",
            input: "/input.jsonl",
            endpoint: "/v1/embeddings",
            plan: { maxRequestsPerPart: 10, workDir: "/work" },
            // Plain data: the prices travel in the payload, and the stored summary carries the costs.
            pricing: { prices: { [model]: { input: 0.02, output: 0 } } }
          } as const
          const first = yield* drive(DurableJob.run(payload))
          const again = yield* DurableJob.run(payload)
          assert.deepStrictEqual(again, first)
          return first
        }).pipe(Effect.provide(env))
        assert.strictEqual(summary.parts.length, 4)
        assert.strictEqual(summary.succeeded, 40)
        assert.isAtLeast(summary.resends, 2)
        assert.strictEqual((yield* Ref.get(delivered)).size, 40)
        const tokens = summary.parts.reduce((n, part) => n + part.usage.input_tokens, 0)
        assert.isAbove(tokens, 0)
        // $0.02 per 1M tokens is 20,000 picodollars a token, halved: one division of a whole number.
        assert.strictEqual(summary.cost?.total, (tokens * 10_000) / 1e12)
        assert.isTrue(summary.parts.every((part) => part.cost !== undefined))
        assert.deepStrictEqual(summary.unpriced, [])
      }).pipe(fast, turns === 0 ? identity : lateWebCrypto(turns))
  )
})
