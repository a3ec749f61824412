/**
 * The SQLite engine survives a crash (issue 17, verified by hand on effect 4.1.5 before this test): a workflow with
 * an activity and a durable sleep runs in a child process, which is killed with SIGKILL during the sleep; a fresh
 * process on the same file resumes it by itself (nobody executes it again), and no activity runs twice: the first
 * ran once, in the killed process, the second once, in the fresh one. While the first runs, a runner in the test's
 * process is refused (one runner per file), and its SIGKILL does not leave the file locked.
 *
 * The children are real processes, bundled and run by plain `node` (support/child.ts); the sleep is 2 s of real time
 * (a durable timer is the engine's, not the test's clock), and the waits are for what the children print.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SqliteEngine from "../../src/durable/SqliteEngine.js"
import * as Child from "./support/child.js"

const script = new URL("./support/workflowChild.ts", import.meta.url).href

const logOf = (file: string): ReadonlyArray<readonly [step: string, pid: number]> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").trim().split("\n").map((line) => {
      const [step = "", pid = ""] = line.split(" ")
      return [step, Number(pid)] as const
    })
    : []

describe("SqliteEngine: a crash during a durable sleep", () => {
  it.live("a fresh process resumes the workflow after SIGKILL, and runs no activity twice", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "eob4-sqlite-crash-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const db = path.join(dir, "engine.sqlite")
      const log = path.join(dir, "activities.log")

      const first = yield* Child.run(script, ["start", log, "sqlite", db])
      yield* first.printed("suspended")
      // Another process's runner holds the file: a runner here is refused, naming it.
      const refused = yield* Effect.scoped(Layer.build(SqliteEngine.layer({ filename: db }))).pipe(Effect.flip)
      assert.strictEqual(refused._tag === "RunnerLockedError" ? refused.pid : refused._tag, first.pid)
      first.kill()
      const killed = yield* first.exited
      assert.strictEqual(killed.signal, "SIGKILL")
      assert.deepStrictEqual(logOf(log), [["first", first.pid]], "the first activity ran, the sleep had not ended")

      const second = yield* Child.run(script, ["resume", log, "sqlite", db])
      // The workflow's result, as the fresh process reads it from the engine (the process is then killed with the
      // scope: how it shuts down is not this test's).
      yield* second.printed("complete Success first+second")
      assert.deepStrictEqual(logOf(log), [["first", first.pid], ["second", second.pid]])
    }).pipe(Effect.scoped))
})
