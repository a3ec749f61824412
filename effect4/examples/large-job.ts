/**
 * A job bigger than one batch, with a crash and a resume: 12,000 embedding requests split into parts of at most
 * 1,000 (13 parts: sized so that a whole number of them fills the budget), admitted under an enqueued-token budget
 * that holds a few parts at a time, on the Batch API simulator served over
 * real HTTP on 127.0.0.1 with time running 3,600x faster (a batch hour per real second).
 *
 *   1. "process A" runs the job with a live progress view and dies once five parts have batches (its fiber is
 *      stopped with no chance to cancel them: as a crash would leave them);
 *   2. "process B" knows nothing but the job id and the input: it finds the parts done and the batches in flight from
 *      the API alone, and finishes the job without creating any batch twice;
 *   3. the results of every part are JSONL files in a results directory (a re-run skips the ones it finds).
 *
 * `npx tsx examples/large-job.ts` inside effect4/, on Node >= 22.19 (no key, no network).
 *
 * The root's program on this edition: `NodeServices.layer` is Effect 3's `NodeContext.layer`, `Effect.forkChild`
 * its `Effect.fork`, `Effect.andThen` its `Effect.zipRight`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Deferred, Effect, Fiber, Layer, Redacted } from "effect"
import {
  BatchApi,
  BatchClient,
  BatchLine,
  BatchSchedule,
  Job,
  JobProgress,
  type JobReport,
  JobSink,
  OpenAiConfig
} from "effect-openai-batch"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import * as Server from "effect-openai-batch/testing/server"
import * as UndiciTransport from "effect-openai-batch/transport/UndiciTransport"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const model = "text-embedding-3-small"
const requests = Array.from(
  { length: 12_000 },
  (_, i) => BatchLine.embedding(`doc-${i}`, { model, input: `The document number ${i}, as a sentence to embed.` })
)

const resultsDir = mkdtempSync(join(tmpdir(), "large-job-"))

/** A "process": the library over the lean undici transport, pointed at the simulator. */
const processAt = (baseUrl: string) =>
  BatchClient.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(BatchApiSimulator.testApiKey), baseUrl })),
    Layer.provide(UndiciTransport.layer),
    Layer.merge(NodeServices.layer)
  )

/** The job's live progress view, and a hook on each batch created (to stage the crash). */
const view = (onCreated: (parts: number) => Effect.Effect<void> = () => Effect.void) =>
  Effect.gen(function*() {
    const progress = yield* JobProgress.view(process.stdout, { maxParts: 8 })
    let created = 0
    return (event: JobReport.JobEvent) =>
      Effect.andThen(
        progress.onEvent(event),
        event._tag === "PartCreated" && !event.resumed ? onCreated(++created) : Effect.void
      )
  })

const program = Effect.gen(function*() {
  const server = yield* Server.make({ speed: 3600, enqueuedTokenLimit: { [model]: 100_000 } })
  yield* Console.log(`Simulator on ${server.baseUrl} (3,600x time); results in ${resultsDir}\n`)
  const options = {
    jobId: "embed-docs",
    endpoint: "/v1/embeddings",
    // The organisation's batch queue limit for this model (Settings -> Limits).
    budget: { limits: { [model]: { tokens: 100_000 } } },
    plan: { maxRequestsPerPart: 1_000 },
    delivery: { sink: JobSink.jsonlFiles(resultsDir) },
    policy: {
      // A crash leaves batches running: that is what a resume must find.
      cancelOnExit: false,
      // The simulator's batches last a tenth of a real second: poll at that pace (the default starts at 1 s).
      poll: BatchSchedule.every("100 millis")
    }
  } as const

  yield* Console.log("process A: runs the job, and dies once five parts have batches")
  const fifth = yield* Deferred.make<void>()
  const a = yield* view((parts) => parts === 5 ? Deferred.succeed(fifth, undefined) : Effect.void)
  const crashed = yield* Effect.forkChild(
    Job.run(requests, { ...options, onEvent: a }).pipe(Effect.provide(processAt(server.baseUrl)))
  )
  yield* Deferred.await(fifth)
  yield* Fiber.interrupt(crashed)
  const status = yield* Job.status("embed-docs").pipe(Effect.provide(processAt(server.baseUrl)))
  yield* Console.log(
    `\nafter the crash, the API knows ${status.parts.length} parts of the job, ${status.inFlight} batches in flight\n`
  )

  yield* Console.log("process B: the same job id and input, no local state")
  const b = yield* view()
  const summary = yield* Job.run(requests, { ...options, onEvent: b }).pipe(Effect.provide(processAt(server.baseUrl)))
  const resumed = summary.parts.flatMap((p) => p.attempts).filter((attempt) => attempt.resumed).length
  yield* Console.log(
    `\ndone: ${summary.succeeded}/${summary.requests} succeeded, ${summary.missing} missing, ${summary.batches} batches ` +
      `(${resumed} found from process A, ${summary.resends} re-sent), ${summary.usage.total_tokens} tokens billed`
  )
  const made = yield* BatchApi.listBatches({ limit: 100 }).pipe(Effect.provide(processAt(server.baseUrl)))
  yield* Console.log(`the simulator holds ${made.data.length} batches: one per part, none twice`)
  const files = readdirSync(resultsDir).filter((name) => name.endsWith(".jsonl"))
  yield* Console.log(`${files.length} results files, one per batch, e.g. ${files[0]}`)
}).pipe(Effect.scoped, Effect.ensuring(Effect.sync(() => rmSync(resultsDir, { recursive: true, force: true }))))

NodeRuntime.runMain(program)
