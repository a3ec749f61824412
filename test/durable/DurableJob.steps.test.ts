/**
 * DurableJob on the memory engine under TestClock: follow-ups, part failures, and a replay of the whole body after
 * a durable backoff (what every wake, restart and takeover does on a real engine).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { Cause, Effect, Exit, Fiber, Layer, Option, Ref, Schema, Scope, TestClock } from "effect"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchError from "../../src/BatchError.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as DurableJob from "../../src/durable/DurableJob.js"
import type * as JobBudget from "../../src/JobBudget.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { assertFollowedUp, drive, embedding, model, poll, processOver, recorder } from "../job/support.js"

const endpoint = "/v1/embeddings" as const

/** A "process" on the memory engine with the job registered, over `simulator`. */
const engineOver = (simulator: BatchApiSimulator.Simulator, hooks: DurableJob.Hooks) =>
  Layer.provideMerge(DurableJob.layer(hooks), Layer.merge(processOver(simulator), WorkflowEngine.layerMemory))

const writeInput = (n: number) =>
  Effect.flatMap(
    FileSystem.FileSystem,
    (fs) =>
      fs.writeFileString(
        "/input.jsonl",
        Array.from({ length: n }, (_, i) => JSON.stringify(embedding(i))).join("\n") + "\n"
      )
  )

/** The simulator's request log, counted by "METHOD path". */
const requestCounts = (simulator: BatchApiSimulator.Simulator) =>
  Effect.map(simulator.requests, (all) => {
    const counts = new Map<string, number>()
    for (const r of all) counts.set(`${r.method} ${r.path}`, (counts.get(`${r.method} ${r.path}`) ?? 0) + 1)
    return counts
  })

const lines = (content: Uint8Array) => new TextDecoder().decode(content).trim().split("\n").filter((l) => l !== "")
const customIds = (content: Uint8Array) => lines(content).map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)

describe("DurableJob steps on the memory engine", () => {
  it.effect(
    "an expired part keeps its results and follows up with only the custom_ids it left undone",
    () =>
      Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.make({})
        yield* simulator.scriptNext({ outcome: "expired" })
        const { delivered, sink } = yield* recorder
        const summary = yield* Effect.gen(function*() {
          yield* writeInput(20)
          // An expiry comes after 24 hours: poll hourly, move time an hour at a time.
          return yield* drive(
            DurableJob.run({ jobId: "durable-expiry", input: "/input.jsonl", endpoint, plan: { workDir: "/work" } }),
            "1 hour"
          )
        }).pipe(Effect.provide(engineOver(simulator, { sink, poll: BatchSchedule.every("1 hour") })))

        const part = yield* assertFollowedUp(summary, delivered, 20)

        // The follow-up's input file holds exactly what the expired batch left undone.
        const [expired, followUp] = part.attempts
        if (expired === undefined || followUp === undefined) return assert.fail("two attempts expected")
        const first = Option.getOrThrow(yield* simulator.batch(expired.batchId))
        const second = Option.getOrThrow(yield* simulator.batch(followUp.batchId))
        const answered = customIds(Option.getOrThrow(yield* simulator.file(first.output_file_id ?? "")).content)
        assert.isAbove(answered.length, 0, "the expired batch answered some requests")
        assert.isBelow(answered.length, 20, "and left some undone")
        const resent = customIds(Option.getOrThrow(yield* simulator.file(second.input_file_id)).content)
        assert.strictEqual(resent.length, 20 - answered.length)
        assert.isTrue(resent.every((id) => !answered.includes(id)))
        assert.strictEqual(new Set([...resent, ...answered]).size, 20)
        // 1.2 s on a quiet 2-core machine, 11 s at load 16 and 32 s at load 20: a cap, not an expectation.
      }),
    300_000
  )

  it.effect("onPartFailure: \"continue\": a part whose batch failed ends failed, the others complete, the job succeeds", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      yield* simulator.scriptNext({
        outcome: "failed",
        errors: [{ code: "invalid_request", message: "the file is broken", param: null, line: 1 }]
      })
      const { delivered, sink } = yield* recorder
      const summary = yield* Effect.gen(function*() {
        yield* writeInput(30)
        return yield* drive(
          DurableJob.run({
            jobId: "durable-continue",
            input: "/input.jsonl",
            endpoint,
            plan: { maxRequestsPerPart: 10, workDir: "/work" },
            policy: { onPartFailure: "continue" }
          })
        )
      }).pipe(Effect.provide(engineOver(simulator, { sink, poll })))

      assert.deepStrictEqual(summary.parts.map((p) => p.status).sort(), ["completed", "completed", "failed"])
      const failed = summary.parts.find((p) => p.status === "failed")
      assert.include(failed?.failure ?? "", "invalid_request")
      assert.strictEqual(failed?.missing, 10)
      assert.strictEqual(summary.succeeded, 20)
      assert.strictEqual(summary.missing, 10)
      assert.strictEqual((yield* Ref.get(delivered)).size, 20)
    }))

  it.effect("by default a failed part fails the job with a typed error, and a second run returns that failure without a new batch", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      yield* simulator.scriptNext({
        outcome: "failed",
        errors: [{ code: "invalid_request", message: "the file is broken", param: null, line: 1 }]
      })
      const { sink } = yield* recorder
      const payload = { jobId: "durable-fail", input: "/input.jsonl", endpoint, plan: { workDir: "/work" } } as const
      const [first, again, creates] = yield* Effect.gen(function*() {
        yield* writeInput(10)
        const first = yield* Effect.flip(drive(DurableJob.run(payload)))
        const again = yield* Effect.flip(DurableJob.run(payload))
        return [first, again, (yield* requestCounts(simulator)).get("POST /v1/batches")] as const
      }).pipe(Effect.provide(engineOver(simulator, { sink, poll })))
      assert.strictEqual(first._tag, "PartFailedError")
      if (first._tag !== "PartFailedError") return
      assert.strictEqual(first.reason, "failed")
      assert.strictEqual(first.errors[0]?.code, "invalid_request")
      // Named for the operation the user called, and journaled with it: the replay answers the same error.
      assert.strictEqual(first.operation, "DurableJob.run")
      assert.deepStrictEqual(again, first)
      assert.strictEqual(creates, 1)
    }))

  it.effect(
    "a durable backoff replays the whole body: no step runs twice, the budget holds no stale claim, every result once",
    () =>
      Effect.gen(function*() {
        // The first batch fails late on the token limit while nothing else of the model is in flight: the re-send
        // backs off on a durable clock, the workflow suspends, and the wake replays the body from the top.
        const simulator = yield* BatchApiSimulator.make({})
        yield* simulator.scriptNext({
          outcome: "failed",
          errors: [{ code: "token_limit_exceeded", message: "Enqueued token limit reached", param: null, line: null }]
        })
        const { delivered, events, onEvent, sink } = yield* recorder
        const summary = yield* Effect.gen(function*() {
          yield* writeInput(10)
          const fiber = yield* Effect.fork(DurableJob.run({
            jobId: "durable-replay",
            input: "/input.jsonl",
            endpoint, // Room for one part (100 estimated tokens) only: a claim the replay kept would hold the re-send back.
            budget: { limits: { [model]: { tokens: 150 } } },
            plan: { partFraction: 1, workDir: "/work" },
            policy: { resendBackoff: "1 hour" }
          }))
          for (let i = 0; i < 200 && (yield* Fiber.poll(fiber))._tag === "None"; i++) {
            yield* TestClock.adjust("10 minutes")
          }
          const exit = yield* Fiber.poll(fiber)
          if (exit._tag === "None") return yield* Effect.die("the job did not end within 2,000 minutes")
          return yield* exit.value
        }).pipe(Effect.provide(engineOver(simulator, { sink, poll, onEvent })))

        const log = yield* Ref.get(events)
        const planned = log.filter((e) => e._tag === "PartPlanned").length
        assert.strictEqual(planned, 2, "the body ran twice: once, then again after the wake")
        const [part] = summary.parts
        if (part === undefined) return assert.fail("no part")
        assert.deepStrictEqual(part.attempts.map((a) => [a.attempt, a.status, a.errorCode]), [
          [1, "failed", "token_limit_exceeded"],
          [2, "completed", undefined]
        ])
        assert.strictEqual(summary.resends, 1)
        assert.strictEqual(summary.succeeded, 10)
        // Replayed steps came from the journal: one upload (a re-send reuses its file), one create per attempt.
        const counts = yield* requestCounts(simulator)
        assert.strictEqual(counts.get("POST /v1/files"), 1)
        assert.strictEqual(counts.get("POST /v1/batches"), 2)
        const all = yield* Ref.get(delivered)
        assert.strictEqual(all.size, 10)
        assert.isTrue([...all.values()].every((n) => n === 1), "every result delivered once")
        const budgets = log.flatMap((e): Array<JobBudget.Usage> => (e._tag === "BudgetChanged" ? [e.usage] : []))
        // Never over the usable budget (150 x 0.95); after the failure the learned limit is lower, and the re-send
        // goes alone, as a claim alone always does.
        assert.isTrue(budgets.every((u) => u.tokens <= 142), "never over the budget")
        assert.isTrue(budgets.some((u) => u.learned), "the failure taught the ledger")
        assert.strictEqual(budgets[budgets.length - 1]?.tokens, 0, "nothing left claimed at the end")
        const ids =
          (yield* BatchApi.listBatches({ limit: 10 }).pipe(Effect.provide(processOver(simulator)))).data.length
        assert.strictEqual(ids, 2)
        // 3.5 s on a quiet 2-core machine, 17 s at load 13: a cap, not an expectation.
      }),
    300_000
  )
})

describe("DurableJob compensation on the memory engine", () => {
  /** The statuses of the job's batches the simulator holds. */
  const statusesOf = (simulator: BatchApiSimulator.Simulator, jobId: string) =>
    Effect.gen(function*() {
      const page = yield* BatchApi.listBatches({ limit: 100 })
      return page.data.filter((b) => b.metadata?.["eob_job"] === jobId).map((b) => b.status)
    }).pipe(Effect.provide(processOver(simulator)))

  /** The typed failure of an exit, if it has one. */
  const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
    Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

  it.effect("a durable job that fails cancels the batches it made (the workflow's compensation)", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      yield* simulator.scriptNext({
        validating: "1 minute",
        outcome: "failed",
        errors: [{ code: "invalid_request", message: "the file is broken", param: null, line: 1 }]
      })
      const error = yield* Effect.gen(function*() {
        yield* writeInput(30)
        return yield* Effect.flip(drive(
          DurableJob.run({
            jobId: "durable-compensate",
            input: "/input.jsonl",
            endpoint,
            plan: { maxRequestsPerPart: 10, workDir: "/work" }
          }),
          "1 minute"
        ))
      }).pipe(Effect.provide(engineOver(simulator, { poll })))
      assert.strictEqual(error._tag, "PartFailedError")
      const statuses = yield* statusesOf(simulator, "durable-compensate")
      assert.strictEqual(statuses.length, 3)
      assert.deepStrictEqual(statuses.filter((s) => s === "failed").length, 1)
      assert.isTrue(statuses.filter((s) => s !== "failed").every((s) => s === "cancelling" || s === "cancelled"))
    }))

  it.effect("DurableJob.interrupt stops a job and its compensation cancels the batches in flight", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      yield* Effect.gen(function*() {
        yield* writeInput(20)
        yield* DurableJob.start({
          jobId: "durable-stop",
          input: "/input.jsonl",
          endpoint,
          plan: { maxRequestsPerPart: 10, workDir: "/work" }
        })
        for (let i = 0; i < 120 && (yield* statusesOf(simulator, "durable-stop")).length < 2; i++) {
          yield* TestClock.adjust("1 second")
        }
        yield* DurableJob.interrupt("durable-stop")
        // The job is inside its waiting activities: it stops itself within its interrupt check (1 s), while the
        // engine is still up (not at the layer's end), and its end is stored as its result.
        let result = yield* DurableJob.result("durable-stop")
        for (let i = 0; i < 5 && result === undefined; i++) {
          yield* TestClock.adjust("1 second")
          result = yield* DurableJob.result("durable-stop")
        }
        assert.strictEqual(result?._tag, "Complete")
        if (result?._tag === "Complete") assert.strictEqual(failureOf(result.exit)?._tag, "JobInterruptedError")
        const statuses = yield* statusesOf(simulator, "durable-stop")
        assert.strictEqual(statuses.length, 2)
        assert.isTrue(statuses.every((s) => s === "cancelling" || s === "cancelled"), statuses.join(", "))
      }).pipe(Effect.provide(engineOver(simulator, { poll })))
    }))

  it.effect(
    "a job interrupted while `run` waits for it fails that `run`, a `run` again and its `result` with JobInterruptedError (they interrupted their caller)",
    () =>
      Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
        const jobId = "durable-interrupted"
        const payload = { jobId, input: "/input.jsonl", endpoint, plan: { workDir: "/work" } } as const
        const [waiting, again, stored] = yield* Effect.gen(function*() {
          yield* writeInput(10)
          const fiber = yield* Effect.fork(DurableJob.run(payload))
          for (let i = 0; i < 120 && (yield* statusesOf(simulator, jobId)).length < 1; i++) {
            yield* TestClock.adjust("1 second")
          }
          yield* DurableJob.interrupt(jobId)
          // Under `NodeRuntime.runMain`, an interrupted caller is exit code 0 with nothing printed.
          const waiting = yield* Effect.exit(drive(Fiber.join(fiber), "1 second", 10))
          const again = yield* Effect.exit(DurableJob.run(payload))
          return [waiting, again, yield* DurableJob.result(jobId)] as const
        }).pipe(Effect.provide(engineOver(simulator, { poll })))
        assert.deepStrictEqual(
          failureOf(waiting),
          new BatchError.JobInterruptedError({ jobId, operation: "DurableJob.run" })
        )
        assert.deepStrictEqual(
          failureOf(again),
          new BatchError.JobInterruptedError({ jobId, operation: "DurableJob.run" })
        )
        assert.strictEqual(stored?._tag, "Complete")
        if (stored?._tag === "Complete") {
          assert.deepStrictEqual(
            failureOf(stored.exit),
            new BatchError.JobInterruptedError({ jobId, operation: "DurableJob.result" })
          )
        }
        // The second run sent nothing: the job's one batch, cancelled by the interrupt.
        const statuses = yield* statusesOf(simulator, jobId)
        assert.strictEqual(statuses.length, 1)
        assert.isTrue(statuses.every((s) => s === "cancelling" || s === "cancelled"), statuses.join(", "))
      })
  )

  it.effect("the caller's own interruption while `run` waits stays an interruption, and the job runs on", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      const jobId = "durable-caller-interrupted"
      const [exit, result] = yield* Effect.gen(function*() {
        yield* writeInput(10)
        const fiber = yield* Effect.fork(
          DurableJob.run({ jobId, input: "/input.jsonl", endpoint, plan: { workDir: "/work" } })
        )
        for (let i = 0; i < 120 && (yield* statusesOf(simulator, jobId)).length < 1; i++) {
          yield* TestClock.adjust("1 second")
        }
        const exit = yield* Fiber.interrupt(fiber)
        yield* TestClock.adjust("1 second")
        return [exit, yield* DurableJob.result(jobId)] as const
      }).pipe(Effect.provide(engineOver(simulator, { poll })))
      assert.isTrue(Exit.isInterrupted(exit), "the caller was interrupted")
      assert.isUndefined(failureOf(exit), "not turned into a typed error")
      assert.isUndefined(result, "the job has not ended")
      const statuses = yield* statusesOf(simulator, jobId)
      assert.strictEqual(statuses.length, 1)
      assert.isTrue(statuses.every((s) => s !== "cancelling" && s !== "cancelled"), statuses.join(", "))
    }))

  it.effect("a memory engine that shuts down under a waiting `run` is not the job's interruption: no JobInterruptedError", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      const jobId = "durable-engine-down"
      const scope = yield* Scope.make()
      const engine = yield* Layer.buildWithScope(engineOver(simulator, { poll }), scope)
      yield* Effect.provide(writeInput(10), engine)
      const fiber = yield* Effect.fork(
        Effect.provide(DurableJob.run({ jobId, input: "/input.jsonl", endpoint, plan: { workDir: "/work" } }), engine)
      )
      for (let i = 0; i < 120 && (yield* statusesOf(simulator, jobId)).length < 1; i++) {
        yield* TestClock.adjust("1 second")
      }
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Effect.exit(drive(Fiber.join(fiber), "1 second", 10))
      // The job did not end (its batch runs on): the waiting caller is interrupted, as before the typed error.
      assert.isTrue(Exit.isInterrupted(exit))
      assert.isUndefined(failureOf(exit))
      const statuses = yield* statusesOf(simulator, jobId)
      assert.isTrue(statuses.every((s) => s !== "cancelling" && s !== "cancelled"), statuses.join(", "))
    }))

  it("a payload's per-model budget decodes as per model (not as an empty budget)", () => {
    const payload = Schema.decodeUnknownSync(DurableJob.Payload)({
      jobId: "j",
      input: "/in.jsonl",
      endpoint,
      budget: { limits: { [model]: { tokens: 100 } } }
    })
    assert.deepStrictEqual(payload.budget?.limits, { [model]: { tokens: 100 } })
  })
})
