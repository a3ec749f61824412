import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Logger, Ref, Stream, TestClock } from "effect"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as Job from "../../src/Job.js"
import * as JobProgress from "../../src/JobProgress.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { assertFollowedUp, drive, embedding, model, poll, processOver, recorder } from "./support.js"

const endpoint = "/v1/embeddings" as const

/** Every batch the simulator holds, as [part, attempt] pairs of the job. */
const jobBatches = (simulator: BatchApiSimulator.Simulator, jobId: string) =>
  Effect.gen(function*() {
    const page = yield* BatchApi.listBatches({ limit: 100 })
    return page.data
      .filter((batch) => batch.metadata?.["eob_job"] === jobId)
      .map((batch) => `${batch.metadata?.["eob_part"]}/${batch.metadata?.["eob_attempt"]}`)
  }).pipe(Effect.provide(processOver(simulator)))

describe("Job.run", () => {
  it.effect(
    "50,000 requests in 20 parts of 2,500 under a budget that queues them: never over budget, every result once",
    () =>
      Effect.gen(function*() {
        // Each request is estimated at 10 tokens (the simulator counts 8): a part of 2,500 claims 25,000; the usable
        // budget (78,948 x 0.95 = 75,000) holds exactly three at once (so packing keeps parts of 2,500), and the
        // other parts queue. (The scale itself is the benchmark's: bench/RESULTS.md has the 1,000,000-request job.)
        const simulator = yield* BatchApiSimulator.make({ enqueuedTokenLimit: 87_500 })
        const { delivered, events, onEvent, sink } = yield* recorder
        const requests = Array.from({ length: 50_000 }, (_, i) => embedding(i))
        const summary = yield* drive(
          Job.run(requests, {
            jobId: "big",
            endpoint,
            onEvent,
            budget: { limits: { tokens: 78_948 } },
            plan: { partFraction: 1, maxRequestsPerPart: 2_500 },
            delivery: { sink },
            policy: { poll }
          })
        ).pipe(Effect.provide(processOver(simulator)))
        assert.deepStrictEqual(summary.parts.map((p) => p.requests), Array.from({ length: 20 }, () => 2_500))
        assert.strictEqual(summary.batches, 20)
        assert.strictEqual(summary.resends, 0)
        assert.strictEqual(summary.succeeded, 50_000)
        assert.strictEqual(summary.missing, 0)
        const all = yield* Ref.get(delivered)
        assert.strictEqual(all.size, 50_000)
        assert.isTrue([...all.values()].every((n) => n === 1), "every result delivered exactly once")
        const log = yield* Ref.get(events)
        const budgets = log.flatMap((e) => e._tag === "BudgetChanged" || e._tag === "PartQueued" ? [e.usage] : [])
        assert.isTrue(
          budgets.every((u) => u.tokens <= u.tokenBudget),
          "the in-flight estimate never exceeds the budget"
        )
        assert.strictEqual(Math.max(...budgets.map((u) => u.tokens)), 75_000)
        assert.isTrue(budgets.some((u) => u.waiting > 0), "parts queued for room")
        assert.strictEqual(log.filter((e) => e._tag === "PartCreated").length, 20)
      }),
    // 13 s on a quiet 2-core machine, 47 s at load 16: a cap, not an expectation.
    { timeout: 300_000 }
  )

  it.effect("a batch failed on the enqueued token limit is re-sent once room frees up", () =>
    Effect.gen(function*() {
      // The job sees no limit; the API (simulator) allows 2 of the 4 parts at once and fails the others late.
      const simulator = yield* BatchApiSimulator.make({ enqueuedTokenLimit: 200 })
      const { delivered, events, onEvent, sink } = yield* recorder
      const summary = yield* drive(
        Job.run(Array.from({ length: 40 }, (_, i) => embedding(i)), {
          jobId: "limits",
          endpoint,
          onEvent,
          plan: { maxRequestsPerPart: 10 },
          delivery: { sink },
          policy: { poll }
        })
      ).pipe(Effect.provide(processOver(simulator)))
      assert.strictEqual(summary.succeeded, 40)
      assert.isAtLeast(summary.resends, 2)
      assert.strictEqual(summary.batches, 4 + summary.resends)
      const failed = summary.parts.flatMap((p) => p.attempts).filter((a) => a.status === "failed")
      assert.strictEqual(failed.length, summary.resends)
      assert.isTrue(failed.every((a) => a.errorCode === "token_limit_exceeded"))
      assert.strictEqual((yield* Ref.get(delivered)).size, 40)
      const resent = (yield* Ref.get(events)).filter((e) => e._tag === "PartResent")
      assert.isTrue(resent.every((e) => e._tag === "PartResent" && e.reason === "token_limit_exceeded"))
      // One batch per part attempt, nothing twice.
      const made = yield* jobBatches(simulator, "limits")
      assert.strictEqual(new Set(made).size, made.length)
      assert.strictEqual(made.length, summary.batches)
    }))

  it.effect("an expired part keeps its results and sends only the missing custom_ids again", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      yield* simulator.scriptNext({ outcome: "expired" })
      const { delivered, sink } = yield* recorder
      const summary = yield* drive(
        // An expiry comes after 24 hours: poll hourly.
        Job.run(Array.from({ length: 20 }, (_, i) => embedding(i)), {
          jobId: "expiry",
          endpoint,
          delivery: { sink },
          policy: { poll: BatchSchedule.every("1 hour") }
        }),
        "1 hour"
      ).pipe(Effect.provide(processOver(simulator)))
      const part = yield* assertFollowedUp(summary, delivered, 20)
      // The follow-up's input file holds exactly what the expired batch left undone.
      const followUp = part.attempts[1]
      const expired = part.attempts[0]
      if (followUp === undefined || expired === undefined) return
      const first = yield* simulator.batch(expired.batchId)
      const second = yield* simulator.batch(followUp.batchId)
      if (first._tag === "None" || second._tag === "None") return assert.fail("batches not found")
      const done = first.value.request_counts?.completed ?? 0
      assert.isAbove(done, 0)
      assert.strictEqual(second.value.request_counts?.total, 20 - done)
      const input = yield* simulator.file(second.value.input_file_id)
      if (input._tag === "None") return assert.fail("follow-up input file not found")
      const ids = new TextDecoder().decode(input.value.content).trim().split("\n").map((line) =>
        JSON.parse(line).custom_id as string
      )
      assert.strictEqual(ids.length, 20 - done)
      const output = yield* simulator.file(first.value.output_file_id ?? "")
      const answered = output._tag === "None"
        ? []
        : new TextDecoder().decode(output.value.content).trim().split("\n").map((line) =>
          JSON.parse(line).custom_id as string
        )
      assert.deepStrictEqual(new Set([...ids, ...answered]).size, 20)
      assert.isTrue(ids.every((id) => !answered.includes(id)))
    }))

  it.effect("interrupting a job cancels its batches in flight, in bounded time", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "6 hours" } })
      const { events, onEvent } = yield* recorder
      const fiber = yield* Effect.fork(
        Job.run(Array.from({ length: 30 }, (_, i) => embedding(i)), {
          jobId: "stop",
          endpoint,
          onEvent,
          plan: { maxRequestsPerPart: 10 },
          policy: { poll }
        }).pipe(
          Effect.provide(processOver(simulator))
        )
      )
      for (let i = 0; i < 100 && (yield* Ref.get(events)).filter((e) => e._tag === "PartCreated").length < 3; i++) {
        yield* TestClock.adjust("1 minute")
      }
      yield* TestClock.adjust("30 minutes")
      yield* Fiber.interrupt(fiber)
      const created = (yield* Ref.get(events)).flatMap((e) => e._tag === "PartCreated" ? [e.batch.id] : [])
      assert.strictEqual(created.length, 3)
      for (const id of created) {
        const batch = yield* simulator.batch(id)
        assert.include(["cancelling", "cancelled"], batch._tag === "Some" ? batch.value.status : "missing")
      }
    }))

  it.effect("a per-model budget that leaves the requests' model out is told once, at WARN, naming the model", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      const warnings = (jobId: string, limits: Job.Options["budget"]) =>
        Effect.gen(function*() {
          const lines: Array<string> = []
          const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
            if (logLevel.label === "WARN") lines.push(String(message))
          })
          yield* drive(
            Job.run(Array.from({ length: 4 }, (_, i) => embedding(i)), {
              jobId,
              endpoint,
              budget: limits,
              plan: { maxRequestsPerPart: 2 },
              policy: { poll }
            })
          ).pipe(Effect.provide(processOver(simulator)), Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
          return lines
        })
      const typo = yield* warnings("typo", { limits: { [`${model}-typo`]: { tokens: 10_000 } } })
      assert.strictEqual(typo.length, 1, typo.join("\n"))
      assert.include(typo[0], `names no limit for model ${model}`)
      assert.deepStrictEqual(yield* warnings("named", { limits: { [model]: { tokens: 10_000 } } }), [])
      assert.deepStrictEqual(yield* warnings("star", { limits: { "*": { tokens: 10_000 } } }), [])
    }))

  it.effect("interrupted three times (its batches cancelled on exit), a re-run still sends every request", () =>
    Effect.gen(function*() {
      // Each batch ends a third done when cancelled: the simulator keeps the results of the lines it had run.
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "3 hours" } })
      const requests = Array.from({ length: 10 }, (_, i) => embedding(i))
      const options = { jobId: "thrice", endpoint, policy: { poll } } as const
      for (let run = 1; run <= 3; run++) {
        const { events, onEvent } = yield* recorder
        const fiber = yield* Effect.fork(
          Job.run(requests, { ...options, onEvent }).pipe(Effect.provide(processOver(simulator)))
        )
        const created = () => Effect.map(Ref.get(events), (log) => log.filter((e) => e._tag === "PartCreated").length)
        for (let i = 0; i < 100 && (yield* created()) < 1; i++) yield* TestClock.adjust("1 minute")
        yield* TestClock.adjust("1 hour")
        yield* Fiber.interrupt(fiber)
        yield* TestClock.adjust("10 minutes")
      }
      yield* simulator.setDefaultScript({ inProgress: "10 minutes" })
      const summary = yield* drive(Job.run(requests, options)).pipe(Effect.provide(processOver(simulator)))
      assert.strictEqual(summary.succeeded, 10)
      assert.strictEqual(summary.missing, 0)
      assert.deepStrictEqual(summary.parts.map((p) => p.status), ["completed"])
    }))

  it.effect("a re-run in a fresh process resumes from the API alone: no batch twice, every result delivered", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      const requests = Array.from({ length: 60 }, (_, i) => embedding(i))
      // Part 1 ends quickly; the others take 5 hours. The first process dies (no cancel) after 2 hours.
      yield* simulator.scriptNext({ inProgress: "10 minutes" })
      yield* simulator.setDefaultScript({ inProgress: "5 hours" })
      const first = yield* recorder
      const options = {
        jobId: "resume-1",
        endpoint,
        plan: { maxRequestsPerPart: 20 },
        policy: { poll, cancelOnExit: false }
      } as const
      const crashed = yield* Effect.fork(
        Job.run(requests, { ...options, delivery: { sink: first.sink } }).pipe(Effect.provide(processOver(simulator)))
      )
      yield* TestClock.adjust("2 hours")
      yield* Fiber.interrupt(crashed)
      const before = yield* jobBatches(simulator, "resume-1")
      assert.strictEqual(before.length, 3)
      assert.strictEqual((yield* Ref.get(first.delivered)).size, 20)

      const second = yield* recorder
      const summary = yield* drive(
        Job.run(requests, { ...options, delivery: { sink: second.sink }, onEvent: second.onEvent })
      ).pipe(
        Effect.provide(processOver(simulator))
      )
      assert.strictEqual(summary.succeeded, 60)
      const after = yield* jobBatches(simulator, "resume-1")
      assert.deepStrictEqual([...after].sort(), [...before].sort(), "no batch made twice")
      assert.isTrue(summary.parts.every((p) => p.attempts.every((a) => a.resumed)))
      // Without a sink that remembers, the re-run delivers everything again (sinks are idempotent per delivery).
      assert.strictEqual((yield* Ref.get(second.delivered)).size, 60)
      const resumed = (yield* Ref.get(second.events)).filter((e) => e._tag === "PartCreated" && e.resumed)
      assert.strictEqual(resumed.length, 3)
    }))

  it.effect("a re-run whose requests changed under the same custom_ids (body, model) adopts no batch of the old ones", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      yield* simulator.setDefaultScript({ inProgress: "5 hours" })
      const options = { jobId: "edited", endpoint, policy: { poll, cancelOnExit: false } } as const
      const old = Array.from({ length: 5 }, (_, i) => embedding(i))
      const crashed = yield* Effect.fork(Job.run(old, options).pipe(Effect.provide(processOver(simulator))))
      yield* TestClock.adjust("1 hour")
      yield* Fiber.interrupt(crashed)
      assert.strictEqual((yield* jobBatches(simulator, "edited")).length, 1)
      // The same custom_ids: one prompt edited, or every request moved to another model.
      const edited = old.map((r, i) => i === 2 ? { ...r, body: { ...r.body, input: "an edited prompt" } } : r)
      const moved = old.map((r) => ({ ...r, body: { ...r.body, model: "text-embedding-3-large" } }))
      for (const requests of [edited, moved]) {
        const error = yield* Effect.flip(drive(Job.run(requests, options)).pipe(Effect.provide(processOver(simulator))))
        assert.strictEqual(error._tag, "JobInputChangedError")
      }
      assert.strictEqual((yield* jobBatches(simulator, "edited")).length, 1)
    }))
})

describe("Job.stream and Job.status", () => {
  it.effect("a bad input line fails the stream with an error naming Job.stream, the function called", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      const error = yield* Job.stream([embedding(0), embedding(0)], { jobId: "bad", endpoint, policy: { poll } }).pipe(
        Stream.runDrain,
        Effect.provide(processOver(simulator)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "DuplicateCustomIdError")
      assert.match(error.message, /^Job\.stream: request 2 repeats custom_id doc-0 of request 1/)
      // nothing uploaded, no batch (the only request is the look for an earlier run's batches)
      assert.deepStrictEqual((yield* simulator.requests).filter((r) => r.method !== "GET"), [])
    }))

  it.effect("streams every result tagged with its part and batch; status reads the job from the API", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      const results = yield* drive(
        Stream.runCollect(
          Job.stream(Array.from({ length: 25 }, (_, i) => embedding(i)), {
            jobId: "streamed",
            endpoint,
            plan: { maxRequestsPerPart: 10 },
            policy: { poll }
          })
        )
      ).pipe(Effect.provide(processOver(simulator)))
      const all = Chunk.toReadonlyArray(results)
      assert.strictEqual(all.length, 25)
      assert.deepStrictEqual([...new Set(all.map((r) => r.part))].sort(), [1, 2, 3])
      assert.isTrue(all.every((r) => r.jobId === "streamed" && r.attempt === 1 && r.batchId.startsWith("batch_")))
      const status = yield* Job.status("streamed").pipe(Effect.provide(processOver(simulator)))
      assert.deepStrictEqual(status.parts.map((p) => [p.part, p.batches.length]), [[1, 1], [2, 1], [3, 1]])
      assert.strictEqual(status.inFlight, 0)
      const none = yield* Job.status("other").pipe(Effect.provide(processOver(simulator)))
      assert.deepStrictEqual(none.parts, [])
    }))

  it.effect("a consumer that stops reading early ends the job: its batches still running are cancelled, none made after", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({ script: { inProgress: "5 hours" } })
      yield* simulator.scriptNext({ inProgress: "20 minutes" })
      const results = yield* drive(
        Stream.runCollect(
          Job.stream(Array.from({ length: 25 }, (_, i) => embedding(i)), {
            jobId: "stopped",
            endpoint,
            plan: { maxRequestsPerPart: 10 },
            policy: { poll }
          }).pipe(Stream.take(3))
        )
      ).pipe(Effect.provide(processOver(simulator)))
      assert.strictEqual(results.length, 3)
      yield* TestClock.adjust("1 hour")
      const page = yield* BatchApi.listBatches({ limit: 100 }).pipe(Effect.provide(processOver(simulator)))
      const batches = page.data.filter((batch) => batch.metadata?.["eob_job"] === "stopped")
      assert.deepStrictEqual(batches.map((b) => b.status).sort(), ["cancelled", "cancelled", "completed"])
    }))

  it.effect("the progress view folds the events into lines a terminal can draw", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      const { events, onEvent } = yield* recorder
      yield* drive(
        Job.run(Array.from({ length: 30 }, (_, i) => embedding(i)), {
          jobId: "view",
          endpoint,
          onEvent,
          budget: { limits: { [model]: { tokens: 250 } } },
          plan: { maxRequestsPerPart: 10, partFraction: 1 },
          policy: { poll }
        })
      ).pipe(Effect.provide(processOver(simulator)))
      const progress = (yield* Ref.get(events)).reduce((p, e) => JobProgress.update(p, e, 0), JobProgress.initial)
      assert.isTrue(progress.done)
      assert.strictEqual(progress.requestsDone, 30)
      const lines = JobProgress.render(progress, 0)
      assert.include(lines[0], "30/30 requests (0s, done)")
      assert.isTrue(lines.some((line) => line.includes(`${model}: 0/237 enqueued tokens`)))
      // Parts of 7 (70 tokens): three fill the usable 237.
      assert.strictEqual(lines.filter((line) => line.includes("part")).length, 5)
    }))
})

describe("Job.run: failures and policies", () => {
  it.effect("a part whose batch fails validation fails the job; with onPartFailure continue, the other parts go on", () =>
    Effect.gen(function*() {
      const failing = {
        outcome: "failed",
        errors: [{ code: "invalid_request", message: "bad line", param: null, line: 3 }]
      } as const
      const requests = Array.from({ length: 30 }, (_, i) => embedding(i))
      const stops = yield* BatchApiSimulator.make({})
      yield* stops.scriptNext(failing)
      const error = yield* drive(
        Job.run(requests, { jobId: "fails", endpoint, plan: { maxRequestsPerPart: 10 }, policy: { poll } })
      ).pipe(
        Effect.provide(processOver(stops)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "PartFailedError")
      if (error._tag === "PartFailedError") {
        assert.deepStrictEqual([error.part, error.reason, error.errors[0]?.line], [1, "failed", 3])
        // The error names the operation the user called, first in its message.
        assert.strictEqual(error.operation, "Job.run")
        assert.isTrue(error.message.startsWith("Job.run: job fails, part 1: "), error.message)
      }
      const goesOn = yield* BatchApiSimulator.make({})
      yield* goesOn.scriptNext(failing)
      const summary = yield* drive(
        Job.run(requests, {
          jobId: "goes-on",
          endpoint,
          plan: { maxRequestsPerPart: 10 },
          policy: { poll, onPartFailure: "continue" }
        })
      ).pipe(
        Effect.provide(processOver(goesOn))
      )
      assert.deepStrictEqual(summary.parts.map((p) => p.status), ["failed", "completed", "completed"])
      assert.include(summary.parts[0]?.failure ?? "", "invalid_request: bad line")
      assert.strictEqual(summary.succeeded, 20)
    }))

  it.effect("lines that ran and failed are results, unless resendWhen asks: then only they are sent again", () =>
    Effect.gen(function*() {
      // doc-1 and doc-2 answer 503 the first time they are asked, 200 after.
      const asked = new Map<string, number>()
      const responder: BatchApiSimulator.Responder = (line) => {
        const n = (asked.get(line.custom_id) ?? 0) + 1
        asked.set(line.custom_id, n)
        return (line.custom_id === "doc-1" || line.custom_id === "doc-2") && n === 1
          ? {
            status_code: 503,
            body: { error: { message: "overloaded", type: "server_error", param: null, code: null } }
          }
          : {
            status_code: 200,
            body: {
              object: "list",
              data: [{ object: "embedding", index: 0, embedding: [0.1] }],
              usage: { prompt_tokens: 1, total_tokens: 1 }
            }
          }
      }
      const requests = Array.from({ length: 5 }, (_, i) => embedding(i))
      const kept = yield* drive(Job.run(requests, { jobId: "kept", endpoint, policy: { poll } })).pipe(
        Effect.provide(processOver(yield* BatchApiSimulator.make({ responder })))
      )
      assert.deepStrictEqual([kept.succeeded, kept.failed, kept.followUps], [3, 2, 0])
      asked.clear()
      const { delivered, sink } = yield* recorder
      const resent = yield* drive(
        Job.run(requests, {
          jobId: "resent",
          endpoint,
          delivery: {
            sink,
            resendWhen: (result) => result._tag === "FailedResponse" && result.response.status_code >= 500
          },
          policy: { poll }
        })
      ).pipe(Effect.provide(processOver(yield* BatchApiSimulator.make({ responder }))))
      assert.deepStrictEqual([resent.succeeded, resent.failed, resent.followUps], [5, 0, 1])
      assert.strictEqual(resent.parts[0]?.attempts[1]?.requests, 2)
      assert.isTrue([...(yield* Ref.get(delivered)).values()].every((n) => n === 1))
    }))

  it.effect("a request's error names Job.run, the operation called, not the service call under it", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      yield* simulator.injectFault(BatchApiSimulator.serverError(500), {
        match: { method: "POST", path: "/v1/files" },
        times: 10
      })
      // No retry, and no patience: the first 500 fails the job.
      const error = yield* Job.run([embedding(0)], { jobId: "named", endpoint, policy: { poll, patience: 0 } }).pipe(
        BatchSchedule.withRetry(BatchSchedule.noRetry),
        Effect.provide(processOver(simulator)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "InternalServerError")
      assert.strictEqual(error._tag === "InternalServerError" ? error.operation : undefined, "Job.run")
      assert.isTrue(error.message.startsWith("Job.run: "), error.message)
    }))

  it.effect("a job interrupted mid-upload leaves no batch behind", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      yield* simulator.injectFault(BatchApiSimulator.timeout, { match: { method: "POST", path: "/v1/files" } })
      const fiber = yield* Effect.fork(
        Job.run(Array.from({ length: 10 }, (_, i) => embedding(i)), { jobId: "cut", endpoint, policy: { poll } }).pipe(
          Effect.provide(processOver(simulator))
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const uploads = (yield* simulator.requests).filter((r) => r.path === "/v1/files")
      assert.strictEqual(uploads.length, 1)
      assert.deepStrictEqual(yield* jobBatches(simulator, "cut"), [])
    }))
})
