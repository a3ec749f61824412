/**
 * Issue 16's job features over real HTTP, against the simulator's server on 127.0.0.1 and `UndiciTransport`: an
 * embeddings job split by inputs (50,000 per batch, an input array counting each item), its parts sent through the
 * Uploads API above `policy.uploadsApiAbove`, and its cost priced from the table the job was given, per part and in
 * all, equal to the tokens the batches billed at the batch price.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as BatchLine from "../../src/BatchLine.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as Job from "../../src/Job.js"
import * as Pricing from "../../src/Pricing.js"
import * as Server from "../../src/testing/server.js"
import { httpProcessOver } from "../job/support.js"

const model = "text-embedding-3-small"
const pricing: Pricing.Pricing = { prices: { [model]: { input: 0.02, output: 0 } } }

/** 120 lines of 500 inputs each: 60,000 inputs, over one batch's 50,000. */
const requests = Array.from(
  { length: 120 },
  (_, i) => BatchLine.embedding(`doc-${i}`, { model, input: Array.from({ length: 500 }, (_, j) => `text ${i}.${j}`) })
)

describe("a job over real HTTP", () => {
  it.scopedLive(
    "split by inputs, uploaded through the Uploads API, priced from the table it was given",
    () =>
      Effect.gen(function*() {
        const server = yield* Server.make({ speed: 1000 })
        const client = httpProcessOver(server)
        const summary = yield* Job.run(requests, {
          jobId: "http-features",
          endpoint: "/v1/embeddings",
          pricing,
          policy: { poll: BatchSchedule.every("20 millis"), uploadsApiAbove: 1 }
        }).pipe(Effect.provide(client))

        assert.strictEqual(summary.succeeded, 120)
        // 100 lines (50,000 inputs) and 20: cut by inputs, not by the 50,000-line limit.
        assert.deepStrictEqual(summary.parts.map((p) => p.requests).sort((a, b) => a - b), [20, 100])
        const sent = yield* server.simulator.requests
        const posts = (path: RegExp) => sent.filter((r) => r.method === "POST" && path.test(r.path)).length
        assert.strictEqual(posts(/^\/v1\/files$/), 0, "no part sent as one Files request")
        assert.strictEqual(posts(/^\/v1\/uploads$/), 2)
        assert.strictEqual(posts(/^\/v1\/uploads\/[^/]+\/complete$/), 2)
        // Every failed batch would show in the summary; none did (the simulator fails one over 50,000 inputs).
        assert.strictEqual(summary.batches, 2)
        // The cost: the tokens billed, priced once, at half the table's price.
        const tokens = summary.usage.input_tokens
        assert.isAbove(tokens, 0)
        const expected = Pricing.costAt(pricing.prices[model]!, {
          input_tokens: tokens,
          cached_tokens: 0,
          output_tokens: 0
        })
        assert.deepStrictEqual(summary.cost, expected)
        assert.strictEqual(summary.cost?.total, (tokens * 0.02) / 1e6 / 2)
        for (const part of summary.parts) {
          const own = Pricing.cost(pricing, model, part.usage)
          assert.deepStrictEqual(part.cost, Option.getOrUndefined(own))
        }
        assert.deepStrictEqual(summary.unpriced ?? [], [])
      }),
    60_000
  )
})
