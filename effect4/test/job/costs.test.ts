/**
 * Money, not only tokens: the price table's rules (match, discount, cached input, exact sums), and a job that
 * reports each batch's, part's and its own cost, unpriced models listed with their tokens. On the simulator under
 * TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Ref, Result, Schema } from "effect"
import type * as Batch from "../../src/Batch.js"
import * as BatchLine from "../../src/BatchLine.js"
import * as Machine from "../../src/internal/job/machine.js"
import * as Options from "../../src/internal/job/options.js"
import * as Summary from "../../src/internal/job/summary.js"
import * as Job from "../../src/Job.js"
import * as JobProgress from "../../src/JobProgress.js"
import * as JobReport from "../../src/JobReport.js"
import * as Pricing from "../../src/Pricing.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { drive, embedding, model, poll, processOver, recorder } from "./support.js"

const mini = { input: 0.15, cachedInput: 0.075, output: 0.6 }
const usage = (input_tokens: number, cached_tokens: number, output_tokens: number) => ({
  input_tokens,
  cached_tokens,
  output_tokens
})

describe("Pricing", () => {
  it("matches a model by its exact name, then a dated snapshot by its alias; nothing else", () => {
    const prices = {
      "gpt-4o-mini": mini,
      "gpt-4o": { input: 2.5, output: 10 },
      "gpt-4o-2024-05-13": { input: 5, output: 15 }
    }
    assert.deepStrictEqual(Pricing.match(prices, "gpt-4o-mini"), Option.some("gpt-4o-mini"))
    assert.deepStrictEqual(Pricing.match(prices, "gpt-4o-mini-2024-07-18"), Option.some("gpt-4o-mini"))
    // A snapshot with its own entry keeps its own price.
    assert.deepStrictEqual(Pricing.match(prices, "gpt-4o-2024-05-13"), Option.some("gpt-4o-2024-05-13"))
    assert.deepStrictEqual(Pricing.match(prices, "gpt-4o-2024-08-06"), Option.some("gpt-4o"))
    // No prefix guessing: gpt-4o-mini-tts is not gpt-4o-mini, nor a fine-tune its base model.
    assert.isTrue(Option.isNone(Pricing.match(prices, "gpt-4o-mini-tts")))
    assert.isTrue(Option.isNone(Pricing.match(prices, "ft:gpt-4o-mini-2024-07-18:org::abc")))
    assert.isTrue(Option.isNone(Pricing.match(prices, "gpt-4")))
    // Not the object's inherited keys.
    assert.isTrue(Option.isNone(Pricing.match(prices, "constructor")))
  })

  it("prices uncached input, cached input and output, the batch discount applied", () => {
    const pricing: Pricing.Pricing = { prices: { "gpt-4o-mini": mini } }
    const cost = Option.getOrThrow(Pricing.cost(pricing, "gpt-4o-mini", usage(3_000_000, 1_000_000, 2_000_000)))
    // 2M uncached × 0.15, 1M cached × 0.075, 2M output × 0.6, all at 50%.
    assert.deepStrictEqual(cost, { input: 0.15, cachedInput: 0.0375, output: 0.6, total: 0.7875 })
    const full = Pricing.cost({ ...pricing, batchDiscount: 0 }, "gpt-4o-mini", usage(3_000_000, 1_000_000, 2_000_000))
    assert.strictEqual(Option.getOrThrow(full).total, 1.575)
    // Without a cached price, cached tokens cost the input price (no discount is assumed).
    const noCache = Pricing.cost({ prices: { m: { input: 1, output: 2 } } }, "m", usage(1_000_000, 1_000_000, 0))
    assert.strictEqual(Option.getOrThrow(noCache).cachedInput, 0.5)
    assert.isTrue(Option.isNone(Pricing.cost(pricing, "gpt-4.1", usage(1, 0, 1))))
  })

  it("sums exactly: a million small usages cost what their summed tokens cost, to the cent and below", () => {
    const pricing: Pricing.Pricing = { prices: { "text-embedding-3-small": { input: 0.02, output: 0 } } }
    const one = usage(7, 0, 0)
    const many = Array.from({ length: 1_000_000 }, () => ({ model: "text-embedding-3-small", usage: one }))
    // 7M tokens at $0.02 per 1M, halved: $0.07 exactly.
    assert.strictEqual(Pricing.costOfAll(pricing, many).cost.total, 0.07)
    // The same sum in floating point from each usage's cost drifts away from it.
    const each = Option.getOrThrow(Pricing.cost(pricing, "text-embedding-3-small", one)).total
    let drifting = 0
    for (let i = 0; i < 1_000_000; i++) drifting += each
    assert.notStrictEqual(drifting, 0.07)
  })

  it("lists models without a price once each, and leaves them out of the cost", () => {
    const pricing: Pricing.Pricing = { prices: { "gpt-4o-mini": mini } }
    const { cost, unpriced } = Pricing.costOfAll(pricing, [
      { model: "x", usage: usage(1_000_000, 0, 0) },
      { model: "gpt-4o-mini-2024-07-18", usage: usage(1_000_000, 0, 0) },
      { model: "x", usage: usage(1, 0, 0) },
      { model: "gpt-4o-mini", usage: usage(1_000_000, 0, 0) }
    ])
    assert.deepStrictEqual(unpriced, ["x"])
    assert.strictEqual(cost.total, 0.15)
  })

  it("refuses a negative or missing price and a discount outside [0, 1], naming the field", () => {
    const resolve = (pricing: Pricing.Pricing) =>
      Result.map(Options.resolve("Job.run", { jobId: "j", endpoint: "/v1/embeddings", pricing }), () => "ok")
    const field = (pricing: Pricing.Pricing) =>
      Result.match(resolve(pricing), { onFailure: (e) => e.message, onSuccess: (ok) => ok })
    assert.include(field({ prices: { m: { input: -1, output: 0 } } }), "pricing.prices[m].input")
    assert.include(field({ prices: { m: { input: 1, output: NaN } } }), "pricing.prices[m].output")
    assert.include(field({ prices: {}, batchDiscount: 1.5 }), "pricing.batchDiscount")
    assert.strictEqual(field({ prices: { m: { input: 1, output: 2 } }, batchDiscount: 0.5 }), "ok")
  })

  // The durable entry point is not ported yet: its payload's options are `Options.Serializable`, checked here.
  it("travels in the serializable options a durable job's payload holds", () => {
    const options = {
      jobId: "j",
      endpoint: "/v1/embeddings" as const,
      pricing: { prices: { m: { input: 0.02, output: 0 } }, batchDiscount: 0.25 }
    }
    const decoded = Schema.decodeUnknownSync(Options.Serializable)(Schema.encodeSync(Options.Serializable)(options))
    assert.deepStrictEqual(decoded.pricing, options.pricing)
    assert.throws(() =>
      Schema.decodeUnknownSync(Options.Serializable)({
        ...options,
        pricing: { prices: { m: { input: -1, output: 0 } } }
      })
    )
  })
})

describe("a job's costs", () => {
  it.effect("each batch's, part's and the job's cost; a model without a price listed with its tokens", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const { events, onEvent } = yield* recorder
      const pricing: Pricing.Pricing = { prices: { [model]: { input: 0.02, output: 0 } } }
      const other = "text-embedding-3-large"
      const requests = [
        ...Array.from({ length: 25 }, (_, i) => embedding(i)),
        ...Array.from({ length: 5 }, (_, i) => BatchLine.embedding(`large-${i}`, { model: other, input: `text ${i}` }))
      ]
      const summary = yield* drive(
        Job.run(requests, {
          jobId: "costs",
          endpoint: "/v1/embeddings",
          plan: { maxRequestsPerPart: 10 },
          policy: { poll },
          pricing,
          onEvent
        }).pipe(Effect.provide(processOver(simulator)))
      )
      const priced = summary.parts.filter((part) => part.model === model)
      const unpriced = summary.parts.filter((part) => part.model === other)
      assert.strictEqual(priced.length, 3)
      assert.strictEqual(unpriced.length, 1)
      for (const part of priced) {
        assert.isAbove(part.usage.input_tokens, 0)
        assert.deepStrictEqual(part.cost, Option.getOrThrow(Pricing.cost(pricing, model, part.usage)))
      }
      // No cost is guessed for the model without a price: it is listed with its tokens.
      assert.isUndefined(unpriced[0]!.cost)
      assert.deepStrictEqual(summary.unpriced, [{ model: other, usage: unpriced[0]!.usage }])
      const tokens = priced.reduce((n, part) => n + part.usage.input_tokens, 0)
      // $0.02 per 1M tokens is 20,000 picodollars a token, halved: one division of a whole number.
      assert.strictEqual(summary.cost?.total, (tokens * 10_000) / 1e12)
      // Each priced batch tells its cost when it ends; the unpriced one tells none.
      const ended = (yield* Ref.get(events)).flatMap((e) => e._tag === "PartEnded" ? [e] : [])
      assert.strictEqual(ended.length, 4)
      for (const e of ended) {
        const part = summary.parts.find((p) => p.part === e.part)!
        assert.deepStrictEqual(e.cost, part.model === model ? part.cost : undefined)
      }
      // The summary still encodes (a durable job's result).
      assert.deepStrictEqual(
        Schema.decodeUnknownSync(JobReport.JobSummary)(Schema.encodeSync(JobReport.JobSummary)(summary)),
        summary
      )
    }))

  it.effect("without a price table, a job reports tokens only", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const summary = yield* drive(
        Job.run(Array.from({ length: 5 }, (_, i) => embedding(i)), {
          jobId: "no-costs",
          endpoint: "/v1/embeddings",
          policy: { poll }
        }).pipe(Effect.provide(processOver(simulator)))
      )
      assert.isAbove(summary.usage.input_tokens, 0)
      assert.isUndefined(summary.cost)
      assert.isUndefined(summary.unpriced)
      assert.isUndefined(summary.parts[0]!.cost)
    }))
})

/** A completed batch, as the API shows one that reported no usage. */
const endedBatch: Batch.Batch = {
  id: "b",
  object: "batch",
  endpoint: "/v1/embeddings",
  input_file_id: "file-1",
  completion_window: "24h",
  status: "completed",
  created_at: 0
}

describe("a batch without usage", () => {
  it("has no cost (unknown, not $0), where a batch with usage is priced", () => {
    const pricing: Pricing.Pricing = { prices: { m: { input: 1, output: 2 } } }
    assert.isUndefined(Summary.batchCost(pricing, "m", endedBatch))
    const used: Batch.Batch = {
      ...endedBatch,
      usage: {
        input_tokens: 1_000_000,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 0,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 1_000_000
      }
    }
    assert.strictEqual(Summary.batchCost(pricing, "m", used)?.total, 0.5)
  })

  // A batch created before September 7, 2025 (or by a deployment that does not report usage) ran its requests and
  // billed them, but its `usage` is absent: its part's tokens are unknown, and $0 would be a wrong figure.
  it("that ran requests leaves its part without a cost, and the job's cost without that part, counted", () => {
    const pricing: Pricing.Pricing = { prices: { m: { input: 1, output: 2 } } }
    const part = (index: number, ended: Batch.Batch) => {
      const info: Machine.PartInfo = { index, model: "m", requests: 10, tokens: 100, digest: `d${index}` }
      let [state] = Machine.start(info, [], { maxResends: 0, maxFollowUps: 0 })
      ;[state] = Machine.step(state, { _tag: "Uploaded", fileId: "f", requests: 10, tokens: 100 })
      ;[state] = Machine.step(state, { _tag: "Created", batch: { ...ended, status: "in_progress" } })
      ;[state] = Machine.step(state, { _tag: "Ended", batch: ended })
      const [, decision] = Machine.step(state, { _tag: "Delivered", counts: { succeeded: 10, failed: 0, errored: 0 } })
      assert.strictEqual(decision._tag, "Done")
      return Summary.withCost(pricing, decision._tag === "Done" ? decision.summary : Machine.summary(state))
    }
    const counts = { total: 10, completed: 10, failed: 0 }
    const metered = part(1, {
      ...endedBatch,
      id: "b1",
      request_counts: counts,
      usage: {
        input_tokens: 1_000_000,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 0,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 1_000_000
      }
    })
    const unmetered = part(2, { ...endedBatch, id: "b2", request_counts: counts })
    assert.strictEqual(metered.cost?.total, 0.5)
    assert.isUndefined(metered.usageUnreported)
    // Not priced $0: no cost, and the batch that did not report is counted.
    assert.isUndefined(unmetered.cost)
    assert.strictEqual(unmetered.usageUnreported, 1)
    const summary = Summary.summarize("j", [metered, unmetered], pricing)
    assert.strictEqual(summary.cost?.total, 0.5)
    assert.strictEqual(summary.usageUnreported, 1)
    // A batch that failed before running ran nothing: no usage, and nothing unknown.
    const rejected = Machine.step(
      Machine.start({ index: 3, model: "m", requests: 10, tokens: 100, digest: "d3" }, [], {
        maxResends: 0,
        maxFollowUps: 0
      })[0],
      { _tag: "Uploaded", fileId: "f", requests: 10, tokens: 100 }
    )[0]
    const created = Machine.step(rejected, { _tag: "Created", batch: { ...endedBatch, status: "validating" } })[0]
    const failed = Machine.step(created, {
      _tag: "Ended",
      batch: { ...endedBatch, status: "failed", request_counts: { total: 0, completed: 0, failed: 0 } }
    })[1]
    assert.isTrue(failed._tag === "Fail" && failed.summary.usageUnreported === undefined)
    // The view says so at the end.
    const done = JobProgress.update(JobProgress.initial, JobReport.JobEvent.JobDone({ summary }), 0)
    assert.include(JobProgress.render(done, 0).join("\n"), "1 batch reported no usage")
  })
})

describe("the progress view's cost", () => {
  const batch = endedBatch
  const cost = (total: number) => ({ input: total, cachedInput: 0, output: 0, total })

  it("shows the running cost of the batches that ended, then the job's and the models without a price", () => {
    const planned = JobReport.JobEvent.PartPlanned({ part: 1, model: "m", requests: 10, tokens: 100 })
    let state = JobProgress.update(JobProgress.initial, planned, 0)
    assert.isFalse(JobProgress.render(state, 0).some((line) => line.includes("cost")))
    state = JobProgress.update(state, JobReport.JobEvent.PartEnded({ part: 1, attempt: 1, batch, cost: cost(1.5) }), 1)
    state = JobProgress.update(state, JobReport.JobEvent.PartEnded({ part: 1, attempt: 2, batch, cost: cost(0.25) }), 2)
    assert.strictEqual(state.cost, 1.75)
    // In the first line: the one a log gets every interval.
    assert.include(JobProgress.render(state, 2)[0], "cost $1.75 so far")
    const small = JobProgress.update(
      JobProgress.initial,
      JobReport.JobEvent.PartEnded({ part: 1, attempt: 1, batch, cost: cost(0.0123) }),
      0
    )
    assert.include(JobProgress.render(small, 0)[0], "cost $0.0123 so far")
    const usage = { input_tokens: 7, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 7 }
    const done = JobProgress.update(
      state,
      JobReport.JobEvent.JobDone({
        summary: {
          jobId: "j",
          parts: [],
          requests: 10,
          succeeded: 10,
          failed: 0,
          errored: 0,
          missing: 0,
          batches: 3,
          resends: 0,
          followUps: 0,
          usage,
          cost: cost(2),
          unpriced: [{ model: "x", usage }]
        }
      }),
      4
    )
    const [head, unpriced] = JobProgress.render(done, 4)
    assert.include(head, "cost $2.00, done")
    assert.strictEqual(unpriced, "  no price for x (tokens in the summary)")
  })
})
