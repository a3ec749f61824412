/**
 * A job's work directory on the real file system: removed when the job ends, and what killed runs left behind is
 * removed by the next run (the same job's at once, another job's once it is older than the lookback).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as Job from "../../src/Job.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { clientOver, embedding } from "./support.js"

const jobId = `workdir-${process.pid}`
const ours = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`eob-${jobId}-`))

describe("a job's work directory", () => {
  // Live clock: the real file system's I/O is asynchronous, which TestClock would run ahead of.
  it.live("is removed when the job ends; a killed run's is removed by the next run, another job's once stale", () =>
    Effect.gen(function*() {
      // What two killed runs left: one of this job, one of another job from 8 days ago, and a recent one.
      const killed = path.join(os.tmpdir(), `eob-${jobId}-AbC123`)
      const old = path.join(os.tmpdir(), `eob-${jobId}x-old-Zz9`)
      const recent = path.join(os.tmpdir(), `eob-${jobId}x-new-Yy8`)
      for (const dir of [killed, old, recent]) {
        fs.mkdirSync(dir, { recursive: true })
        fs.writeFileSync(path.join(dir, "input-1.jsonl"), "{}\n")
      }
      const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000)
      fs.utimesSync(old, eightDaysAgo, eightDaysAgo)

      const simulator = yield* BatchApiSimulator.make({
        script: { validating: "5 millis", inProgress: "20 millis", finalizing: "5 millis" }
      })
      let during: ReadonlyArray<string> = []
      const summary = yield* (
        Job.run(Array.from({ length: 20 }, (_, i) => embedding(i)), {
          jobId,
          endpoint: "/v1/embeddings",
          plan: { spool: "files", maxRequestsPerPart: 10 },
          policy: { poll: BatchSchedule.every("10 millis") },
          onEvent: (event) => event._tag === "PlanDone" ? Effect.sync(() => (during = ours())) : Effect.void
        })
      ).pipe(Effect.provide(Layer.merge(clientOver(simulator), NodeServices.layer)))
      assert.strictEqual(summary.succeeded, 20)
      // While it ran: its own directory only (the killed run's was removed).
      assert.strictEqual(during.length, 1)
      assert.notInclude(during, path.basename(killed))
      assert.isFalse(fs.existsSync(old), "another job's directory older than the lookback is removed")
      assert.isTrue(fs.existsSync(recent), "another job's recent directory is left alone: that job may be running")
      assert.deepStrictEqual(ours(), [], "the job's own directory is removed at its end")
      fs.rmSync(recent, { recursive: true, force: true })
    }))
})
