/**
 * A durable job on several machines: two runner processes share one PostgreSQL (`.../durable/PostgresEngine`);
 * the job is started from a third, client-only process; the runner that owns it dies (SIGKILL) right after its
 * first create (whichever runner gets the job), and the other takes its shards over once their lease expires and
 * finishes the job from the journal.
 * No batch is made twice.
 *
 *   DATABASE_URL=postgres://user:password@127.0.0.1:5432/db npx tsx examples/durable-cluster.ts
 *
 * (inside effect4/, on Node >= 22.19). Every process needs the input file and the Batch API (here the simulator,
 * served over HTTP by this process, with time running 3,600x faster). On real machines the runners are long-lived
 * services with the same code; anything that only starts or watches jobs uses `PostgresEngine.layerClient`. Lease
 * timings are lowered here so that the take-over happens in seconds.
 *
 * The root's program on this edition: `NodeServices.layer` is Effect 3's `NodeContext.layer`, and a job's result is
 * `effect/workflow`'s `Workflow.Result` (`Complete` with its `exit`, or `undefined` while the job runs).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect, Layer, Redacted } from "effect"
import { BatchApi, BatchClient, BatchSchedule, JobSink, OpenAiConfig } from "effect-openai-batch"
import { DurableJob } from "effect-openai-batch/durable"
import * as PostgresEngine from "effect-openai-batch/durable/PostgresEngine"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import * as Server from "effect-openai-batch/testing/server"
import * as UndiciTransport from "effect-openai-batch/transport/UndiciTransport"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const databaseUrl = process.env["DATABASE_URL"] || undefined
const shardingConfig = {
  shardLockRefreshInterval: "500 millis",
  shardLockExpiration: "3 seconds",
  refreshAssignmentsInterval: "300 millis",
  entityMessagePollInterval: "500 millis"
} as const

const jobIdOf = (dir: string) => `cluster-${dir.slice(-6).replace(/[^A-Za-z0-9]/g, "x")}`
const payloadOf = (
  dir: string
) => ({
  jobId: jobIdOf(dir),
  input: join(dir, "requests.jsonl"),
  endpoint: "/v1/embeddings",
  plan: { maxRequestsPerPart: 500, workDir: join(dir, "parts") }
} as const)

const apiAt = (baseUrl: string) =>
  BatchClient.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(BatchApiSimulator.testApiKey), baseUrl })),
    Layer.provide(UndiciTransport.layer)
  )

/** A runner: `durable-cluster.ts runner <url> <port> <baseUrl> <dir>`; the first runner to create a batch dies there. */
const runner = (url: string, port: number, baseUrl: string, dir: string) =>
  Layer.launch(
    DurableJob.layer({
      sink: JobSink.jsonlFiles(join(dir, "results")),
      poll: BatchSchedule.every("100 millis"),
      onEvent: (event) =>
        Effect.sync(() => {
          if (event._tag !== "PartCreated") return
          console.log(
            `runner ${port}: part ${event.part} has batch ${event.batch.id}${event.resumed ? " (found)" : ""}`
          )
          if (event.resumed || !firstToDie(dir)) return
          console.log(`runner ${port}: dies now (SIGKILL)`)
          process.kill(process.pid, "SIGKILL")
        })
    }).pipe(
      Layer.provideMerge(PostgresEngine.layer({ url: Redacted.make(url), host: "127.0.0.1", port, shardingConfig })),
      Layer.provide(Layer.merge(apiAt(baseUrl), NodeServices.layer))
    )
  )

/** True for the first process to ask (across processes): the marker file is created exclusively. */
const firstToDie = (dir: string): boolean => {
  try {
    writeFileSync(join(dir, "died"), String(process.pid), { flag: "wx" })
    return true
  } catch {
    return false
  }
}

const spawnRunner = (args: ReadonlyArray<string>): ChildProcess =>
  spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "runner", ...args], {
    stdio: ["ignore", "inherit", "inherit"]
  })

const main = (url: string) =>
  Effect.gen(function*() {
    const dir = mkdtempSync(join(tmpdir(), "durable-cluster-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
    writeFileSync(
      join(dir, "requests.jsonl"),
      Array.from({ length: 3_000 }, (_, i) =>
        JSON.stringify({
          custom_id: `doc-${i}`,
          method: "POST",
          url: "/v1/embeddings",
          body: { model: "text-embedding-3-small", input: `Document ${i}.` }
        }))
        .join("\n") + "\n"
    )
    const server = yield* Server.make({ speed: 3600 })
    yield* Console.log(`simulator on ${server.baseUrl}; two runners on ${url.replace(/\/\/[^@]*@/, "//")}`)
    const runners = [40701, 40702].map((port) => spawnRunner([url, String(port), server.baseUrl, dir]))
    yield* Effect.addFinalizer(() => Effect.sync(() => runners.forEach((child) => child.kill("SIGTERM"))))
    yield* Effect.sleep("3 seconds")
    const summary = yield* Effect.gen(function*() {
      const executionId = yield* DurableJob.start(payloadOf(dir))
      yield* Console.log(`job started from a client-only process: execution ${executionId.slice(0, 12)}...`)
      // Poll the engine for the result, as any process can.
      for (;;) {
        const result = yield* DurableJob.result(jobIdOf(dir))
        if (result?._tag === "Complete") return yield* result.exit
        yield* Effect.sleep("500 millis")
      }
    }).pipe(Effect.provide(PostgresEngine.layerClient({ url: Redacted.make(url), shardingConfig })))
    yield* Console.log(`done: ${summary.succeeded}/${summary.requests} succeeded in ${summary.batches} batches`)
    const made = yield* BatchApi.listBatches({ limit: 100 }).pipe(Effect.provide(apiAt(server.baseUrl)))
    yield* Console.log(`the API holds ${made.data.length} batches for ${summary.parts.length} parts: none made twice`)
    yield* Console.log(`${readdirSync(join(dir, "results")).length} results files`)
  }).pipe(Effect.scoped)

const [role, ...args] = process.argv.slice(2)
if (role === "runner") {
  const [url = "", port = "0", baseUrl = "", dir = ""] = args
  NodeRuntime.runMain(runner(url, Number(port), baseUrl, dir))
} else if (databaseUrl === undefined) {
  // It cannot run: say how, and fail, so that a script or CI that runs it does not take it for a success.
  console.error("Set DATABASE_URL to a PostgreSQL the runners can share, e.g.")
  console.error(
    "  DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npx tsx examples/durable-cluster.ts"
  )
  process.exitCode = 2
} else {
  NodeRuntime.runMain(main(databaseUrl))
}
