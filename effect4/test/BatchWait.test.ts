/**
 * The waits on Effect 4 (the Effect 3 edition's tests, ported): a fake batch whose status is a function of the
 * request's virtual time, on `TestClock` (test/support/waitLifecycle.ts). The cancel window and what a wait logs are
 * in BatchWait.ends.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule, Stream } from "effect"
import { TestClock } from "effect/testing"
import type * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchWait from "../src/BatchWait.js"
import * as Fake from "./support/FakeHttp.js"
import { exactPoll, gets, hour, lifecycle, minute, run, started } from "./support/waitLifecycle.js"

describe("awaitBatch", () => {
  const threeHours = lifecycle({ inProgress: 3 * hour - 90_000 })

  it.effect("a batch that completes after 3 h: polls and detection delay", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitBatch("batch_1", { schedule: exactPoll }), "4 hours")
      assert.strictEqual(result._tag, "Success")
      if (result._tag === "Success") assert.strictEqual(result.success.status, "completed")
      const polls = yield* gets
      const last = polls[polls.length - 1]?.at ?? 0
      const detectionDelay = last - threeHours.completedAt
      assert.strictEqual(threeHours.completedAt, 3 * hour)
      // 1 s growing by 1.5x reaches the 60 s cap after 11 polls; then one poll a minute.
      // Reported in the README: 190 polls over 3 h, completion seen 51 s after it happened (at most 60 s).
      assert.strictEqual(polls.length, 190)
      assert.strictEqual(Math.round(detectionDelay / 1000), 51)
      assert.isAtMost(detectionDelay, 60_000)
    }).pipe(Effect.provide(Fake.layer(threeHours.responder))))

  it.effect("the default schedule (jittered) detects within its 66 s ceiling and polls about as often", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitBatch("batch_1"), "4 hours")
      assert.strictEqual(result._tag, "Success")
      const polls = yield* gets
      const detectionDelay = (polls[polls.length - 1]?.at ?? 0) - threeHours.completedAt
      assert.isAtMost(detectionDelay, 66_000)
      assert.isAtLeast(polls.length, 170)
      assert.isAtMost(polls.length, 215)
    }).pipe(Effect.provide(Fake.layer(threeHours.responder))))

  it.effect("the server's openai-poll-after-ms is a floor on the pace", () =>
    Effect.gen(function*() {
      yield* run(BatchWait.awaitBatch("batch_1", { schedule: exactPoll }), "1 hour")
      const times = (yield* gets).map((r) => r.at)
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0))
      assert.isAbove(gaps.length, 3)
      for (const gap of gaps) assert.isAtLeast(gap, 30_000)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 10 * minute, pollAfterMs: 30_000 }).responder))))

  it.effect("an unknown status keeps polling at the normal pace, never a hot loop", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitBatch("batch_1", { schedule: exactPoll }), "3 hours")
      assert.strictEqual(result._tag, "Success")
      const during = (yield* gets).filter((r) => r.at >= hour && r.at < 2 * hour)
      // one hour at the 60 s cap: 60 or 61 polls, not thousands
      assert.isAtLeast(during.length, 59)
      assert.isAtMost(during.length, 61)
    }).pipe(
      Effect.provide(Fake.layer(lifecycle({ inProgress: 2 * hour, override: [hour, 2 * hour, "paused"] }).responder))
    ))

  it.effect("the default deadline is expires_at + 1 h; the timeout error carries the last batch", () =>
    Effect.gen(function*() {
      const result = yield* run(
        BatchWait.awaitBatch("batch_1", { schedule: BatchSchedule.every("10 minutes") }),
        "30 hours"
      )
      assert.strictEqual(result._tag, "Failure")
      if (result._tag !== "Failure" || result.failure._tag !== "WaitTimeoutError") {
        return assert.fail("expected WaitTimeoutError")
      }
      assert.strictEqual(result.failure.waitedMs, 25 * hour)
      assert.strictEqual(result.failure.lastBatch?.status, "in_progress")
      assert.strictEqual(result.failure.batchId, "batch_1")
      assert.strictEqual(result.failure.reason, "Deadline")
      assert.strictEqual(
        result.failure.message,
        "awaitBatch: gave up waiting for batch batch_1 after 1d 1h (deadline reached); last status: in_progress"
      )
      // and polling stopped at the deadline
      const polls = yield* gets
      assert.isAtMost(polls[polls.length - 1]?.at ?? 0, 25 * hour)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 100 * hour }).responder))))

  it.effect("a custom schedule: every 30 s for at most 2 h", () =>
    Effect.gen(function*() {
      const result = yield* run(
        BatchWait.awaitBatch("batch_1", { schedule: BatchSchedule.every("30 seconds"), timeout: "2 hours" }),
        "3 hours"
      )
      assert.strictEqual(result._tag, "Failure")
      if (result._tag === "Failure") assert.strictEqual(result.failure._tag, "WaitTimeoutError")
      const polls = yield* gets
      // polls at 0, 30 s, ..., 2 h - 30 s. The poll due on the deadline itself ties with the deadline, and on Effect 4's
      // TestClock the deadline (armed first) wakes first: 240 polls (the Effect 3 edition's TestClock woke the poll
      // first, 241). Either way no poll starts after the deadline.
      assert.strictEqual(polls.length, 240)
      assert.isAtMost(polls[polls.length - 1]?.at ?? 0, 2 * hour)
      assert.strictEqual(polls[1]?.at, 30_000)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 100 * hour }).responder))))

  it.effect("a schedule that ends before the batch does is a timeout too", () =>
    Effect.gen(function*() {
      const result = yield* run(
        BatchWait.awaitBatch("batch_1", {
          schedule: Schedule.max([BatchSchedule.every("1 minute"), Schedule.recurs(3)])
        }),
        "1 hour"
      )
      assert.strictEqual(result._tag, "Failure")
      if (result._tag === "Failure") {
        assert.strictEqual(result.failure._tag, "WaitTimeoutError")
        assert.include(result.failure.message, "the poll schedule ended")
        if (result.failure._tag === "WaitTimeoutError") assert.strictEqual(result.failure.reason, "ScheduleEnded")
      }
      assert.strictEqual((yield* gets).length, 4)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 100 * hour }).responder))))

  it.effect("transient errors during the wait do not end it", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitBatch("batch_1", { schedule: exactPoll }), "2 hours")
      assert.strictEqual(result._tag, "Success")
      if (result._tag === "Success") assert.strictEqual(result.success.status, "completed")
    }).pipe(Effect.provide(Fake.layer(
      lifecycle({ inProgress: 30 * minute, failingPolls: new Set([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }).responder
    ))))

  it.effect("even the first poll's transient failures do not end the wait", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitBatch("batch_1", { schedule: exactPoll }), "2 hours")
      assert.strictEqual(result._tag, "Success")
      if (result._tag === "Success") assert.strictEqual(result.success.status, "completed")
    }).pipe(Effect.provide(Fake.layer(
      lifecycle({ inProgress: 30 * minute, failingPolls: new Set([0, 1, 2, 3, 4, 5, 6]) }).responder
    ))))

  it.effect("a 429 with a long Retry-After slows the polls (capped at 5 minutes) instead of ending the wait", () =>
    Effect.gen(function*() {
      const result = yield* run(
        BatchWait.awaitBatch("batch_1", { schedule: exactPoll }),
        "3 hours"
      )
      assert.strictEqual(result._tag, "Success")
      const times = (yield* Fake.requests).map((r) => r.at)
      const after429 = (times[4] ?? 0) - (times[3] ?? 0)
      assert.strictEqual(after429, 5 * minute)
    }).pipe(Effect.provide(Fake.layer((request, index) =>
      index === 3
        ? Fake.json(429, { error: { message: "slow down", type: "rate_limit", param: null, code: null } }, {
          "retry-after": "3600"
        })
        : lifecycle({ inProgress: 30 * minute }).responder(request, index)
    ))))

  const firstPollHints: ReadonlyArray<readonly [string, number, Record<string, string>, number]> = [
    ["429 with Retry-After: 3600 (capped at 5 minutes)", 429, { "retry-after": "3600" }, 5 * minute],
    ["429 with retry-after-ms: 90000", 429, { "retry-after-ms": "90000" }, 90_000],
    ["503 with Retry-After: 120", 503, { "retry-after": "120" }, 2 * minute]
  ]
  for (const [name, status, headers, expected] of firstPollHints) {
    it.effect(`the FIRST poll's retry hint is honoured too: ${name}`, () =>
      Effect.gen(function*() {
        const result = yield* run(
          BatchWait.awaitBatch("batch_1", { schedule: exactPoll }),
          "3 hours"
        )
        assert.strictEqual(result._tag, "Success")
        const times = (yield* Fake.requests).map((r) => r.at)
        assert.strictEqual((times[1] ?? 0) - (times[0] ?? 0), expected)
      }).pipe(Effect.provide(Fake.layer((request, index) =>
        index === 0
          ? Fake.json(status, { error: { message: "slow down", type: "rate_limit", param: null, code: null } }, headers)
          : lifecycle({ inProgress: 30 * minute }).responder(request, index)
      ))))
  }

  it.effect("a bad id is refused before any request, naming the wait the caller called", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<
        readonly [
          string,
          Effect.Effect<
            unknown,
            { readonly _tag: string; readonly message: string; readonly operation?: string | undefined },
            BatchApi.BatchApi
          >
        ]
      > = [
        ["awaitBatch", BatchWait.awaitBatch("a/b")],
        ["awaitCompleted", BatchWait.awaitCompleted("a/b")],
        ["cancelBatchAndWait", BatchWait.cancelBatchAndWait("a/b")],
        ["watchBatch", Stream.runDrain(BatchWait.watchBatch("a/b"))]
      ]
      for (const [operation, effect] of cases) {
        const error = yield* Effect.flip(effect)
        assert.strictEqual(error._tag, "InvalidParamsError")
        assert.strictEqual(error.operation, operation)
        assert.match(error.message, new RegExp(`^${operation}: batchId `))
      }
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: minute }).responder))))

  it.effect("a huge openai-poll-after-ms is capped at 5 minutes", () =>
    Effect.gen(function*() {
      yield* run(BatchWait.awaitBatch("batch_1", { schedule: exactPoll }), "1 hour")
      const times = (yield* gets).map((r) => r.at)
      assert.strictEqual(times[1], 5 * minute)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 20 * minute, pollAfterMs: 36_000_000 }).responder))))

  it.effect("a first poll that never succeeds ends at the deadline with WaitTimeoutError", () =>
    Effect.gen(function*() {
      const result = yield* run(
        BatchWait.awaitBatch("batch_1", { timeout: "10 minutes" }),
        "1 hour"
      )
      assert.strictEqual(result._tag, "Failure")
      if (result._tag !== "Failure" || result.failure._tag !== "WaitTimeoutError") {
        return assert.fail("expected WaitTimeoutError")
      }
      assert.isUndefined(result.failure.lastBatch)
      assert.include(result.failure.message, "no poll succeeded; the last said: awaitBatch: GET ")
      // the last poll's error is kept whole as the cause, not only its words
      assert.strictEqual(result.failure.reason, "NoPoll")
      const cause = result.failure.cause
      assert.strictEqual(BatchError.isBatchError(cause) ? cause._tag : cause, "TransportError")
      assert.isAtMost(result.failure.waitedMs, 10 * minute)
    }).pipe(Effect.provide(Fake.layer(() => ({ drop: true })))))

  it.effect("a 404 ends the wait with NotFoundError", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitBatch("batch_gone"), "1 hour")
      assert.strictEqual(result._tag, "Failure")
      if (result._tag === "Failure") assert.strictEqual(result.failure._tag, "NotFoundError")
      assert.strictEqual((yield* Fake.requests).length, 1)
    }).pipe(Effect.provide(Fake.layer(() =>
      Fake.json(404, { error: { message: "No batch found", type: "invalid_request_error", param: null, code: null } })
    ))))

  it.effect("the wait's error names the wait that was called, not the poll under it", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<
        readonly [
          string,
          Effect.Effect<unknown, BatchError.RequestError | BatchError.WaitTimeoutError, BatchApi.BatchApi>
        ]
      > = [
        ["awaitBatch", BatchWait.awaitBatch("batch_gone")],
        ["watchBatch", Stream.runDrain(BatchWait.watchBatch("batch_gone"))]
      ]
      for (const [operation, effect] of cases) {
        const error = yield* Effect.flip(effect)
        assert.strictEqual(error._tag, "NotFoundError")
        if (error._tag === "NotFoundError") {
          assert.strictEqual(error.operation, operation)
          assert.isTrue(error.message.startsWith(`${operation}: 404 No batch found`), error.message)
        }
      }
    }).pipe(Effect.provide(Fake.layer(() =>
      Fake.json(404, { error: { message: "No batch found", type: "invalid_request_error", param: null, code: null } })
    ))))

  it.effect("one retry policy, not two: the policy in effect does not retry a wait's polls as well", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitBatch("batch_1", { schedule: exactPoll }), "2 hours")
      assert.strictEqual(result._tag, "Success")
      // polls at 0, 1 s, 2.5 s, 4.75 s: the failed polls (1 and 2) are not re-sent 0.5 s later by the policy
      assert.deepStrictEqual((yield* gets).slice(0, 4).map((r) => r.at), [0, 1000, 2500, 4750])
    }).pipe(Effect.provide(Fake.layer(
      lifecycle({ inProgress: 30 * minute, failingPolls: new Set([1, 2]) }).responder,
      { retry: BatchSchedule.retry({ maxRetries: 5, jitter: false }) }
    ))))

  it.effect("the wait's timeout is its deadline, not each poll's: a poll still times out after the attempt's 60 s", () =>
    Effect.gen(function*() {
      const plan = lifecycle({ inProgress: 30 * minute })
      const result = yield* run(BatchWait.awaitBatch("batch_1", { schedule: exactPoll, timeout: "2 hours" }), "2 hours")
      assert.strictEqual(result._tag, "Success")
      const times = (yield* gets).map((r) => r.at)
      // the first poll hung and timed out at 60 s; the next one went on the polling pace (1 s later, jittered ±10%)
      assert.strictEqual(times[0], 0)
      assert.isTrue((times[1] ?? 0) >= 60_900 && (times[1] ?? 0) <= 61_100, String(times[1]))
      assert.strictEqual(plan.completedAt, 31.5 * minute)
    }).pipe(
      Effect.provide(
        Fake.layer((request, index) =>
          index === 0 ? { hang: true } : lifecycle({ inProgress: 30 * minute }).responder(request, index)
        )
      )
    ))

  it.effect("interrupting the wait stops polling at once", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(BatchWait.awaitBatch("batch_1", { schedule: exactPoll }))
      yield* started(fiber, 1)
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.interrupt(fiber)
      const before = (yield* Fake.requests).length
      assert.isAbove(before, 5)
      yield* TestClock.adjust("10 hours")
      assert.strictEqual((yield* Fake.requests).length, before)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 5 * hour }).responder))))

  it.effect("onProgress sees every change", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      yield* run(
        BatchWait.awaitBatch("batch_1", {
          schedule: exactPoll,
          onProgress: (batch) => Effect.sync(() => seen.push(batch.status))
        }),
        "1 hour"
      )
      assert.strictEqual(seen[0], "validating")
      assert.include(seen, "in_progress")
      assert.include(seen, "finalizing")
      assert.strictEqual(seen[seen.length - 1], "completed")
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 20 * minute }).responder))))
})

describe("awaitCompleted", () => {
  for (const [outcome, tag] of [["failed", "BatchFailedError"], ["expired", "BatchExpiredError"]] as const) {
    it.effect(`a batch that ends ${outcome} fails with ${tag} carrying the batch`, () =>
      Effect.gen(function*() {
        const result = yield* run(BatchWait.awaitCompleted("batch_1", { schedule: exactPoll }), "2 hours")
        assert.strictEqual(result._tag, "Failure")
        if (result._tag !== "Failure") return
        assert.strictEqual(result.failure._tag, tag)
        if (result.failure._tag === "BatchFailedError") {
          assert.strictEqual(result.failure.errors[0]?.line, 7)
          assert.strictEqual(result.failure.operation, "awaitCompleted")
          assert.match(result.failure.message, /^awaitCompleted: batch batch_1 failed: invalid_json_line: /)
          assert.include(result.failure.message, "(line 7 of its input file)")
        }
        if (result.failure._tag === "BatchExpiredError") {
          assert.strictEqual(result.failure.batch.output_file_id, "file-out")
          assert.include(result.failure.message, "partial results in file-out")
        }
      }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 20 * minute, outcome }).responder))))
  }

  it.effect("a completed batch is returned", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.awaitCompleted("batch_1"), "2 hours")
      assert.strictEqual(result._tag, "Success")
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 20 * minute }).responder))))
})

describe("watchBatch", () => {
  it.effect("emits on change only, shows finalizing at 100%, ends after the terminal snapshot", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Stream.runCollect(BatchWait.watchBatch("batch_1", { schedule: exactPoll })))
      yield* started(fiber, 1)
      yield* TestClock.adjust("2 hours")
      const snapshots = yield* Fiber.join(fiber)
      const keys = snapshots.map((b) => `${b.status}:${b.request_counts?.completed}`)
      for (let i = 1; i < keys.length; i++) assert.notStrictEqual(keys[i], keys[i - 1])
      assert.strictEqual(keys[0], "validating:0")
      assert.include(keys, "finalizing:100")
      assert.strictEqual(keys[keys.length - 1], "completed:100")
      const counts = snapshots.filter((b) => b.status === "in_progress").map((b) => b.request_counts?.completed ?? 0)
      assert.isAbove(counts.length, 3)
      for (let i = 1; i < counts.length; i++) assert.isAbove(counts[i] ?? 0, counts[i - 1] ?? 0)
      // fewer snapshots than polls: unchanged polls are not emitted
      assert.isBelow(snapshots.length, (yield* gets).length)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 30 * minute, finalizing: 10 * minute }).responder))))
})
