/**
 * A fake batch whose status follows a plan over virtual time, and the helpers the wait tests share
 * (test/BatchWait.test.ts, test/BatchWait.ends.test.ts): the root's test/support/waitLifecycle.ts, on Effect 4.
 */
import type { Duration } from "effect"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as Fake from "./FakeHttp.js"

export const minute = 60_000
export const hour = 60 * minute

export interface Plan {
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
export const lifecycle = (plan: Plan) => {
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

export const exactPoll = BatchSchedule.poll({ jitter: false })

/**
 * Waits, without time passing, until the forked wait has sent `count` requests (or ended), then lets it arm its next
 * sleep: `TestClock.adjust` lets pending fibers run one round before it moves the clock, and a wait that forked
 * just now takes more than one to get there (it would then sleep from the adjusted time on, and never wake).
 */
export const started = (fiber: Fiber.Fiber<unknown, unknown>, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000 && fiber.pollUnsafe() === undefined && (yield* Fake.requests).length < count; i++) {
      yield* Effect.yieldNow
    }
    for (let i = 0; i < 50; i++) yield* Effect.yieldNow
  })

/** Forks, lets `virtual` time pass, joins. */
export const run = <A, E>(effect: Effect.Effect<A, E, BatchApi.BatchApi>, virtual: Duration.Input) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.result(effect))
    yield* started(fiber, 1)
    yield* TestClock.adjust(virtual)
    return yield* Fiber.join(fiber)
  })

export const gets = Effect.map(Fake.requests, (log) => log.filter((r) => r.method === "GET"))
