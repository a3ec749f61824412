/**
 * The waits on Effect 4 (the Effect 3 edition's tests, ported): a fake batch whose status is a function of the
 * request's virtual time, on `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Fiber, Logger, References, Schedule, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchWait from "../src/BatchWait.js"
import * as Fake from "./support/FakeHttp.js"

const minute = 60_000
const hour = 60 * minute

interface Plan {
  readonly validating?: number
  readonly inProgress: number
  readonly finalizing?: number
  readonly outcome?: "completed" | "failed" | "expired" | "in_progress"
  readonly cancelling?: number
  readonly total?: number
  /** [from, to) ms during which the API reports this status instead. */
  readonly override?: readonly [number, number, string]
  /** Poll indexes (0-based GETs) that answer 500. */
  readonly failingPolls?: ReadonlySet<number>
  readonly pollAfterMs?: number
}

/** A fake batch whose status is a function of the request's (virtual) time. */
const lifecycle = (plan: Plan) => {
  const validating = plan.validating ?? 30_000
  const finalizing = plan.finalizing ?? minute
  const total = plan.total ?? 100
  const completedAt = validating + plan.inProgress + finalizing
  let cancelAt: number | undefined
  let gets = 0
  const statusAt = (t: number): { status: string; completed: number } => {
    if (cancelAt !== undefined && t >= cancelAt) {
      const done = Math.min(total, Math.floor(total * Math.max(0, cancelAt - validating) / plan.inProgress))
      return { status: t < cancelAt + (plan.cancelling ?? 2 * minute) ? "cancelling" : "cancelled", completed: done }
    }
    if (plan.override && t >= plan.override[0] && t < plan.override[1]) {
      return { status: plan.override[2], completed: 0 }
    }
    if (t < validating) return { status: "validating", completed: 0 }
    if (t < validating + plan.inProgress) {
      return { status: "in_progress", completed: Math.floor(total * (t - validating) / plan.inProgress) }
    }
    if (t < completedAt) return { status: "finalizing", completed: total }
    return { status: plan.outcome ?? "completed", completed: total }
  }
  const batchAt = (t: number) => {
    const { completed, status } = statusAt(t)
    return Fake.batchJson({
      id: "batch_1",
      status,
      created_at: 0,
      expires_at: 24 * 3600,
      request_counts: { total, completed, failed: 0 },
      output_file_id: status === "completed" || status === "cancelled" || status === "expired" ? "file-out" : null,
      errors: status === "failed"
        ? {
          object: "list",
          data: [{
            code: "invalid_json_line",
            message: "This line is not parseable as valid JSON.",
            line: 7,
            param: null
          }]
        }
        : null
    })
  }
  const responder: Fake.Responder = (request) => {
    if (request.method === "POST" && request.url.pathname.endsWith("/cancel")) {
      const { status } = statusAt(request.at)
      if (["completed", "failed", "expired", "cancelled"].includes(status)) {
        return Fake.json(400, {
          error: {
            message: `Cannot cancel a batch with status '${status}'.`,
            type: "invalid_request_error",
            param: null,
            code: null
          }
        })
      }
      cancelAt ??= request.at
      return Fake.json(200, batchAt(request.at))
    }
    const index = gets++
    if (plan.failingPolls?.has(index)) {
      return Fake.json(500, { error: { message: "boom", type: "server_error", param: null, code: null } })
    }
    return Fake.json(
      200,
      batchAt(request.at),
      plan.pollAfterMs === undefined ? {} : { "openai-poll-after-ms": String(plan.pollAfterMs) }
    )
  }
  return { responder, completedAt }
}

const exactPoll = BatchSchedule.poll({ jitter: false })

/**
 * Waits, without time passing, until the forked wait has sent `count` requests (or ended), then lets it arm its next
 * sleep: `TestClock.adjust` lets pending fibers run one round before it moves the clock, and a wait that forked
 * just now takes more than one to get there (it would then sleep from the adjusted time on, and never wake).
 */
const started = (fiber: Fiber.Fiber<unknown, unknown>, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000 && fiber.pollUnsafe() === undefined && (yield* Fake.requests).length < count; i++) {
      yield* Effect.yieldNow
    }
    for (let i = 0; i < 50; i++) yield* Effect.yieldNow
  })

/** Forks, lets `virtual` time pass, joins. */
const run = <A, E>(effect: Effect.Effect<A, E, BatchApi.BatchApi>, virtual: Duration.Input) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.result(effect))
    yield* started(fiber, 1)
    yield* TestClock.adjust(virtual)
    return yield* Fiber.join(fiber)
  })

const gets = Effect.map(Fake.requests, (log) => log.filter((r) => r.method === "GET"))

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

describe("cancelBatchAndWait", () => {
  for (const cancellingMinutes of [10, 25]) {
    it.effect(`waits out a ${cancellingMinutes}-minute cancel window`, () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(
          BatchWait.cancelBatchAndWait("batch_1", { schedule: BatchSchedule.cancelWindow({ jitter: false }) })
        )
        yield* started(fiber, 1)
        yield* TestClock.adjust("1 hour")
        const batch = yield* Fiber.join(fiber)
        assert.strictEqual(batch.status, "cancelled")
        assert.strictEqual(batch.output_file_id, "file-out")
        const log = yield* Fake.requests
        assert.strictEqual(log.filter((r) => r.method === "POST").length, 1)
        const last = log[log.length - 1]?.at ?? 0
        assert.isAtLeast(last, cancellingMinutes * minute)
        assert.isAtMost(last - cancellingMinutes * minute, 30_000)
      }).pipe(
        Effect.provide(
          Fake.layer(lifecycle({ inProgress: 10 * hour, cancelling: cancellingMinutes * minute }).responder)
        )
      ))
  }

  it.effect("a cancel window past the 30-minute deadline fails with the last (cancelling) batch", () =>
    Effect.gen(function*() {
      const result = yield* run(BatchWait.cancelBatchAndWait("batch_1"), "2 hours")
      assert.strictEqual(result._tag, "Failure")
      if (result._tag !== "Failure" || result.failure._tag !== "WaitTimeoutError") {
        return assert.fail("expected WaitTimeoutError")
      }
      assert.strictEqual(result.failure.lastBatch?.status, "cancelling")
      assert.strictEqual(result.failure.waitedMs, 30 * minute)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 10 * hour, cancelling: 40 * minute }).responder))))

  it.effect("an already terminal batch is returned without a cancel request", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(3 * hour)
      const batch = yield* BatchWait.cancelBatchAndWait("batch_1")
      assert.strictEqual(batch.status, "completed")
      const log = yield* Fake.requests
      assert.deepStrictEqual(log.map((r) => r.method), ["GET"])
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: hour }).responder))))

  it.effect("a repeated call while cancelling sends no second cancel", () =>
    Effect.gen(function*() {
      const first = yield* Effect.forkChild(BatchWait.cancelBatchAndWait("batch_1"))
      yield* started(first, 1)
      yield* TestClock.adjust("1 minute")
      const second = yield* Effect.forkChild(BatchWait.cancelBatchAndWait("batch_1"))
      yield* started(second, 2)
      yield* TestClock.adjust("30 minutes")
      assert.strictEqual((yield* Fiber.join(first)).status, "cancelled")
      assert.strictEqual((yield* Fiber.join(second)).status, "cancelled")
      const posts = (yield* Fake.requests).filter((r) => r.method === "POST")
      assert.strictEqual(posts.length, 1)
    }).pipe(Effect.provide(Fake.layer(lifecycle({ inProgress: 10 * hour, cancelling: 10 * minute }).responder))))

  it.effect("a batch that completes before the cancel takes effect is returned as completed", () =>
    Effect.gen(function*() {
      // finalizing until 61.5 s; the first GET (t=0) is "validating"... so start just before completion
      yield* TestClock.setTime(30_000 + 20 * minute + minute - 1)
      const fiber = yield* Effect.forkChild(BatchWait.cancelBatchAndWait("batch_1"))
      yield* started(fiber, 1)
      yield* TestClock.adjust("1 hour")
      const batch = yield* Fiber.join(fiber)
      assert.strictEqual(batch.status, "completed")
    }).pipe(Effect.provide(Fake.layer(lifecycleRacing()))))
})

/** A batch that is finalizing on the first GET and completed when the cancel arrives. */
function lifecycleRacing(): Fake.Responder {
  return (request, index) => {
    if (request.method === "POST") {
      return Fake.json(400, {
        error: {
          message: "Cannot cancel a batch with status 'completed'.",
          type: "invalid_request_error",
          param: null,
          code: null
        }
      })
    }
    return Fake.json(
      200,
      Fake.batchJson({
        status: index === 0 ? "finalizing" : "completed",
        output_file_id: index === 0 ? null : "file-out"
      })
    )
  }
}

describe("what a wait logs", () => {
  const capture = () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.toUpperCase()} ${JSON.stringify(message)}`)
    })
    return { lines, layer: Logger.layer([logger]) }
  }
  const notFound = () =>
    Fake.json(404, { error: { message: "No batch found", type: "invalid_request_error", param: null, code: null } })

  it.effect("no WARN \"will poll again\" for a first poll whose error ends the wait", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      const error = yield* Effect.flip(BatchWait.awaitBatch("batch_gone")).pipe(
        Effect.provide(layer),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
      assert.strictEqual(error._tag, "NotFoundError")
      assert.deepStrictEqual(lines.filter((line) => line.startsWith("WARN")), [])
    }).pipe(Effect.provide(Fake.layer(notFound))))

  it.effect("one WARN per transient failure of the first poll, which does go on", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      const result = yield* run(
        BatchWait.awaitBatch("batch_1", { schedule: exactPoll }).pipe(
          Effect.provide(layer),
          Effect.provideService(References.MinimumLogLevel, "All")
        ),
        "2 hours"
      )
      assert.strictEqual(result._tag, "Success")
      assert.strictEqual(lines.filter((line) => line.startsWith("WARN") && line.includes("will poll again")).length, 2)
    }).pipe(
      Effect.provide(Fake.layer(lifecycle({ inProgress: 30 * minute, failingPolls: new Set([0, 1]) }).responder))
    ))

  it.effect("a handled failure logs no \"unhandled error\" fiber failure at debug level", () =>
    Effect.gen(function*() {
      const { layer, lines } = capture()
      const unhandled = (effect: Effect.Effect<unknown, { readonly _tag: string }, BatchApi.BatchApi>) =>
        Effect.gen(function*() {
          lines.length = 0
          const tag = yield* effect.pipe(
            Effect.catch((error) => Effect.succeed(error._tag)),
            Effect.provide(layer),
            Effect.provideService(References.MinimumLogLevel, "All")
          )
          return [tag, lines.filter((line) => line.includes("unhandled")).length] as const
        })
      // The waits are effects over a stream: nothing. (Before: 3 lines per failure, from the stream's run and the
      // fibers of the deadline's `interruptWhen`.)
      for (const effect of [BatchWait.awaitBatch("batch_gone"), BatchWait.awaitCompleted("batch_gone")]) {
        assert.deepStrictEqual(yield* unhandled(effect), ["NotFoundError", 0])
      }
      // A stream the caller runs: what Effect's channel executor logs for any failed stream run, no more.
      const plain = yield* unhandled(Stream.runDrain(Stream.fail({ _tag: "Plain" })))
      const streams: ReadonlyArray<Stream.Stream<unknown, { readonly _tag: string }, BatchApi.BatchApi>> = [
        BatchWait.watchBatch("batch_gone"),
        BatchApi.streamBatches()
      ]
      for (const stream of streams) {
        assert.deepStrictEqual(yield* unhandled(Stream.runDrain(stream)), ["NotFoundError", plain[1]])
      }
    }).pipe(Effect.provide(Fake.layer(notFound))))
})
