/**
 * `npm run bench -- job [--quick]`: a job of 1,000,000 embedding requests (and one of 100,000, for memory) on the
 * Batch API simulator, served over loopback HTTP by its own process with batch time running `speed` times faster,
 * beside the naive approach under the same budget: the same requests cut into parts of 50,000 and run one after
 * another with `Job.runBatch`. Then the limit the jobs do not know: a job of 300,000 given twice the simulator's
 * limit as its budget, and two such jobs at once in two processes, each given all of it (late failures, re-sends).
 *
 * Each client runs in a fresh process from the compiled clients (bench/compiled.ts: tsx alone costs ~180 MB of
 * RSS, which would hide the job's own), on `UndiciTransport`, and reports: wall time, client CPU, peak RSS, batches created (and duplicates:
 * two batches for one (part, attempt)), and the limit's utilisation while parts wait for room: the time-weighted
 * mean of the in-flight estimate over the simulator's limit, over the time some part was queued (from its
 * `PartQueued` to its `PartCreated`).
 *
 * Goals (the issue): peak RSS under 200 MB, within 1.2x between 100,000 and 1,000,000 requests; utilisation at least
 * 90% while parts are queued; zero duplicate batches; wall time at least 3x better than the naive approach.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import type * as JobModule from "../src/Job.js"
import type * as JobReport from "../src/JobReport.js"
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

/**
 * A measured client: `job <job|naive> <requests> <baseUrl> [budget multiplier] [first request]`. The job is given
 * the simulator's limit times the multiplier as its budget (2: a job that believes it has twice what it has).
 */
export const clientMain = async (args: ReadonlyArray<string>): Promise<void> => {
  const [mode = "job", sizeArg = "0", baseUrl = "", multiplierArg = "1", fromArg = "0"] = args
  const size = Number(sizeArg)
  const budget = budgetTokens * Number(multiplierArg)
  const from = Number(fromArg)
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
  const requests = Stream.map(Stream.range(from, from + size - 1, 4096), request)
  const jobId = `bench-${mode}-${size}-${Date.now()}`
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()

  // Utilisation: the time-weighted in-flight estimate over the simulator's limit, while some part waits for room
  // (from its PartQueued to its PartCreated).
  let lastAt = performance.now()
  let inFlight = 0
  const queued = new Set<number>()
  let weighted = 0
  let waitingMs = 0
  const tick = () => {
    const now = performance.now()
    if (queued.size > 0) {
      weighted += (inFlight / budgetTokens) * (now - lastAt)
      waitingMs += now - lastAt
    }
    lastAt = now
  }
  const account = (event: JobReport.JobEvent) => {
    tick()
    if (event._tag === "PartQueued") queued.add(event.part)
    if (event._tag === "PartCreated") queued.delete(event.part)
    if (event._tag === "BudgetChanged" || event._tag === "PartQueued") inFlight = event.usage.tokens
  }
  let lateFailures = 0
  let resends = 0

  const program: Effect.Effect<
    { readonly succeeded: number; readonly batches: number },
    unknown,
    JobModule.Requirements
  > = mode === "job"
    ? Effect.map(
      Job.run(requests, {
        jobId,
        endpoint: "/v1/embeddings",
        onEvent: (event) => Effect.sync(() => account(event)),
        budget: { limits: { tokens: budget } },
        policy: { poll }
      }),
      (summary) => {
        resends = summary.resends
        lateFailures = summary.parts.flatMap((p) => p.attempts).filter((a) => a.errorCode === "token_limit_exceeded")
          .length
        return { succeeded: summary.succeeded, batches: summary.batches }
      }
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
  const all = await Effect.runPromise(Effect.provide(Stream.runCollect(BatchApi.streamBatches()), layer))
  const mine = Chunk.toReadonlyArray(all).filter((b) =>
    b.metadata?.["eob_job"] === jobId || b.metadata?.["bench"] === jobId
  )
  const keys = mine.map((b) => `${b.metadata?.["eob_job"]}/${b.metadata?.["eob_part"]}/${b.metadata?.["eob_attempt"]}`)
  report({
    type: "done",
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMiB: peakRssMiB(),
    succeeded: outcome.succeeded,
    batches: mine.length,
    duplicates: keys.length - new Set(keys).size,
    utilisation: waitingMs === 0 ? Number.NaN : weighted / waitingMs,
    waitingMs,
    lateFailures,
    resends
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
      // The limit the jobs do not know: one job given twice the real limit, then two programs each given all of it.
      const shared = options.quick ? 40_000 : 300_000
      const half = spawnWorker("job", ["job", String(shared), baseUrl, "2", "10000000"], { compiledWorker: workerJs })
      runs.push({ mode: "half", size: shared, result: await half.next("done") })
      await half.exited
      const pair = [0, 1].map((i) =>
        spawnWorker("job", ["job", String(shared), baseUrl, "1", String(20_000_000 + i * 1_000_000)], {
          compiledWorker: workerJs
        })
      )
      const results = await Promise.all(pair.map((child) => child.next("done")))
      await Promise.all(pair.map((child) => child.exited))
      results.forEach((result, i) => runs.push({ mode: `shared ${i + 1}/2`, size: shared, result }))
      for (const run of runs.slice(-3)) {
        log(
          `  ${run.mode} ${fmt(run.size)}: ${fmt(num(run.result, "wallMs") / 1000, 1)} s, ${
            fmt(num(run.result, "lateFailures"))
          } late failures`
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
        "queued s",
        "late failures",
        "re-sends"
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
        fmt(Number(result["waitingMs"]) / 1000, 1),
        fmt(num(result, "lateFailures")),
        fmt(num(result, "resends"))
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
    const unknown = runs.filter((r) => r.mode === "half" || r.mode.startsWith("shared"))
    log(
      verdict(
        unknown.length === 3 && unknown.every((r) => num(r.result, "succeeded") === r.size),
        "a job given twice the real limit, and two programs each given all of it, complete"
      )
    )
  }
}
