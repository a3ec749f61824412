import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"
import { send, start } from "./support.js"

/** Waits run on FastTestClock: Effect 4's TestClock.adjust leaves a forked wait at its first poll. */
const fast = Effect.provide(FastTestClock.layer)

const params = {
  input_file_id: "file-not-uploaded",
  endpoint: "/v1/chat/completions",
  completion_window: "24h"
} as const
const simulated = BatchApiSimulator.layerBatchApi({ requireInputFile: false })

const run = <A, E>(effect: Effect.Effect<A, E, BatchApi.BatchApi | BatchApiSimulator.BatchApiSimulator>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* effect
  }).pipe(Effect.provide(simulated), fast)

describe("BatchApiSimulator lifecycle", () => {
  it.effect("a batch completes after virtual time, through the real library, with every timestamp set", () =>
    run(Effect.gen(function*() {
      const created = yield* BatchApi.createBatch(params)
      assert.strictEqual(created.status, "validating")
      assert.strictEqual(created.created_at, start / 1000)
      assert.strictEqual(created.expires_at, start / 1000 + 86_400)
      const fiber = yield* Effect.forkChild(BatchWait.awaitCompleted(created.id))
      yield* TestClock.adjust("2 hours")
      const done = yield* Fiber.join(fiber)
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.in_progress_at, start / 1000 + 30)
      assert.strictEqual(done.finalizing_at, start / 1000 + 330)
      assert.strictEqual(done.completed_at, start / 1000 + 360)
      assert.deepStrictEqual(
        { ...done.request_counts },
        { total: 100, completed: 100, failed: 0 }
      )
      assert.isDefined(done.output_file_id)
      assert.isUndefined(done.error_file_id)
    })))

  it.effect("request_counts grow linearly while in_progress; finalizing shows all done", () =>
    run(Effect.gen(function*() {
      const { id } = yield* BatchApi.createBatch(params)
      const at = (seconds: number) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(start + seconds * 1000)
          return yield* BatchApi.retrieveBatch(id)
        })
      const validating = yield* at(10)
      assert.strictEqual(validating.status, "validating")
      assert.strictEqual(validating.request_counts?.total, 0)
      const quarter = yield* at(30 + 75)
      assert.strictEqual(quarter.status, "in_progress")
      assert.deepStrictEqual({ ...quarter.request_counts }, { total: 100, completed: 25, failed: 0 })
      const half = yield* at(30 + 150)
      assert.strictEqual(half.request_counts?.completed, 50)
      const finalizing = yield* at(30 + 300 + 10)
      assert.strictEqual(finalizing.status, "finalizing")
      assert.strictEqual(finalizing.request_counts?.completed, 100)
      assert.isUndefined(finalizing.output_file_id)
    })))

  it.effect("durations and outcomes are scriptable per batch and by default", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.setDefaultScript({ validating: "1 minute", inProgress: "1 hour", finalizing: "1 minute" })
      yield* simulator.scriptNext({
        outcome: "failed",
        errors: [{ code: "bad", message: "scripted", param: null, line: 3 }]
      })
      const failing = yield* BatchApi.createBatch(params)
      const slow = yield* BatchApi.createBatch(params)
      const fiber = yield* Effect.forkChild(Effect.all([
        Effect.result(BatchWait.awaitCompleted(failing.id)),
        BatchWait.awaitCompleted(slow.id)
      ]))
      yield* TestClock.adjust("3 hours")
      const [failed, completed] = yield* Fiber.join(fiber)
      assert.isTrue(failed._tag === "Failure" && failed.failure._tag === "BatchFailedError")
      if (failed._tag === "Failure" && failed.failure._tag === "BatchFailedError") {
        assert.strictEqual(failed.failure.errors[0]?.line, 3)
        assert.strictEqual(failed.failure.batch.failed_at, start / 1000 + 60)
      }
      assert.strictEqual(completed.completed_at, start / 1000 + 60 + 3600 + 60)
      // scriptBatch changes an existing batch; an unknown id is a typed error
      const exit = yield* Effect.exit(simulator.scriptBatch("batch_nope", { outcome: "failed" }))
      assert.isTrue(Exit.isFailure(exit))
    })))

  it.effect("outcome expired: in_progress until expires_at, then expired with half the requests done", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.scriptNext({ outcome: "expired" })
      const { id } = yield* BatchApi.createBatch(params)
      const fiber = yield* Effect.forkChild(
        Effect.result(BatchWait.awaitCompleted(id, { schedule: BatchSchedule.every("30 minutes") }))
      )
      yield* TestClock.adjust("25 hours")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(result._tag === "Failure" && result.failure._tag === "BatchExpiredError")
      const batch = Option.getOrThrow(yield* simulator.batch(id))
      assert.strictEqual(batch.status, "expired")
      assert.strictEqual(batch.expired_at, start / 1000 + 86_400)
      assert.strictEqual(batch.request_counts?.completed, 50)
      assert.isDefined(batch.output_file_id)
    })))

  it.effect("a batch still running at expires_at expires naturally", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.scriptNext({ inProgress: "48 hours" })
      const { id } = yield* BatchApi.createBatch(params)
      yield* TestClock.adjust("30 hours")
      const batch = yield* BatchApi.retrieveBatch(id)
      assert.strictEqual(batch.status, "expired")
      assert.isUndefined(batch.finalizing_at)
    })))

  it.effect("an unknown status is shown for a while, and a wait goes through it", () =>
    run(Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.scriptNext({ unknownStatus: { status: "paused", duration: "10 minutes" } })
      const { id } = yield* BatchApi.createBatch(params)
      const statuses = yield* Effect.forkChild(
        BatchWait.watchBatch(id).pipe(Stream.map((batch): string => batch.status), Stream.runCollect)
      )
      yield* TestClock.adjust("2 hours")
      const seen = [...(yield* Fiber.join(statuses))]
      assert.includeMembers(seen, ["validating", "paused", "in_progress", "completed"])
      assert.isBelow(seen.indexOf("paused"), seen.indexOf("in_progress"))
    })))

  describe("cancel", () => {
    it.effect("in_progress -> cancelling -> cancelled with partial counts; repeat is unchanged; terminal is a 400", () =>
      run(Effect.gen(function*() {
        const { id } = yield* BatchApi.createBatch(params)
        yield* TestClock.adjust("90 seconds") // 60 s into a 300 s in_progress: 20 done
        const cancelling = yield* BatchApi.cancelBatch(id)
        assert.strictEqual(cancelling.status, "cancelling")
        assert.strictEqual(cancelling.cancelling_at, start / 1000 + 90)
        yield* TestClock.adjust("30 seconds")
        const again = yield* BatchApi.cancelBatch(id)
        assert.strictEqual(again.status, "cancelling")
        assert.strictEqual(again.cancelling_at, start / 1000 + 90)
        yield* TestClock.adjust("2 minutes")
        const cancelled = yield* BatchApi.retrieveBatch(id)
        assert.strictEqual(cancelled.status, "cancelled")
        assert.strictEqual(cancelled.cancelled_at, start / 1000 + 90 + 120)
        assert.deepStrictEqual({ ...cancelled.request_counts }, { total: 100, completed: 20, failed: 0 })
        const error = yield* Effect.flip(BatchApi.cancelBatch(id))
        assert.strictEqual(error._tag, "BadRequestError")
      })))

    it.effect("cancelBatchAndWait waits out the cancel window", () =>
      run(Effect.gen(function*() {
        const { id } = yield* BatchApi.createBatch(params)
        const fiber = yield* Effect.forkChild(BatchWait.cancelBatchAndWait(id))
        yield* TestClock.adjust("30 minutes")
        const batch = yield* Fiber.join(fiber)
        assert.strictEqual(batch.status, "cancelled")
        assert.strictEqual(batch.request_counts?.completed, 0)
        assert.isUndefined(batch.in_progress_at)
      })))
  })

  describe("list", () => {
    it.effect("newest first, after cursor, limit, first_id/last_id/has_more; streamBatches reads them all", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        const seeded = yield* simulator.seed({ count: 45 })
        const created = yield* BatchApi.createBatch(params)
        const newestFirst = [created.id, ...[...seeded].reverse()]
        const first = yield* BatchApi.listBatches()
        assert.strictEqual(first.data.length, 20)
        assert.deepStrictEqual(first.data.map((b) => b.id), newestFirst.slice(0, 20))
        assert.strictEqual(first.first_id, created.id)
        assert.strictEqual(first.last_id, newestFirst[19])
        assert.isTrue(first.has_more)
        const next = yield* BatchApi.listBatches({ after: newestFirst[19]!, limit: 100 })
        assert.deepStrictEqual(next.data.map((b) => b.id), newestFirst.slice(20))
        assert.isFalse(next.has_more)
        const all = yield* Stream.runCollect(BatchApi.streamBatches({ pageSize: 7 }))
        assert.deepStrictEqual([...all].map((b) => b.id), newestFirst)
        const empty = yield* BatchApi.listBatches({ after: seeded[0]! })
        assert.deepStrictEqual(empty.data, [])
        assert.isFalse(empty.has_more)
      })))

    it.effect("limit outside 1..100 or a non-integer is a 400 naming limit; an unknown cursor is a 400", () =>
      run(Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.BatchApiSimulator
        for (const limit of ["0", "101", "abc", "2.5"]) {
          const answer = yield* send(simulator, "GET", "/v1/batches", { query: { limit } })
          assert.strictEqual(answer.status, 400, limit)
          assert.strictEqual(answer.json.error.param, "limit")
        }
        const ok = yield* send(simulator, "GET", "/v1/batches", { query: { limit: "100" } })
        assert.strictEqual(ok.status, 200)
        assert.deepStrictEqual(ok.json, { object: "list", data: [], first_id: null, last_id: null, has_more: false })
        const cursor = yield* send(simulator, "GET", "/v1/batches", { query: { after: "batch_gone" } })
        assert.strictEqual(cursor.status, 400)
        assert.strictEqual(cursor.json.error.param, "after")
      })))
  })
})
