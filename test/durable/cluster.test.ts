/**
 * Two runner processes share a PostgreSQL the test starts itself; the job is started from this process (a client
 * that runs nothing); the runner that owns it kills itself with SIGKILL right after its first create; the other
 * runner takes its shards over once their leases expire and finishes the job from the journal.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as DurableJob from "../../src/durable/DurableJob.js"
import * as PostgresEngine from "../../src/durable/PostgresEngine.js"
import * as Server from "../../src/testing/server.js"
import { checkJob, writeInput } from "./support/checks.js"
import { awaitLine, bundle, ended, spawnChild } from "./support/children.js"
import type { ChildConfig } from "./support/jobChild.js"
import * as Postgres from "./support/postgres.js"

/**
 * Lowered engine timings (defaults in brackets): a dead runner is noticed after `shardLockExpiration` [35 s]. A
 * live runner that misses its heartbeat under load is safe: its shards stay locked (advisory locks) until it lets
 * them go.
 */
const timings = {
  shardLockRefreshInterval: "500 millis", // [10 s]
  shardLockExpiration: "3 seconds", // [35 s]
  refreshAssignmentsInterval: "500 millis", // [3 s]
  entityMessagePollInterval: "500 millis", // [10 s]
  runnerHealthCheckInterval: "5 seconds" // [1 min]
} as const

const requests = 40
const perPart = 10

describe("DurableJob on two runners sharing a Postgres", () => {
  beforeAll(() => Effect.runPromise(bundle), 60_000)

  it.scopedLive("the runner that owns a job dies right after a create: the other finishes it, no batch twice, every result once", () =>
    Effect.gen(function*() {
      const pg = yield* Postgres.start
      const server = yield* Server.make({ speed: 1000 })
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "eob-cluster-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const input = path.join(dir, "input.jsonl")
      writeInput(input, requests)
      const jobId = "cluster-takeover"
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
        pg: { url: pg.url, port, shardingConfig: timings }
      })
      const a = yield* spawnChild(runner(yield* Postgres.freePort))
      const b = yield* spawnChild(runner(yield* Postgres.freePort))
      yield* awaitLine(a, (l) => l === "UP", 20_000)
      yield* awaitLine(b, (l) => l === "UP", 20_000)
      // Let each runner see the other in the runners' table, so the shards are split before the job lands.
      yield* Effect.sleep("1 second")

      const client = PostgresEngine.layerClient({ url: Redacted.make(pg.url), shardingConfig: timings })
      const summary = yield* Effect.gen(function*() {
        yield* DurableJob.start({ jobId, input, endpoint: "/v1/embeddings", maxRequestsPerPart: perPart, workDir: path.join(dir, "work") })
        for (;;) {
          const result = yield* DurableJob.result(jobId)
          if (result !== undefined && result._tag === "Complete") return yield* result.exit
          yield* Effect.sleep("200 millis")
        }
      }).pipe(Effect.timeout("40 seconds"), Effect.provide(Layer.fresh(client)))

      const [killed, survivor] = fs.readFileSync(path.join(dir, "killed"), "utf8").trim() === String(a.pid) ? [a, b] : [b, a]
      const gone = yield* ended(killed, 5_000)
      assert.strictEqual(gone.signal, "SIGKILL")
      assert.include(gone.lines, "KILL created")
      assert.isTrue(gone.lines.some((l) => l.startsWith("EVENT PartCreated")), "the killed runner owned the job")
      assert.isFalse(gone.lines.includes("EVENT JobDone - -"))
      assert.include(survivor.lines, "EVENT JobDone - -", "the other runner finished it")
      assert.doesNotThrow(() => process.kill(survivor.pid, 0), "the other runner is still up")
      yield* checkJob({ simulator: server.simulator, jobId, sinkDir: path.join(dir, "results"), requests, parts: requests / perPart, summary })
    }), 60_000)
})
