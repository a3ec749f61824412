import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream, TestClock } from "effect"
import * as Batch from "../../src/Batch.js"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { start } from "./support.js"

const statuses = [
  "validating",
  "in_progress",
  "finalizing",
  "completed",
  "failed",
  "expired",
  "cancelling",
  "cancelled"
] as const

const run = <A, E>(effect: Effect.Effect<A, E, BatchApi.BatchApi | BatchApiSimulator.BatchApiSimulator>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* effect
  }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi()))

describe("BatchApiSimulator.seed", () => {
  it.effect("each status as asked, with timestamps that agree with it and with now", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const now = start / 1000
      for (const status of statuses) {
        const ids = yield* simulator.seed({ count: 3, status, spacingSeconds: 600 })
        for (const id of ids) {
          const batch = yield* BatchApi.retrieveBatch(id)
          assert.strictEqual(batch.status, status, `${status} ${id}`)
          const ended = [batch.completed_at, batch.failed_at, batch.expired_at, batch.cancelled_at]
          for (const at of ended) if (at !== undefined) assert.isAtMost(at, now, `${status} ended in the future`)
          assert.strictEqual(Batch.isTerminal(batch), ended.some((at) => at !== undefined), status)
          if (status === "expired") assert.isAtMost(batch.expires_at ?? Infinity, now)
          if (status === "cancelling") assert.strictEqual(batch.cancelling_at, now)
        }
      }
      // the newest of a seed is created now, the others spaced before it
      const [older, newest] = yield* simulator.seed({ count: 2, status: "in_progress", spacingSeconds: 90 })
      assert.strictEqual((yield* BatchApi.retrieveBatch(newest!)).created_at, now)
      assert.strictEqual((yield* BatchApi.retrieveBatch(older!)).created_at, now - 90)
    })))

  it.effect("seeded batches live on: they finish, expire, validate and finish cancelling, with result files", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.setDefaultScript({ inProgress: "2 hours" })
      const [running] = yield* simulator.seed({ count: 1, status: "in_progress" })
      const [cancelling] = yield* simulator.seed({ count: 1, status: "cancelling" })
      const [validating] = yield* simulator.seed({ count: 1, status: "validating" })
      yield* TestClock.adjust("3 minutes")
      assert.strictEqual((yield* BatchApi.retrieveBatch(cancelling!)).status, "cancelled")
      assert.strictEqual((yield* BatchApi.retrieveBatch(validating!)).status, "in_progress")
      yield* TestClock.adjust("2 hours")
      const done = yield* BatchApi.retrieveBatch(running!)
      assert.strictEqual(done.status, "completed")
      assert.deepStrictEqual({ ...done.request_counts }, { total: 10, completed: 10, failed: 0 })
      assert.isTrue(Option.isSome(yield* simulator.file(done.output_file_id ?? "")))
    })))

  it.effect("cancelling everything that runs: every seeded batch reaches a terminal status within the cancel window", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.seed({ count: 3, status: "in_progress" })
      yield* simulator.seed({ count: 2, status: "validating" })
      yield* simulator.seed({ count: 2, status: "completed" })
      const fiber = yield* Effect.fork(
        BatchApi.streamBatches().pipe(
          Stream.filter((batch) => !Batch.isTerminal(batch)),
          Stream.mapEffect((batch) => BatchWait.cancelBatchAndWait(batch.id), { concurrency: "unbounded" }),
          Stream.runCollect
        )
      )
      yield* TestClock.adjust("10 minutes")
      const cancelled = yield* Fiber.join(fiber)
      assert.deepStrictEqual([...cancelled].map((batch) => batch.status), Array(5).fill("cancelled"))
    })))
})
