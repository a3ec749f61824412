/**
 * The root's test/durable/support/jobChild.ts on Effect 4: a process that runs a job against a simulator served over
 * HTTP, for test/durable/crash.test.ts. Bundled (support/bundle.ts) and run with `node jobChild.mjs '<config json>'`
 * (support/child.ts; one pid, so a SIGKILL is exact).
 *
 * It kills ITSELF with SIGKILL at the point `killAt` names, the first time it is reached: exact and deterministic,
 * where a kill from the parent would land some milliseconds later. With `killOnce`, only the first process to
 * reach the point (across processes) kills itself: the file is created exclusively first.
 *
 * Modes:
 * - `job`: `Job.run` of the input file (in-process; a re-run resumes from the API alone).
 * - `durable`: `DurableJob.run` on `SqliteEngine.layer(db)`.
 * - `durable-resume`: `SqliteEngine.layer(db)` without calling anything: waits for the engine to finish the job by
 *   itself (its `JobDone` event; it fails once 15 s, stretched by the machine's load, pass without an event), then
 *   asks `DurableJob.run` for the stored summary. Its shard locks expire after 10 minutes: a stale lock of the dead
 *   process is never simply waited out (the runner's address is `SqliteEngine.defaults.runnerAddress`, the dead
 *   one's, whatever HOST and PORT say).
 * - `pg-runner`: a runner of `PostgresEngine.layer`, up until killed. It prints `RUNNERS <n>` each time the number
 *   of runners in the database changes (the test waits for both runners before it starts the job).
 *
 * Prints `UP` once the engine is built, `EVENT <tag> <part> <attempt>` per event, `KILL <point>` just before it dies,
 * `SUMMARY <json>` at the end, `FAILED <cause>` on a failure (pipes are synchronous on Linux: a line written before
 * the kill is read).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Deferred, Duration, Effect, Layer, Redacted, Sink } from "effect"
import type * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as SqlClient from "effect/sql/SqlClient"
import type * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import * as fs from "node:fs"
import * as BatchClient from "../../../src/BatchClient.js"
import type * as BatchLine from "../../../src/BatchLine.js"
import * as BatchSchedule from "../../../src/BatchSchedule.js"
import * as DurableJob from "../../../src/durable/DurableJob.js"
import * as Job from "../../../src/Job.js"
import type * as JobReport from "../../../src/JobReport.js"
import * as JobSink from "../../../src/JobSink.js"
import * as OpenAiConfig from "../../../src/OpenAiConfig.js"
import { testApiKey } from "../../../src/testing/BatchApiSimulator.js"
import { whileProgressing } from "../../support/patience.js"

/** Where a process kills itself. `results:N`: in the sink, after N results in all. */
export type KillAt = "uploaded" | "create-http" | "created" | "progress" | `results:${number}`

export interface ChildConfig {
  readonly mode: "job" | "durable" | "durable-resume" | "pg-runner"
  readonly baseUrl: string
  readonly jobId: string
  readonly input: string
  readonly sinkDir: string
  readonly workDir: string
  readonly maxRequestsPerPart: number
  readonly killAt?: KillAt | undefined
  readonly killOnce?: string | undefined
  readonly db?: string | undefined
  readonly pg?: {
    readonly url: string
    readonly port: number
    /** JSON-safe settings only (durations as strings). */
    readonly shardingConfig: Partial<ShardingConfig.ShardingConfig["Service"]>
  } | undefined
}

const config: ChildConfig = JSON.parse(process.argv[2] ?? "{}")
const out = (line: string) => process.stdout.write(`${line}\n`)

const kill = (point: string) =>
  Effect.sync(() => {
    if (config.killOnce !== undefined) {
      try {
        fs.writeFileSync(config.killOnce, `${process.pid}\n`, { flag: "wx" })
      } catch {
        return // another process was first
      }
    }
    out(`KILL ${point}`)
    process.kill(process.pid, "SIGKILL")
  })

const killAt = (point: KillAt) => config.killAt === point ? kill(point) : Effect.void

/** Kills the process once a create's answer has arrived: the API made the batch, nobody has journaled it. */
const httpClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(
    HttpClient.HttpClient,
    HttpClient.tap((response) =>
      response.request.method === "POST" && response.request.url.endsWith("/batches") && response.status === 200
        ? killAt("create-http")
        : Effect.void
    )
  )
).pipe(Layer.provide(FetchHttpClient.layer))

const api = BatchClient.layer.pipe(
  Layer.provideMerge(BatchSchedule.layerTimeout("10 seconds")),
  Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(testApiKey), baseUrl: config.baseUrl })),
  Layer.provide(httpClient),
  Layer.orDie
)

/** `JobSink.jsonlFiles`, killing the process after N results when asked to. */
const sink = (() => {
  const files = JobSink.jsonlFiles(config.sinkDir)
  const after = config.killAt?.startsWith("results:") ? Number(config.killAt.slice("results:".length)) : undefined
  if (after === undefined) return files
  let seen = 0
  return JobSink.make(
    (delivery) =>
      files.sink(delivery).pipe(
        Sink.mapInputEffect((result: BatchLine.BatchResult) =>
          Effect.as(++seen >= after ? kill(`results:${after}`) : Effect.void, result)
        )
      ),
    { stored: files.stored }
  )
})()

/** Events told so far: the resuming process's sign of life. */
let events = 0

const event = (done?: Deferred.Deferred<void>) => (e: JobReport.JobEvent) =>
  Effect.gen(function*() {
    events++
    const part = "part" in e ? e.part : "-"
    const attempt = "attempt" in e ? e.attempt : "-"
    out(`EVENT ${e._tag} ${part} ${attempt}`)
    if (e._tag === "PartUploaded") yield* killAt("uploaded")
    if (e._tag === "PartCreated" && !e.resumed) yield* killAt("created")
    if (e._tag === "PartProgress") yield* killAt("progress")
    if (e._tag === "JobDone" && done !== undefined) yield* Deferred.succeed(done, undefined)
  })

/** Polls fast: the simulator's clock runs a thousand times faster than this one. */
const poll = BatchSchedule.every("50 millis")

const payload: DurableJob.Payload = {
  jobId: config.jobId,
  input: config.input,
  endpoint: "/v1/embeddings",
  plan: { maxRequestsPerPart: config.maxRequestsPerPart, workDir: config.workDir }
}

const printSummary = (summary: JobReport.JobSummary) => Effect.sync(() => out(`SUMMARY ${JSON.stringify(summary)}`))

const durable = <E, R>(engine: Layer.Layer<WorkflowEngine.WorkflowEngine, E, R>, done?: Deferred.Deferred<void>) =>
  DurableJob.layer({ sink, poll, onEvent: event(done) }).pipe(
    Layer.provideMerge(engine),
    Layer.provide(Layer.merge(api, NodeServices.layer))
  )

/**
 * Prints `RUNNERS <n>` whenever the number of runners in the engine's table changes: the test starts the job once
 * both runners are registered (each then takes its share of the shards), not after a fixed pause.
 */
const announceRunners = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  let last = -1
  for (;;) {
    // The table (`cluster_runners`: the engine's default prefix) is missing until the first runner creates it.
    const rows = yield* sql.unsafe<{ readonly n: number }>("SELECT count(*)::int AS n FROM cluster_runners").pipe(
      Effect.orElseSucceed(() => [])
    )
    const n = rows[0]?.n ?? 0
    if (n !== last) out(`RUNNERS ${n}`)
    last = n
    yield* Effect.sleep("100 millis")
  }
})

const program: Effect.Effect<void, unknown> = Effect.gen(function*() {
  switch (config.mode) {
    case "job": {
      out("UP")
      const summary = yield* Job.run({ path: config.input }, {
        jobId: config.jobId,
        endpoint: "/v1/embeddings",
        onEvent: event(),
        plan: { maxRequestsPerPart: config.maxRequestsPerPart, workDir: config.workDir },
        delivery: { sink },
        policy: { cancelOnExit: false, poll }
      }).pipe(Effect.provide(Layer.merge(api, NodeServices.layer)))
      return yield* printSummary(summary)
    }
    case "durable": {
      const { layer } = yield* Effect.promise(() => import("../../../src/durable/SqliteEngine.js"))
      return yield* Effect.gen(function*() {
        out("UP")
        return yield* printSummary(yield* DurableJob.run(payload))
      }).pipe(Effect.provide(durable(layer({ filename: config.db ?? "" }))))
    }
    case "durable-resume": {
      const { layer } = yield* Effect.promise(() => import("../../../src/durable/SqliteEngine.js"))
      const done = yield* Deferred.make<void>()
      return yield* Effect.gen(function*() {
        out("UP")
        // Nobody asks for the job: the engine must resume it from its file on its own, and keep at it.
        yield* whileProgressing(Deferred.await(done), {
          progress: () => events,
          // Less than the parent's 20 s: this more telling message comes first.
          idleMillis: 15_000,
          what: (limit) => `the engine did not resume the job by itself: no event for ${limit} ms`
        })
        return yield* printSummary(yield* DurableJob.run(payload))
      }).pipe(Effect.provide(durable(
        layer({
          filename: config.db ?? "",
          // The dead process's shard locks outlive any wait of the test: the job resumes at once only if this
          // process takes them as their owner (the same runner address, whatever HOST and PORT say).
          shardingConfig: { shardLockExpiration: Duration.minutes(10) }
        }),
        done
      )))
    }
    case "pg-runner": {
      const pg = config.pg
      if (pg === undefined) return yield* Effect.die(new Error("pg-runner needs pg"))
      const { layer } = yield* Effect.promise(() => import("../../../src/durable/PostgresEngine.js"))
      const { PgClient } = yield* Effect.promise(() => import("@effect/sql-pg"))
      const url = Redacted.make(pg.url)
      yield* Effect.forkDetach(announceRunners.pipe(Effect.provide(PgClient.layer({ url })), Effect.orDie))
      return yield* Effect.gen(function*() {
        out("UP")
        return yield* Effect.never
      }).pipe(
        Effect.provide(durable(layer({ url, host: "127.0.0.1", port: pg.port, shardingConfig: pg.shardingConfig })))
      )
    }
  }
})

Effect.runPromiseExit(program).then((exit) => {
  if (exit._tag === "Failure") {
    out(`FAILED ${Cause.pretty(exit.cause)}`)
    process.exit(1)
  }
  process.exit(0)
})
