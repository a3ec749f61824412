/**
 * DurableJob on the real SQLite engine, in-process, on the live clock (the engine's own fibers do not run under
 * TestClock): a runner that stops (a deploy, Ctrl-C, a shard moving to another runner) is not a job that ended.
 *
 * The batches stay in progress until the test lets them end (`scriptBatch`), after the first runner stopped: no
 * fixed seconds of batch time to sit through, and no race between the batches ending and the runner stopping.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Ref } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchError from "../../src/BatchError.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as DurableJob from "../../src/durable/DurableJob.js"
import * as JobInterrupts from "../../src/durable/JobInterrupts.js"
import * as SqliteEngine from "../../src/durable/SqliteEngine.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { clientOver, embedding, recorder } from "../job/support.js"

const endpoint = "/v1/embeddings" as const

/** A runner on `db`; the run of a stopping runner is given 200 ms to end (default 15 s) before it is interrupted. */
const runnerOver = (simulator: BatchApiSimulator.Simulator, db: string, hooks: DurableJob.Hooks) =>
  Layer.provideMerge(
    DurableJob.layer(hooks),
    Layer.mergeAll(
      clientOver(simulator),
      NodeContext.layer,
      SqliteEngine.layer({ filename: db, shardingConfig: { entityTerminationTimeout: "200 millis" } })
    )
  ).pipe(Layer.orDie)

const batchesOf = (simulator: BatchApiSimulator.Simulator, jobId: string) =>
  Effect.gen(function*() {
    const page = yield* BatchApi.listBatches({ limit: 100 })
    return page.data.filter((b) => b.metadata?.["eob_job"] === jobId)
  }).pipe(Effect.provide(clientOver(simulator)))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "eob-sqlite-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * Waits on the live clock, 20 ms at a time, until `check` gives a value: the test's timeout is the only cap (a loaded
 * machine takes longer to get there).
 */
const eventually = <A, E, R>(check: Effect.Effect<A | undefined, E, R>) =>
  Effect.gen(function*() {
    for (;;) {
      const value = yield* check
      if (value !== undefined) return value
      yield* Effect.sleep("20 millis")
    }
  })

/** A temporary directory with the engine's file and an input of 20 embedding requests. */
const setup = Effect.map(tempDir, (dir) => {
  const input = path.join(dir, "input.jsonl")
  fs.writeFileSync(input, Array.from({ length: 20 }, (_, i) => JSON.stringify(embedding(i))).join("\n") + "\n")
  return { db: path.join(dir, "engine.sqlite"), input, workDir: path.join(dir, "work") }
})

describe("DurableJob on the SQLite engine", () => {
  it.scopedLive(
    "DurableJob.interrupt from another process stops a running job within its check: its batches are cancelled and its end is stored",
    () =>
      Effect.gen(function*() {
        const { db, input, workDir } = yield* setup
        // The batches would run for an hour: only the interrupt ends the job within the test.
        const simulator = yield* BatchApiSimulator.make({ script: { validating: "50 millis", inProgress: "1 hour" } })
        const jobId = "sqlite-interrupt"
        const payload: DurableJob.Payload = {
          jobId,
          input,
          endpoint,
          plan: { maxRequestsPerPart: 10, workDir }
        }
        const hooks: DurableJob.Hooks = { poll: BatchSchedule.every("100 millis"), interruptCheck: "100 millis" }
        yield* Effect.gen(function*() {
          yield* DurableJob.start(payload)
          yield* eventually(
            Effect.map(batchesOf(simulator, jobId), (bs) =>
              bs.filter((b) => b.status === "in_progress").length === 2 ? true : undefined)
          )
          // Asked as another process asks (a CLI, another service): `DurableJob.interrupt` there records the request
          // in the file and asks the engine, which cannot reach a running workflow; this process's shortcut (a
          // signal to the jobs it runs) is not taken.
          yield* Effect.gen(function*() {
            const id = yield* DurableJob.executionId(jobId)
            yield* (yield* JobInterrupts.JobInterrupts).request(id)
            yield* DurableJob.JobWorkflow.interrupt(id)
          }).pipe(Effect.provide(SqliteEngine.layerClient({ filename: db })))
          const result = yield* eventually(DurableJob.result(jobId))
          assert.strictEqual(result._tag, "Complete")
          const stopped = new BatchError.JobInterruptedError({ jobId, operation: "DurableJob.run" })
          if (result._tag === "Complete") {
            assert.deepStrictEqual(
              result.exit,
              Exit.fail(new BatchError.JobInterruptedError({ jobId, operation: "DurableJob.result" }))
            )
          }
          // The end read back from the file is a typed failure of `run` too, not an interruption of its caller.
          assert.deepStrictEqual(yield* Effect.flip(DurableJob.run(payload)), stopped)
          // Still on the running engine: the compensation ran when the job stopped, not when the runner closed.
          const statuses = (yield* batchesOf(simulator, jobId)).map((b) =>
            b.status
          )
          assert.strictEqual(statuses.length, 2)
          assert.isTrue(statuses.every((s) => s === "cancelling" || s === "cancelled"), statuses.join(", "))
        }).pipe(Effect.provide(runnerOver(simulator, db, hooks)))
      }),
    60_000
  )

  it.scopedLive(
    "a runner that shuts down mid-wait leaves the job's batches running; the next runner on the file finishes the job, no batch twice, every result once",
    () =>
      Effect.gen(function*() {
        const { db, input, workDir } = yield* setup
        const simulator = yield* BatchApiSimulator.make({
          // In progress until the test ends it (below).
          script: { validating: "10 millis", inProgress: "1 hour", finalizing: "0 millis" }
        })
        const { delivered, sink } = yield* recorder
        const hooks = { sink, poll: BatchSchedule.every("50 millis") }
        const payload: DurableJob.Payload = {
          jobId: "sqlite-shutdown",
          input,
          endpoint,
          plan: { maxRequestsPerPart: 10, workDir }
        }
        // The first runner starts the job and stops once both batches are in progress (the test's timeout is the
        // only cap on the wait: a loaded machine takes longer to get there).
        yield* Effect.gen(function*() {
          yield* DurableJob.start(payload)
          for (;;) {
            const running = (yield* batchesOf(simulator, payload.jobId)).filter((b) => b.status === "in_progress")
            if (running.length === 2) return
            yield* Effect.sleep("20 millis")
          }
        }).pipe(Effect.provide(runnerOver(simulator, db, hooks)))
        const afterStop = yield* batchesOf(simulator, payload.jobId)
        assert.deepStrictEqual(afterStop.map((b) => b.status), ["in_progress", "in_progress"], "nothing cancelled")

        // The batches end while no runner is up; the next runner on the file resumes the job and ends it.
        for (const batch of afterStop) yield* simulator.scriptBatch(batch.id, { inProgress: "0 millis" })
        const summary = yield* DurableJob.run(payload).pipe(Effect.provide(runnerOver(simulator, db, hooks)))
        assert.strictEqual(summary.succeeded, 20)
        assert.deepStrictEqual(summary.parts.map((p) => p.attempts.map((a) => a.status)), [["completed"], [
          "completed"
        ]])
        const final = yield* batchesOf(simulator, payload.jobId)
        assert.deepStrictEqual(final.map((b) => b.status), ["completed", "completed"], "no batch twice")
        const all = yield* Ref.get(delivered)
        assert.strictEqual(all.size, 20)
        assert.isTrue([...all.values()].every((n) => n === 1), "every result delivered once")
      }),
    60_000
  )
})
