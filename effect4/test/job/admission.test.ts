/**
 * Admission under a limit the job does not know: the organisation's enqueued limit shared with other jobs and
 * programs, or smaller than the budget the job was given. On the simulator (which fails batches late on the limit,
 * as the API does) under TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import * as Job from "../../src/Job.js"
import type * as JobReport from "../../src/JobReport.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { drive, embedding, poll, processOver, recorder } from "./support.js"

const endpoint = "/v1/embeddings" as const

/** Late limit failures among a job's batches. */
const limitFailures = (summary: JobReport.JobSummary) =>
  summary.parts.flatMap((p) => p.attempts).filter((a) => a.errorCode === "token_limit_exceeded").length

/**
 * Checks that every re-send was created only after room was freed by a batch of the model that ended after running
 * (or, with nothing in flight, after the backoff): never right after another batch's failure.
 */
const assertResendsWaitForCompletions = (events: ReadonlyArray<JobReport.JobEvent>) => {
  let completed = 0
  const inFlight = new Set<string>()
  const failedAt = new Map<number, { readonly completed: number; readonly inFlight: number }>()
  let resends = 0
  for (const event of events) {
    if (event._tag === "PartCreated") {
      if (failedAt.has(event.part)) {
        const at = failedAt.get(event.part)!
        failedAt.delete(event.part)
        resends++
        assert.isTrue(
          completed > at.completed || at.inFlight === 0,
          `part ${event.part}'s re-send was created with no completion since its failure`
        )
      }
      inFlight.add(event.batch.id)
    }
    if (event._tag === "PartEnded") {
      inFlight.delete(event.batch.id)
      if (event.batch.status === "completed") completed++
      if (event.batch.errors?.data?.[0]?.code === "token_limit_exceeded") {
        failedAt.set(event.part, { completed, inFlight: inFlight.size })
      }
    }
  }
  return resends
}

describe("admission under a shared, unknown limit", () => {
  it.effect("two jobs in one program, each given the whole limit, share the ledger: both complete, none fails late", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ enqueuedTokenLimit: 400 })
      const run = (jobId: string, from: number) =>
        drive(
          Job.run(Array.from({ length: 40 }, (_, i) => embedding(from + i)), {
            jobId,
            endpoint,
            budget: { limits: { tokens: 400 } },
            policy: { poll }
          })
        )
      // One client layer for both: one ledger, as in one program.
      const [a, b] = yield* Effect.all([run("one-a", 0), run("one-b", 1000)], { concurrency: 2 }).pipe(
        Effect.provide(processOver(simulator))
      )
      assert.deepStrictEqual([a.succeeded, b.succeeded], [40, 40])
      assert.deepStrictEqual([limitFailures(a), limitFailures(b)], [0, 0])
    }))

  it.effect("two programs, each given the whole limit, learn it from the API's failures: both complete, failures bounded", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ enqueuedTokenLimit: 400 })
      const a = yield* recorder
      const b = yield* recorder
      const run = (jobId: string, from: number, onEvent: (event: JobReport.JobEvent) => Effect.Effect<void>) =>
        drive(
          Job.run(Array.from({ length: 80 }, (_, i) => embedding(from + i)), {
            jobId,
            endpoint,
            budget: { limits: { tokens: 400 } },
            policy: { poll },
            onEvent
          })
        ).pipe(Effect.provide(processOver(simulator)))
      // A layer each: two ledgers, as in two programs sharing one organisation.
      const [first, second] = yield* Effect.all([run("two-a", 0, a.onEvent), run("two-b", 1000, b.onEvent)], {
        concurrency: 2
      })
      assert.deepStrictEqual([first.succeeded, second.succeeded], [80, 80])
      // The bound of JobBudget: B (claims in flight when the limit is first hit: 4 parts of 95 in 380) + log2(P) + 1.
      for (const summary of [first, second]) {
        const parts = summary.parts.length
        assert.isAtMost(limitFailures(summary), 4 + Math.ceil(Math.log2(parts)) + 1, `${summary.jobId}: ${parts} parts`)
      }
      assertResendsWaitForCompletions(yield* Ref.get(a.events))
      assertResendsWaitForCompletions(yield* Ref.get(b.events))
    }))

  it.effect("a job whose real limit is half its budget completes; its late failures do not grow with its parts", () =>
    Effect.gen(function*() {
      const failuresFor = (requests: number) =>
        Effect.gen(function*() {
          const simulator = yield* BatchApiSimulator.make({ enqueuedTokenLimit: 400 })
          const { events, onEvent } = yield* recorder
          const summary = yield* drive(
            Job.run(Array.from({ length: requests }, (_, i) => embedding(i)), {
              jobId: `half-${requests}`,
              endpoint,
              budget: { limits: { tokens: 800 } },
              policy: { poll },
              onEvent
            })
          ).pipe(Effect.provide(processOver(simulator)))
          assert.strictEqual(summary.succeeded, requests)
          const resends = assertResendsWaitForCompletions(yield* Ref.get(events))
          assert.strictEqual(resends, summary.resends)
          return { failures: limitFailures(summary), parts: summary.parts.length }
        })
      const small = yield* failuresFor(80)
      const large = yield* failuresFor(640)
      assert.isAtLeast(large.parts, 4 * small.parts)
      for (const run of [small, large]) {
        assert.isAtMost(run.failures, 4 + Math.ceil(Math.log2(run.parts)) + 1, `${run.parts} parts`)
      }
      // Not in proportion to the parts: the large job has 8 times as many.
      assert.isBelow(large.failures, 2 * small.failures + 2)
    }))
})
