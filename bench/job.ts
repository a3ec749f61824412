/**
 * `npm run bench -- job [--quick]`: a job of 1,000,000 embedding requests (and one of 100,000, for memory) on the
 * Batch API simulator, served over loopback HTTP by its own process with batch time running `speed` times faster,
 * beside the naive approach under the same budget: the same requests cut into parts of 50,000 and run one after
 * another with `BatchJob.runBatch`.
 *
 * Each client runs in a fresh process from the compiled clients (bench/compiled.ts: tsx alone costs ~180 MB of
 * RSS, which would hide the job's own), on `UndiciTransport`, and reports: wall time, client CPU, peak RSS, batches created (and duplicates:
 * two batches for one (part, attempt)), and the budget's utilisation while parts wait for room: the time-weighted
 * mean of the in-flight estimate over the configured budget, over the time some part was queued.
 *
 * Goals (the issue): peak RSS under 200 MB, within 1.2x between 100,000 and 1,000,000 requests; utilisation at least
 * 90% while parts are queued; zero duplicate batches; wall time at least 3x better than the naive approach.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import type * as JobModule from "../src/Job.js"
import { type Message, num, peakRssMiB, report, spawnWorker } from "./child.js"
import { fmt, ratio, table } from "./stats.js"
import { type Suite, verdict } from "./suite.js"

const model = "text-embedding-3-small"
/** Simulated seconds per real second: a 4-hour batch lasts 4 real seconds. */
const speed = 3600
const partSize = 50_000
/**
 * Each request is estimated at 9 tokens (its 25 characters / 3, rounded up): 50,000 of them claim 450,000. The usable
 * budget (2,565,000) takes five such parts with 12% idle; packed, the plan cuts parts of 427,500 and six fill it.
 */
const budgetTokens = 2_700_000

const request = (i: number) => ({
  custom_id: `doc-${i}`,
  method: "POST" as const,
  url: "/v1/embeddings" as const,
  body: { model, input: `doc ${String(i).padStart(8, "0")} to embed, ok` }
})

// ---------------------------------------------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------------------------------------------

/** The simulator's process: serves until told to exit. */
export const simulatorMain = async (): Promise<void> => {
  const Server = await import("../src/testing/server.js")
  const { receive } = await import("./child.js")
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const server = yield* Server.make({ speed, enqueuedTokenLimit: budgetTokens, script: { inProgress: "4 hours" } })
    report({ type: "listening", port: server.port })
    yield* Effect.promise(async () => {
      for (;;) if ((await receive()).type === "exit") return
    })
  })))
  process.exit(0)
}

/** A measured client: `job <job|naive> <requests> <baseUrl>`. */
export const clientMain = async (args: ReadonlyArray<string>): Promise<void> => {
  const [mode = "job", sizeArg = "0", baseUrl = ""] = args
  const size = Number(sizeArg)
  const { BatchApi, BatchClient, BatchSchedule, Job, OpenAiConfig } = await import("../src/index.js")
  const UndiciTransport = await import("../src/transport/UndiciTransport.js")
  const layer = BatchClient.layer.pipe(
    Layer.provideMerge(BatchSchedule.layerTimeout("5 minutes")),
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make("sk-simulator-test-key"), baseUrl })),
    Layer.provide(UndiciTransport.layer),
    Layer.merge(NodeContext.layer),
    Layer.orDie
  )
  const poll = BatchSchedule.every("250 millis")
  const requests = Stream.map(Stream.range(0, size - 1, 4096), request)
  const jobId = `bench-${mode}-${size}-${Date.now()}`
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()

  // Utilisation: time-weighted in-flight estimate over the budget, while some part waits for room.
  let lastAt = performance.now()
  let inFlight = 0
  let waiting = 0
  let weighted = 0
  let waitingMs = 0
  const account = (usage: { readonly tokens: number; readonly waiting: number }) => {
    const now = performance.now()
    if (waiting > 0) {
      weighted += (inFlight / budgetTokens) * (now - lastAt)
      waitingMs += now - lastAt
    }
    lastAt = now
    inFlight = usage.tokens
    waiting = usage.waiting
  }

  const program: Effect.Effect<
    { readonly succeeded: number; readonly batches: number },
    unknown,
    JobModule.Requirements
  > = mode === "job"
    ? Effect.map(
      Job.run(requests, {
        jobId,
        endpoint: "/v1/embeddings",
        onEvent: (event) =>
          Effect.sync(() => {
            if (event._tag === "BudgetChanged" || event._tag === "PartQueued") account(event.usage)
          }),
        budget: { limits: { tokens: budgetTokens } },
        policy: { poll }
      }),
      (summary) => ({ succeeded: summary.succeeded, batches: summary.batches })
    )
    : Effect.gen(function*() {
      // Naive: parts of 50,000 one after another, each a runBatch (it keeps its part's requests for the join).
      let succeeded = 0
      let batches = 0
      yield* Stream.runForEach(Stream.grouped(requests, partSize), (part) =>
        Effect.map(
          Job.runBatch(Chunk.toReadonlyArray(part), {
            endpoint: "/v1/embeddings",
            schedule: poll,
            metadata: { bench: jobId }
          }),
          (run) => {
            batches++
            succeeded += run.matched.filter((m) => m.result._tag === "Succeeded").length
          }
        ))
      return { succeeded, batches }
    })
  const outcome = await Effect.runPromise(Effect.provide(program, layer))
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  // Duplicates: batches of this job, by (part, attempt).
  const page = await Effect.runPromise(Effect.provide(BatchApi.listBatches({ limit: 100 }), layer))
  const mine = page.data.filter((b) => b.metadata?.["eob_job"] === jobId || b.metadata?.["bench"] === jobId)
  const keys = mine.map((b) => `${b.metadata?.["eob_part"] ?? b.id}/${b.metadata?.["eob_attempt"] ?? ""}`)
  report({
    type: "done",
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMiB: peakRssMiB(),
    succeeded: outcome.succeeded,
    batches: mine.length,
    duplicates: keys.length - new Set(keys).size,
    utilisation: waitingMs === 0 ? Number.NaN : weighted / waitingMs,
    waitingMs
  })
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------------

interface Run {
  readonly mode: string
  readonly size: number
  readonly result: Message
}

export const suite: Suite = {
  name: "job",
  description: "a 1,000,000-request job on the simulator over loopback (accelerated time) vs parts one after another",
  run: async ({ compiledWorker: workerJs, log, options }) => {
    const sizes = options.quick ? [20_000, 100_000] : [100_000, 1_000_000]
    const simulator = spawnWorker("simulator", [], { compiledWorker: workerJs })
    const runs: Array<Run> = []
    try {
      const baseUrl = `http://127.0.0.1:${num(await simulator.next("listening"), "port")}/v1`
      log(
        `job: simulator at ${baseUrl} (own process, ${fmt(speed)}x time, batches of 4 simulated hours, enqueued limit ${
          fmt(budgetTokens)
        } tokens)`
      )
      const plan: ReadonlyArray<readonly [string, number]> = [
        ...sizes.map((size) => ["job", size] as const),
        ["naive", sizes[sizes.length - 1]!]
      ]
      for (const [mode, size] of plan) {
        const child = spawnWorker("job", [mode, String(size), baseUrl], { compiledWorker: workerJs })
        const result = await child.next("done")
        await child.exited
        runs.push({ mode, size, result })
        log(
          `  ${mode} ${fmt(size)}: ${fmt(num(result, "wallMs") / 1000, 1)} s, ${
            fmt(num(result, "rssMiB"))
          } MiB peak RSS`
        )
      }
    } finally {
      simulator.send({ type: "exit" })
      await simulator.exited
    }
    const get = (mode: string, size: number) => runs.find((r) => r.mode === mode && r.size === size)?.result
    log()
    log(table(
      [
        "run",
        "requests",
        "wall s",
        "CPU s",
        "peak RSS MiB",
        "batches",
        "duplicates",
        "utilisation while queued",
        "queued s"
      ],
      runs.map(({ mode, result, size }) => [
        mode,
        fmt(size),
        fmt(num(result, "wallMs") / 1000, 1),
        fmt(num(result, "cpuMs") / 1000, 1),
        fmt(num(result, "rssMiB")),
        fmt(num(result, "batches")),
        fmt(num(result, "duplicates")),
        Number.isFinite(Number(result["utilisation"])) ? `${(Number(result["utilisation"]) * 100).toFixed(1)}%` : "n/a",
        fmt(Number(result["waitingMs"]) / 1000, 1)
      ])
    ))
    const [small, large] = sizes as [number, number]
    const jobSmall = get("job", small)
    const jobLarge = get("job", large)
    const naive = get("naive", large)
    if (jobSmall === undefined || jobLarge === undefined || naive === undefined) return
    const rssRatio = num(jobLarge, "rssMiB") / num(jobSmall, "rssMiB")
    const speedup = num(naive, "wallMs") / num(jobLarge, "wallMs")
    const utilisation = Number(jobLarge["utilisation"])
    log()
    log(
      verdict(
        num(jobLarge, "rssMiB") < 200 * 1e6 / 1048576,
        `peak RSS at ${fmt(large)}: ${fmt(num(jobLarge, "rssMiB"))} MiB (goal < 200 MB = 190.7 MiB)`
      )
    )
    log(verdict(rssRatio <= 1.2, `peak RSS ${fmt(large)} / ${fmt(small)}: ${ratio(rssRatio)} (goal <= 1.2x)`))
    log(
      verdict(
        utilisation >= 0.9,
        `utilisation of the budget while parts are queued: ${(utilisation * 100).toFixed(1)}% (goal >= 90%)`
      )
    )
    log(verdict(runs.every((r) => num(r.result, "duplicates") === 0), "duplicate batches: none (goal: zero)"))
    log(verdict(speedup >= 3, `wall time vs naive: ${ratio(speedup)} faster (goal >= 3x)`))
    log(
      verdict(
        num(jobLarge, "succeeded") === large && num(naive, "succeeded") === large,
        "every request succeeded in both"
      )
    )
  }
}
