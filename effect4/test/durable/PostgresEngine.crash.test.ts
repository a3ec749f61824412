/**
 * The Postgres engine survives a crash: the SQLite crash test's workflow (an activity, a durable sleep, an
 * activity) on a `PostgresEngine` runner in a child process, on a throwaway PostgreSQL (support/postgres.ts: the
 * system's, else the npm one the root's tests use), killed with SIGKILL during the sleep; a fresh runner at the
 * same address resumes it by itself, and no activity runs twice.
 *
 * Its advisory shard locks die with the killed runner's connections, so the fresh runner takes the shards at once
 * (a runner at another address would wait for the dead one's leases to expire, 35 s by default).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Child from "./support/child.js"
import * as Postgres from "./support/postgres.js"

const script = new URL("./support/workflowChild.ts", import.meta.url).href

const logOf = (file: string): ReadonlyArray<readonly [step: string, pid: number]> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").trim().split("\n").map((line) => {
      const [step = "", pid = ""] = line.split(" ")
      return [step, Number(pid)] as const
    })
    : []

describe("PostgresEngine: a crash during a durable sleep", () => {
  it.live(
    "a fresh runner resumes the workflow after SIGKILL, and runs no activity twice",
    () =>
      Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "eob4-pg-crash-"))),
          (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        const log = path.join(dir, "activities.log")
        const { url } = yield* Postgres.start
        const port = String(yield* Postgres.freePort)

        const first = yield* Child.run(script, ["start", log, "pg", url, port])
        yield* first.printed("suspended")
        first.kill()
        const killed = yield* first.exited
        assert.strictEqual(killed.signal, "SIGKILL")
        assert.deepStrictEqual(logOf(log), [["first", first.pid]], "the first activity ran, the sleep had not ended")

        const second = yield* Child.run(script, ["resume", log, "pg", url, port])
        // The workflow's result, as the fresh process reads it from the engine (the process is then killed with the
        // scope: how it shuts down is not this test's).
        yield* second.printed("complete Success first+second")
        assert.deepStrictEqual(logOf(log), [["first", first.pid], ["second", second.pid]])
      }).pipe(Effect.scoped),
    120_000
  )
})
