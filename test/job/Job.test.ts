import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Ref, TestClock } from "effect"
import * as BatchLine from "../../src/BatchLine.js"
import * as Job from "../../src/Job.js"
import * as JobReport from "../../src/JobReport.js"
import * as JobSink from "../../src/JobSink.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"

const embedding = (i: number) =>
  BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input: `document number ${i} `.repeat(3) })

const Env = Layer.merge(BatchApiSimulator.layerBatchApi(), MemoryFileSystem.layer)

/** Runs `effect` under TestClock, moving time `step` at a time until it ends. */
const drive = <A, E, R>(effect: Effect.Effect<A, E, R>, step: Duration.DurationInput = "5 minutes", maxSteps = 2000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < maxSteps; i++) {
      const done = yield* Fiber.poll(fiber)
      if (done._tag === "Some") break
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

describe("Job.run", () => {
  it.effect("splits, admits under the budget, delivers every result once, and sums it up", () =>
    Effect.gen(function*() {
      const requests = Array.from({ length: 95 }, (_, i) => embedding(i))
      const events = yield* Ref.make<ReadonlyArray<JobReport.JobEvent>>([])
      const delivered = yield* Ref.make<ReadonlyArray<string>>([])
      const summary = yield* drive(Job.run(requests, {
        jobId: "job-1",
        endpoint: "/v1/embeddings",
        maxRequestsPerPart: 20,
        onEvent: (event) => Ref.update(events, (all) => [...all, event]),
        sink: JobSink.forEach((result) => Ref.update(delivered, (all) => [...all, result.custom_id]))
      }))
      assert.strictEqual(summary.parts.length, 5)
      assert.strictEqual(summary.requests, 95)
      assert.strictEqual(summary.succeeded, 95)
      assert.strictEqual(summary.missing, 0)
      const ids = yield* Ref.get(delivered)
      assert.strictEqual(ids.length, 95)
      assert.strictEqual(new Set(ids).size, 95)
      const tags = (yield* Ref.get(events)).map((e) => e._tag)
      assert.strictEqual(tags.filter((t) => t === "PartCreated").length, 5)
      assert.strictEqual(tags.at(-1), "JobDone")
    }).pipe(Effect.provide(Env)))
})
