/**
 * Nothing left billing, and restarts that adopt their own batches: what a job cancels when it is interrupted or
 * fails (a create in flight included), the duplicates it finds, and the batch a crashed run made that a re-run
 * adopts instead of failing on it. On the simulator under TestClock.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger, Option, Ref, References, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as Cancel from "../../src/internal/job/cancel.js"
import * as History from "../../src/internal/job/history.js"
import * as Job from "../../src/Job.js"
import * as JobBudget from "../../src/JobBudget.js"
import * as JobPlan from "../../src/JobPlan.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { clientOver, drive, embedding, model, poll, processOver, recorder, settle, tempDir } from "./support.js"

const endpoint = "/v1/embeddings" as const

/** The statuses of every batch the simulator holds for `jobId`, by batch id. */
const statuses = (simulator: BatchApiSimulator.Simulator, jobId: string) =>
  BatchApi.streamBatches().pipe(
    Stream.filter((b) => b.metadata?.["eob_job"] === jobId),
    Stream.runCollect,
    Effect.map((all) => new Map(all.map((b) => [b.id, b.status]))),
    Effect.provide(clientOver(simulator))
  )

const stopped = (status: string | undefined) => status === "cancelling" || status === "cancelled"

describe("a job leaves nothing billing", () => {
  it.effect("interrupted with creates in flight: every batch it made or may have made is cancelled, each reported", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      // The third create is stored by the API, and its answer never comes: the job cannot know its id.
      yield* simulator.injectFault(BatchApiSimulator.commitThenTimeout, {
        match: (request) =>
          request.method === "POST" && request.path === "/v1/batches" &&
          new TextDecoder().decode(request.body).includes("\"eob_part\":\"3\"")
      })
      const { events, onEvent } = yield* recorder
      const fiber = yield* Effect.forkChild(
        Job.run(Array.from({ length: 30 }, (_, i) => embedding(i)), {
          jobId: "stop",
          endpoint,
          plan: { maxRequestsPerPart: 10 },
          policy: { poll },
          onEvent
        }).pipe(Effect.provide(processOver(simulator)))
      )
      for (let i = 0; i < 100 && (yield* statuses(simulator, "stop")).size < 3; i++) {
        yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      }
      // The third create is still in flight (its answer would come after a 60 s timeout and a lookup).
      const creates = (yield* simulator.requests).filter((r) => r.method === "POST" && r.path === "/v1/batches")
      assert.deepStrictEqual(creates.map((r) => r.fault ?? "answered").sort(), [
        "CommitThenTimeout",
        "answered",
        "answered"
      ])
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
      // Bounded: the cancels and the listing that finds the create in flight take at most 10 s each.
      for (let i = 0; i < 20; i++) yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      yield* Fiber.join(interrupting)
      const all = yield* statuses(simulator, "stop")
      assert.strictEqual(all.size, 3)
      assert.isTrue([...all.values()].every(stopped), JSON.stringify([...all]))
      const reported = (yield* Ref.get(events)).flatMap((e) => e._tag === "BatchCancelled" ? [e] : [])
      assert.deepStrictEqual(reported.map((e) => e.part).sort(), [1, 2, 3])
      assert.isTrue(reported.every((e) => e.outcome === "cancelled"))
    }))

  it.effect("a part that fails fails the job, and the job's other batches are cancelled", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      yield* simulator.scriptNext({
        validating: "1 minute",
        outcome: "failed",
        errors: [{ code: "invalid_request", message: "bad line", param: null, line: 2 }]
      })
      const error = yield* drive(
        Job.run(Array.from({ length: 30 }, (_, i) => embedding(i)), {
          jobId: "fails",
          endpoint,
          plan: { maxRequestsPerPart: 10 },
          policy: { poll }
        }),
        "1 minute"
      ).pipe(Effect.provide(processOver(simulator)), Effect.flip)
      assert.strictEqual(error._tag, "PartFailedError")
      if (error._tag === "PartFailedError") {
        // The batch's line 2 is the part's second request: input line 2.
        assert.deepStrictEqual(error.inputLines, [2])
        assert.include(error.message, "(input line 2)")
      }
      const all = [...(yield* statuses(simulator, "fails")).values()]
      assert.strictEqual(all.filter((s) => s === "failed").length, 1)
      assert.strictEqual(all.filter(stopped).length, 2)
    }))

  it.effect("with policy.cancelOnExit false, an interrupted job leaves its batches running", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      const fiber = yield* Effect.forkChild(
        Job.run(Array.from({ length: 20 }, (_, i) => embedding(i)), {
          jobId: "detached",
          endpoint,
          plan: { maxRequestsPerPart: 10 },
          policy: { poll, cancelOnExit: false }
        }).pipe(Effect.provide(processOver(simulator)))
      )
      for (let i = 0; i < 100 && (yield* statuses(simulator, "detached")).size < 2; i++) {
        yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      }
      yield* Fiber.interrupt(fiber)
      const all = [...(yield* statuses(simulator, "detached")).values()]
      assert.deepStrictEqual(all.filter(stopped), [])
    }))

  it.effect("a cancel of a batch that had already ended is told at INFO as such, not as one that keeps running", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      const [done] = yield* simulator.seed({ count: 1, status: "completed" })
      const logs = yield* Ref.make<ReadonlyArray<string>>([])
      const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
        Effect.runSync(Ref.update(logs, (all) => [...all, `${logLevel.toUpperCase()} ${String(message)}`]))
      })
      const outcome = yield* Effect.flatMap(BatchApi.BatchApi, (api) => Cancel.cancelAbandoned(api, done!, "a test"))
        .pipe(
          Effect.provide(clientOver(simulator)),
          Effect.provide(Logger.layer([logger])),
          Effect.provideService(References.MinimumLogLevel, "All")
        )
      assert.strictEqual(outcome, "ended")
      const told = yield* Ref.get(logs)
      assert.isTrue(told.some((line) => line.startsWith("INFO") && line.includes("already ended")), told.join("\n"))
      assert.isFalse(told.some((line) => line.startsWith("WARN")))
    }))
})

describe("a re-run adopts its own batches", () => {
  /** The digest of the first part of `requests`, as a job splits them (one part). */
  const digestOf = (requests: ReadonlyArray<ReturnType<typeof embedding>>) =>
    Effect.flatMap(tempDir, (dir) => JobPlan.plan(requests, { endpoint, dir }).pipe(Stream.runCollect)).pipe(
      Effect.map((parts) => parts[0]!.digest),
      Effect.provide(NodeServices.layer)
    )

  /** What a crashed run left: an upload and a create with the job's own key and tags. */
  const crashedCreate = (jobId: string, digest: string, requests: ReadonlyArray<ReturnType<typeof embedding>>) =>
    Effect.gen(function*() {
      const file = yield* OpenAiFiles.uploadFile({
        file: requests.map((r) => JSON.stringify(r)).join("\n") + "\n",
        filename: "crashed.jsonl",
        purpose: "batch"
      })
      return yield* BatchApi.createBatch(
        {
          input_file_id: file.id,
          endpoint,
          completion_window: "24h",
          metadata: History.metadata(jobId, { part: 1, attempt: 1, kind: "full", digest })
        },
        { idempotencyKey: History.idempotencyKey(jobId, 1, 1) }
      )
    })

  it.effect("a batch the re-run's listing missed is adopted when its create meets the job's own key", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      const requests = Array.from({ length: 10 }, (_, i) => embedding(i))
      const crashed = yield* crashedCreate("adopt", yield* digestOf(requests), requests).pipe(
        Effect.provide(clientOver(simulator))
      )
      // Later, many other batches: a re-run reading one page of the list does not see the crashed run's batch.
      yield* TestClock.adjust("10 hours")
      yield* simulator.seed({ count: 150, spacingSeconds: 30 })
      const { delivered, sink } = yield* recorder
      const summary = yield* drive(
        Job.run(requests, { jobId: "adopt", endpoint, delivery: { sink }, policy: { poll, maxPages: 1 } })
      ).pipe(Effect.provide(processOver(simulator)))
      assert.deepStrictEqual(summary.parts[0]?.attempts.map((a) => a.batchId), [crashed.id])
      assert.strictEqual(summary.succeeded, 10)
      assert.strictEqual((yield* Ref.get(delivered)).size, 10)
      assert.strictEqual((yield* statuses(simulator, "adopt")).size, 1)
      // The re-run's own upload, made for nothing, is deleted.
      const uploads = (yield* simulator.requests).filter((r) => r.method === "POST" && r.path === "/v1/files")
      const deletes = (yield* simulator.requests).filter((r) => r.method === "DELETE")
      assert.deepStrictEqual([uploads.length, deletes.length], [2, 1])
    }))

  it.effect("a duplicate batch of one attempt is found, shown in Job.status, cancelled, and never delivered", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "3 hours" } })
      const requests = Array.from({ length: 10 }, (_, i) => embedding(i))
      const digest = yield* digestOf(requests)
      const [first, second] = yield* Effect.gen(function*() {
        const a = yield* crashedCreate("dup", digest, requests)
        // The documented race: the same attempt made twice (here, through another key).
        const file = yield* OpenAiFiles.uploadFile({
          file: requests.map((r) => JSON.stringify(r)).join("\n") + "\n",
          filename: "again.jsonl",
          purpose: "batch"
        })
        const b = yield* BatchApi.createBatch({
          input_file_id: file.id,
          endpoint,
          completion_window: "24h",
          metadata: History.metadata("dup", { part: 1, attempt: 1, kind: "full", digest })
        })
        return [a, b] as const
      }).pipe(Effect.provide(clientOver(simulator)))
      const status = yield* Job.status("dup").pipe(Effect.provide(clientOver(simulator)))
      assert.strictEqual(status.duplicates, 1)
      assert.strictEqual(status.parts[0]?.batches[0]?.duplicates.length, 1)

      const { delivered, events, onEvent, sink } = yield* recorder
      const summary = yield* drive(
        Job.run(requests, { jobId: "dup", endpoint, delivery: { sink }, policy: { poll }, onEvent })
      )
        .pipe(Effect.provide(processOver(simulator)))
      assert.strictEqual(summary.succeeded, 10)
      assert.isTrue([...(yield* Ref.get(delivered)).values()].every((n) => n === 1), "every result once")
      const found = (yield* Ref.get(events)).flatMap((e) => e._tag === "DuplicateFound" ? [e] : [])
      assert.strictEqual(found.length, 1)
      const kept = found[0]!.keptBatchId
      assert.include([first.id, second.id], kept)
      const other = kept === first.id ? second.id : first.id
      assert.deepStrictEqual([found[0]!.batchId, found[0]!.outcome], [other, "cancelled"])
      const otherNow = yield* simulator.batch(other)
      assert.isTrue(stopped(Option.getOrUndefined(otherNow)?.status))
    }))
})

describe("the job's closing checks are bounded, not paced by their own timeouts", () => {
  // The end-of-job sweep and the cancels run where the job cannot be interrupted (its exit handler): a timeout there
  // must still stop its timer when the work ends first, or every job would wait the whole 10 s before returning.
  const secondsTo = (fiber: Fiber.Fiber<unknown, unknown>) =>
    Effect.gen(function*() {
      let seconds = 0
      yield* settle
      while (fiber.pollUnsafe() === undefined && seconds < 60) {
        yield* TestClock.adjust("1 second")
        yield* settle
        seconds++
      }
      return seconds
    })

  it.effect("a job that ends well returns as soon as its sweep has listed, without waiting out the 10 s timeout", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const { events, onEvent } = yield* recorder
      const fiber = yield* Effect.forkChild(
        Job.run(Array.from({ length: 10 }, (_, i) => embedding(i)), { jobId: "quick", endpoint, onEvent }).pipe(
          Effect.provide(processOver(simulator))
        )
      )
      // Up to the part's last step: its results delivered.
      for (let i = 0; i < 10_000; i++) {
        if ((yield* Ref.get(events)).some((e) => e._tag === "PartDone")) break
        yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      }
      assert.isTrue((yield* Ref.get(events)).some((e) => e._tag === "PartDone"))
      // What is left is the sweep's listing: one request, answered at once.
      const seconds = yield* secondsTo(fiber)
      assert.isBelow(seconds, 10)
      assert.strictEqual((yield* Fiber.join(fiber)).succeeded, 10)
    }))

  it.effect("an interrupted job's cancels end when the API answers, not when their timeout fires", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      const fiber = yield* Effect.forkChild(
        Job.run(Array.from({ length: 20 }, (_, i) => embedding(i)), {
          jobId: "stop-quick",
          endpoint,
          plan: { maxRequestsPerPart: 10 },
          policy: { poll }
        }).pipe(Effect.provide(processOver(simulator)))
      )
      for (let i = 0; i < 100 && (yield* statuses(simulator, "stop-quick")).size < 2; i++) {
        yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      }
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
      const seconds = yield* secondsTo(interrupting)
      assert.isBelow(seconds, 10)
      const all = yield* statuses(simulator, "stop-quick")
      assert.isTrue([...all.values()].every(stopped), JSON.stringify([...all]))
    }))
})

describe("the shared ledger after an interrupted job", () => {
  it.effect("a job interrupted while its create is in flight gives its reservation back", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      // The create is never answered: the job is interrupted while it waits for it.
      yield* simulator.injectFault(BatchApiSimulator.timeout, { match: { method: "POST", path: "/v1/batches" } })
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(
          Job.run(Array.from({ length: 10 }, (_, i) => embedding(i)), { jobId: "leak", endpoint, policy: { poll } })
        )
        const creates = Effect.map(
          simulator.requests,
          (all) => all.filter((r) => r.method === "POST" && r.path === "/v1/batches").length
        )
        for (let i = 0; i < 100 && (yield* creates) === 0; i++) {
          yield* Effect.andThen(settle, TestClock.adjust("1 second"))
        }
        assert.strictEqual(yield* creates, 1)
        const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
        for (let i = 0; i < 20; i++) yield* Effect.andThen(settle, TestClock.adjust("1 second"))
        yield* Fiber.join(interrupting)
        const ledger = yield* JobBudget.Ledger
        const usage = yield* ledger.usage(model)
        // Nothing of the job is in flight any more: the ledger, shared by every job of the layer, must hold nothing.
        assert.deepStrictEqual([usage.tokens, usage.requests], [0, 0])
      }).pipe(Effect.provide(processOver(simulator)))
    }))
})

describe("a cancel that fails transiently", () => {
  it.effect("an interrupted job whose cancel meets one 500 still cancels its batch", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      const fiber = yield* Effect.forkChild(
        Job.run(Array.from({ length: 10 }, (_, i) => embedding(i)), {
          jobId: "flaky-cancel",
          endpoint,
          policy: { poll }
        })
          .pipe(Effect.provide(processOver(simulator)))
      )
      for (let i = 0; i < 100 && (yield* statuses(simulator, "flaky-cancel")).size < 1; i++) {
        yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      }
      // The API answers the first cancel with a 500 (its retry would have worked).
      yield* simulator.injectFault(BatchApiSimulator.serverError(500), { match: { method: "POST", path: /\/cancel$/ } })
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
      for (let i = 0; i < 20; i++) yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      yield* Fiber.join(interrupting)
      const all = [...(yield* statuses(simulator, "flaky-cancel")).values()]
      assert.deepStrictEqual(all.map(stopped), [true], JSON.stringify(all))
    }))

  it.effect("an interrupted job whose listing meets one 500 still finds and cancels the batch of its create in flight", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      // The create is stored by the API, and its answer never comes: only a listing can find its batch.
      yield* simulator.injectFault(BatchApiSimulator.commitThenTimeout, {
        match: { method: "POST", path: "/v1/batches" }
      })
      const fiber = yield* Effect.forkChild(
        Job.run(Array.from({ length: 10 }, (_, i) => embedding(i)), { jobId: "flaky-list", endpoint, policy: { poll } })
          .pipe(Effect.provide(processOver(simulator)))
      )
      for (let i = 0; i < 100 && (yield* statuses(simulator, "flaky-list")).size < 1; i++) {
        yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      }
      yield* simulator.injectFault(BatchApiSimulator.serverError(500), {
        match: { method: "GET", path: "/v1/batches" }
      })
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
      for (let i = 0; i < 20; i++) yield* Effect.andThen(settle, TestClock.adjust("1 second"))
      yield* Fiber.join(interrupting)
      const all = [...(yield* statuses(simulator, "flaky-list")).values()]
      assert.deepStrictEqual(all.map(stopped), [true], JSON.stringify(all))
    }))
})

describe("a job through an API outage", () => {
  it.effect("creates that fail with 5xx for minutes (past the request policy) are tried again: every part completes, one batch each", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "10 minutes" } })
      // Six minutes of 500s on every create: each attempt's own retries (2 within 2 minutes) give up on them.
      yield* simulator.injectFault(BatchApiSimulator.serverError(500), {
        match: { method: "POST", path: "/v1/batches" },
        times: 12
      })
      const { delivered, sink } = yield* recorder
      const summary = yield* drive(
        Job.run(Array.from({ length: 30 }, (_, i) => embedding(i)), {
          jobId: "outage",
          endpoint,
          plan: { maxRequestsPerPart: 10 },
          delivery: { sink },
          policy: { poll }
        }),
        "10 seconds"
      ).pipe(Effect.provide(processOver(simulator)))
      assert.strictEqual(summary.succeeded, 30)
      assert.deepStrictEqual(summary.parts.map((p) => p.attempts.length), [1, 1, 1])
      const all = [...(yield* statuses(simulator, "outage")).values()]
      assert.deepStrictEqual(all, ["completed", "completed", "completed"])
      assert.strictEqual((yield* Ref.get(delivered)).size, 30)
      const creates = (yield* simulator.requests).filter((r) => r.method === "POST" && r.path === "/v1/batches")
      assert.isAbove(creates.filter((r) => r.fault !== undefined).length, 11)
    }))

  it.effect("an outage that outlasts the job's patience (30 minutes by default) fails the job with the API's error", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      yield* simulator.injectFault(BatchApiSimulator.serverError(503), {
        match: { method: "POST", path: "/v1/batches" },
        times: 1_000
      })
      const error = yield* Effect.flip(
        drive(
          Job.run(Array.from({ length: 10 }, (_, i) => embedding(i)), { jobId: "long-outage", endpoint }),
          "1 minute"
        )
      ).pipe(Effect.provide(processOver(simulator)))
      assert.strictEqual(error._tag, "InternalServerError")
      if (error._tag === "InternalServerError") assert.strictEqual(error.status, 503)
      const creates = (yield* simulator.requests).filter((r) => r.method === "POST" && r.path === "/v1/batches")
      // 30 minutes of attempts backing off to 5 minutes apart, each with its own 2 retries: a few dozen, not a storm.
      assert.isAbove(creates.length, 10)
      assert.isBelow(creates.length, 60)
    }))

  it.effect("policy.patience is checked before anything is sent", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      // As from JavaScript or a configuration file: not a duration.
      const policy: Job.PolicyOptions = JSON.parse(`{ "patience": "soon" }`)
      const error = yield* Job.run([embedding(0)], { jobId: "impatient", endpoint, policy }).pipe(
        Effect.flip,
        Effect.provide(processOver(simulator))
      )
      assert.strictEqual(error._tag, "InvalidParamsError")
      assert.include(error.message, "policy.patience")
      assert.deepStrictEqual(yield* simulator.requests, [])
    }))
})
