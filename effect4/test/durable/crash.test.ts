/**
 * The root's test/durable/crash.test.ts on Effect 4. Crash tests with real processes: a child runs a job against a
 * simulator this test serves over HTTP (its clock a thousand times faster: a batch's six minutes pass in 0.36 s),
 * kills itself with SIGKILL at a chosen point, and a fresh child finishes the job. In-process (`Job.run` again,
 * resuming from the API alone) and on the durable SQLite engine (the fresh process resumes the workflow by itself;
 * `DurableJob.run` then returns the stored summary). And a cluster: two runners share a PostgreSQL the test starts
 * itself; the job is started from this process (a client that runs nothing); the runner that owns it kills itself
 * right after its first create; the other takes its shards over once their leases expire and finishes the job from
 * the journal.
 *
 * One simulator server serves every case (each job has its own id, and the checks read the job's own batches and
 * creates); the cases run concurrently, and the children are bundled once (support/bundle.ts) and run by plain `node`
 * (support/child.ts). The waits are for what the children print, never for a fixed time.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as DurableJob from "../../src/durable/DurableJob.js"
import * as PostgresEngine from "../../src/durable/PostgresEngine.js"
import * as SqliteEngine from "../../src/durable/SqliteEngine.js"
import * as Server from "../../src/testing/server.js"
import { scaled } from "../support/patience.js"
import { checkJob, decodeSummary, writeInput } from "./support/checks.js"
import { awaitLine, ended, runChild, spawnChild, watching } from "./support/children.js"
import type { ChildConfig, KillAt } from "./support/jobChild.js"
import * as Postgres from "./support/postgres.js"

const requests = 30
const perPart = 10
const parts = requests / perPart

/**
 * The waits on children follow their progress, not the clock: a wait fails once the children it watches printed no
 * step (a line per job event, `UP`, ...) for `idle` ms, stretched by the machine's load (test/support/patience.ts).
 * Their longest pauses: a start (up to `UP`) and, in the cluster, the take-over (the lease of 3 s, more under load).
 */
const idle = 20_000

/**
 * Each case's own cap, far above what it takes on a loaded machine: only for children that keep printing and never
 * finish; anything stuck fails at its wait first, with the children's output.
 */
const timeout = 300_000

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "eob4-crash-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * Lowered engine timings (defaults in brackets), stretched by the machine's load when a case starts
 * (test/support/patience.ts): a dead runner is noticed after `shardLockExpiration` [35 s]. A live runner that misses
 * its heartbeat under load is safe: its shards stay locked (advisory locks) until it lets them go.
 * `shardLockRefreshInterval` is also the engine's time-out on each call to its lock storage: at a fixed 500 ms a
 * loaded machine's PostgreSQL missed it over and over (the root's experience, on Effect 3).
 */
const timings = () => {
  const millis = (quiet: number) => `${scaled(quiet)} millis` as const
  return {
    shardLockRefreshInterval: millis(500), // [10 s]
    shardLockExpiration: millis(3_000), // [35 s]
    refreshAssignmentsInterval: millis(500), // [3 s]
    entityMessagePollInterval: millis(500), // [10 s]
    runnerHealthCheckInterval: millis(5_000), // [1 min]
    // A job whose shard moves to a runner that joins later is stopped within this, then resumed there [15 s].
    entityTerminationTimeout: millis(1_000)
  }
}

layer(Server.layer({ speed: 1000 }), { excludeTestServices: true, concurrent: true })(
  "crash and finish: real processes killed with SIGKILL, a fresh process finishes the job",
  (it) => {
    const crashThenFinish = (mode: "job" | "durable", killAt: KillAt) =>
      Effect.gen(function*() {
        const server = yield* Server.BatchApiSimulatorServer
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
        const first = yield* runChild({ ...config, killAt }, idle)
        assert.strictEqual(first.signal, "SIGKILL", `the first process was not killed:\n${first.output}`)
        assert.include(first.lines, `KILL ${killAt}`)
        assert.notInclude(first.lines.join("\n"), "SUMMARY")

        // HOST and PORT, as many platforms set them, must not change the runner's address: with another address the
        // dead process's shard locks would hold the job back until they expire, which the resuming process sets to
        // 10 minutes: it would fail for want of an event long before.
        const second = yield* runChild({ ...config, mode: mode === "job" ? "job" : "durable-resume" }, idle, {
          HOST: "example.internal",
          PORT: "1234"
        })
        assert.strictEqual(second.code, 0, `the second process failed:\n${second.output}`)
        const summary = decodeSummary(second.lines)
        if (mode === "job") {
          // Everything the first process created was found again from the API.
          const created = first.lines.filter((l) => l.startsWith("EVENT PartCreated")).length
          assert.isAtLeast(summary.parts.flatMap((p) => p.attempts).filter((a) => a.resumed).length, created)
        }
        if (mode === "durable") {
          // Any process can read the stored result through a client of the file.
          const stored = yield* DurableJob.result(jobId).pipe(
            Effect.provide(SqliteEngine.layerClient({ filename: config.db ?? "" }))
          )
          assert.strictEqual(stored?._tag, "Complete")
          if (stored?._tag === "Complete") assert.deepStrictEqual(yield* stored.exit, summary)
        }
        yield* checkJob({ simulator: server.simulator, jobId, sinkDir: config.sinkDir, requests, parts, summary })
      })

    // First: most of its time is waiting (PostgreSQL, the lease), which the other cases fill.
    it.effect(
      "DurableJob on two runners sharing a Postgres: the owner dies right after a create, the other takes over and finishes; no batch twice, every result once",
      () =>
        Effect.gen(function*() {
          const server = yield* Server.BatchApiSimulatorServer
          const pg = yield* Postgres.start
          const dir = yield* tempDir
          const input = path.join(dir, "input.jsonl")
          writeInput(input, requests)
          const jobId = "cluster-takeover"
          const shardingConfig = timings()
          const runner = (port: number): ChildConfig => ({
            mode: "pg-runner",
            baseUrl: server.baseUrl,
            jobId,
            input,
            sinkDir: path.join(dir, "results"),
            workDir: path.join(dir, "work"),
            maxRequestsPerPart: perPart,
            killAt: "created",
            // Only the first runner to create a batch dies; the one that replays the create later lives.
            killOnce: path.join(dir, "killed"),
            pg: { url: pg.url, port, shardingConfig }
          })
          const a = yield* spawnChild(runner(yield* Postgres.freePort))
          const b = yield* spawnChild(runner(yield* Postgres.freePort))
          yield* awaitLine(a, (l) => l === "UP", idle)
          yield* awaitLine(b, (l) => l === "UP", idle)
          // Each runner registered in the runners' table, so that the shards are split before the job lands.
          yield* awaitLine(a, (l) => l === "RUNNERS 2", idle)
          yield* awaitLine(b, (l) => l === "RUNNERS 2", idle)

          const client = PostgresEngine.layerClient({ url: Redacted.make(pg.url), shardingConfig })
          const summary = yield* watching(
            [a, b],
            idle,
            "the job did not finish",
            Effect.gen(function*() {
              yield* DurableJob.start({
                jobId,
                input,
                endpoint: "/v1/embeddings",
                plan: { maxRequestsPerPart: perPart, workDir: path.join(dir, "work") }
              })
              // The survivor prints the job's end; its result is stored as the workflow returns, just after.
              // (`race`: the first to succeed; the killed runner's wait fails when it dies.)
              yield* Effect.race(
                a.printedWhere((l) => l === "EVENT JobDone - -"),
                b.printedWhere((l) => l === "EVENT JobDone - -")
              )
              for (;;) {
                const result = yield* DurableJob.result(jobId)
                if (result !== undefined && result._tag === "Complete") return yield* result.exit
                yield* Effect.sleep("50 millis")
              }
            })
          ).pipe(Effect.provide(client))

          const [killed, survivor] = fs.readFileSync(path.join(dir, "killed"), "utf8").trim() === String(a.pid)
            ? [a, b]
            : [b, a]
          const gone = yield* ended(killed, idle)
          assert.strictEqual(gone.signal, "SIGKILL")
          assert.include(gone.lines, "KILL created")
          assert.isTrue(gone.lines.some((l) => l.startsWith("EVENT PartCreated")), "the killed runner owned the job")
          assert.isFalse(gone.lines.includes("EVENT JobDone - -"))
          assert.include(survivor.lines, "EVENT JobDone - -", "the other runner finished it")
          assert.doesNotThrow(() => process.kill(survivor.pid, 0), "the other runner is still up")
          yield* checkJob({
            simulator: server.simulator,
            jobId,
            sinkDir: path.join(dir, "results"),
            requests,
            parts,
            summary
          })
        }),
      timeout
    )

    const inProcess: ReadonlyArray<readonly [KillAt, string]> = [
      ["uploaded", "after an upload (no batch yet)"],
      ["created", "right after a create returned"],
      ["progress", "while waiting for a batch"],
      ["results:15", "in the middle of a delivery of results"]
    ]
    for (const [killAt, when] of inProcess) {
      it.effect(
        `Job.run killed ${when}: a re-run resumes from the API alone, no batch twice, every result once`,
        () => crashThenFinish("job", killAt),
        timeout
      )
    }

    const durable: ReadonlyArray<readonly [KillAt, string]> = [
      ["uploaded", "inside the upload step (not journaled)"],
      ["create-http", "once the API made the batch, before the create step was journaled"],
      ["created", "right after the create step was journaled"],
      ["progress", "inside a waiting step"],
      ["results:15", "inside a results step, mid-delivery"]
    ]
    for (const [killAt, when] of durable) {
      it.effect(
        `DurableJob on SQLite killed ${when}: the engine resumes it on start, no batch twice, every result once`,
        () => crashThenFinish("durable", killAt),
        timeout
      )
    }
  }
)
