/**
 * Crash tests with real processes: a child runs a job against a simulator this test serves over HTTP (its clock a
 * thousand times faster: a batch's six minutes pass in 0.36 s), kills itself with SIGKILL at a chosen point, and a
 * fresh child finishes the job. In-process (`Job.run` again, resuming from the API alone) and on the durable
 * SQLite engine (the fresh process resumes the workflow by itself; `DurableJob.run` then returns the stored
 * summary). Each case has its own simulator server; the cases run concurrently.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Server from "../../src/testing/server.js"
import { checkJob, decodeSummary, writeInput } from "./support/checks.js"
import { bundle, runChild } from "./support/children.js"
import type { ChildConfig, KillAt } from "./support/jobChild.js"

const requests = 40
const perPart = 10
const parts = requests / perPart

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "eob-crash-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const crashThenFinish = (mode: "job" | "durable", killAt: KillAt) =>
  Effect.gen(function*() {
    const server = yield* Server.make({ speed: 1000 })
    const dir = yield* tempDir
    const input = path.join(dir, "input.jsonl")
    writeInput(input, requests)
    const jobId = `crash-${mode}-${killAt.replace(":", "-")}`
    const config: ChildConfig = {
      mode,
      baseUrl: server.baseUrl,
      jobId,
      input,
      sinkDir: path.join(dir, "results"),
      workDir: path.join(dir, "work"),
      db: path.join(dir, "engine.sqlite"),
      maxRequestsPerPart: perPart
    }
    const first = yield* runChild({ ...config, killAt }, 30_000)
    assert.strictEqual(first.signal, "SIGKILL", `the first process was not killed:\n${first.lines.join("\n")}`)
    assert.include(first.lines, `KILL ${killAt}`)
    assert.notInclude(first.lines.join("\n"), "SUMMARY")

    const second = yield* runChild({ ...config, mode: mode === "job" ? "job" : "durable-resume" }, 30_000)
    assert.strictEqual(second.code, 0, `the second process failed:\n${second.lines.join("\n")}`)
    const summary = decodeSummary(second.lines)
    if (mode === "job") {
      // Everything the first process created was found again from the API.
      const created = first.lines.filter((l) => l.startsWith("EVENT PartCreated")).length
      assert.isAtLeast(summary.parts.flatMap((p) => p.attempts).filter((a) => a.resumed).length, created)
    }
    yield* checkJob({ simulator: server.simulator, jobId, sinkDir: config.sinkDir, requests, parts, summary })
  }).pipe(Effect.scoped)

describe("crash and finish: real processes killed with SIGKILL, a fresh process finishes the job", () => {
  // Built before the cases start, so that their timeouts do not count it.
  beforeAll(() => Effect.runPromise(bundle), 60_000)

  const inProcess: ReadonlyArray<readonly [KillAt, string]> = [
    ["uploaded", "after an upload (no batch yet)"],
    ["created", "right after a create returned"],
    ["progress", "while waiting for a batch"],
    ["results:15", "in the middle of a delivery of results"]
  ]
  for (const [killAt, when] of inProcess) {
    it.live(`Job.run killed ${when}: a re-run resumes from the API alone, no batch twice, every result once`, () =>
      crashThenFinish("job", killAt), { timeout: 90_000, concurrent: true })
  }

  const durable: ReadonlyArray<readonly [KillAt, string]> = [
    ["uploaded", "inside the upload step (not journaled)"],
    ["create-http", "once the API made the batch, before the create step was journaled"],
    ["created", "right after the create step was journaled"],
    ["progress", "inside a waiting step"],
    ["results:15", "inside a results step, mid-delivery"]
  ]
  for (const [killAt, when] of durable) {
    it.live(`DurableJob on SQLite killed ${when}: the engine resumes it on start, no batch twice, every result once`, () =>
      crashThenFinish("durable", killAt), { timeout: 90_000, concurrent: true })
  }
})
