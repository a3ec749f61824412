/**
 * A durable job on the embedded engine: a job of 6,000 embeddings run as an `effect/workflow` Workflow on
 * `effect/cluster` with one SQLite file (`effect-openai-batch/durable` and `.../durable/SqliteEngine`), against the
 * in-memory simulator, whose batch time runs 3,600x faster than the engine's.
 *
 *   1. the job runs to its end; every step (plan, upload, create, waiting rounds, results) is an activity the
 *      engine journals in the SQLite file;
 *   2. asking for the same job again returns the stored summary at once: no step runs twice.
 *
 * A process killed in the middle and started again on the same file resumes the job by itself (the crash tests in
 * test/durable/ do exactly that with SIGKILL). `npx tsx examples/durable-job.ts` inside effect4/ on Node >= 22.19
 * (no key, no network).
 *
 * The Effect 4 edition: the root's example serves the simulator over HTTP on an accelerated clock; here the
 * simulator is the client's `HttpClient` in the process (`BatchApiSimulator.httpClient`), and only its answers see
 * the accelerated clock (`HttpClient.transform`), while the engine's timers and the polls keep real time.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Clock, Console, Effect, Layer, Redacted } from "effect"
import { BatchClient, BatchLine, BatchSchedule, JobSink, OpenAiConfig } from "effect-openai-batch"
import { DurableJob } from "effect-openai-batch/durable"
import * as SqliteEngine from "effect-openai-batch/durable/SqliteEngine"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import { HttpClient } from "effect/http"
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const dir = mkdtempSync(join(tmpdir(), "durable-job-"))
const input = join(dir, "requests.jsonl")
writeFileSync(
  input,
  Array.from(
    { length: 6_000 },
    (_, i) =>
      JSON.stringify(
        BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input: `Document ${i} to embed.` })
      )
  )
    .join("\n") + "\n"
)

const program = Effect.gen(function*() {
  const simulator = yield* BatchApiSimulator.make()
  const batchTime = BatchApiSimulator.acceleratedClock(3600)
  const client = BatchApiSimulator.httpClient(simulator).pipe(
    HttpClient.transform((response) => Effect.provideService(response, Clock.Clock, batchTime))
  )
  const api = BatchClient.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(BatchApiSimulator.testApiKey) })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
  )
  // The job's workflow, registered with the engine; its services: the API, a file system, where results go.
  const engine = DurableJob.layer({
    sink: JobSink.jsonlFiles(join(dir, "results")),
    poll: BatchSchedule.every("100 millis"),
    onEvent: (event) =>
      event._tag === "PartDone"
        ? Console.log(`  part ${event.summary.part} done: ${event.summary.status}`)
        : Effect.void
  }).pipe(
    Layer.provideMerge(SqliteEngine.layer({ filename: join(dir, "jobs.db") })),
    Layer.provide(Layer.merge(api, NodeServices.layer))
  )
  const payload = {
    jobId: "embed-docs-durable",
    input,
    endpoint: "/v1/embeddings",
    budget: { limits: { "*": { tokens: 40_000 } } },
    plan: { maxRequestsPerPart: 1_000, workDir: join(dir, "parts") }
  } as const
  yield* Effect.gen(function*() {
    yield* Console.log(`durable job on ${join(dir, "jobs.db")}, the simulator in the process (3,600x batch time)`)
    const summary = yield* DurableJob.run(payload)
    yield* Console.log(`done: ${summary.succeeded}/${summary.requests} succeeded in ${summary.batches} batches`)
    const t0 = Date.now()
    const again = yield* DurableJob.run(payload)
    yield* Console.log(
      `asked again: the stored summary (${again.succeeded} succeeded) in ${Date.now() - t0} ms, no step run twice`
    )
  }).pipe(Effect.provide(engine))
  const results = readdirSync(join(dir, "results"))
  yield* Console.log(
    `${results.length} results files; the journal is ${Math.round(statSync(join(dir, "jobs.db")).size / 1024)} KB`
  )
}).pipe(Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))))

NodeRuntime.runMain(program)
