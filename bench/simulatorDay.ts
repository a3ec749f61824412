/**
 * `npx tsx bench/simulatorDay.ts [rounds]`: the simulator's own speed under a test clock. A 24-hour pipeline test as
 * users write them: one batch in progress for 23 hours, `BatchWait.awaitCompleted` on the default poll schedule
 * (about one poll a minute once at its cap: some 1,400 polls), `TestClock.adjust("24 hours")`, on the in-memory
 * simulator (`layerBatchApi`). Runs it under Effect's `TestClock` and under `FastTestClock`, alternating, after one
 * warm-up of each; reports the median wall time, CPU time and time per poll.
 *
 * Add `--profile` to write a .cpuprofile of the FastTestClock runs into bench/profiles/ (`npx tsx bench/profile.ts`).
 */
import { Effect, Fiber, TestClock, TestContext } from "effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchWait from "../src/BatchWait.js"
import * as BatchApiSimulator from "../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../src/testing/FastTestClock.js"
import { fmt, median, table } from "./stats.js"

const day = Effect.gen(function*() {
  const simulator = yield* BatchApiSimulator.BatchApiSimulator
  yield* simulator.setDefaultScript({ inProgress: "23 hours", requestCount: 1000 })
  const batch = yield* BatchApi.createBatch({
    input_file_id: "file-any",
    endpoint: "/v1/chat/completions",
    completion_window: "24h"
  })
  const fiber = yield* Effect.fork(BatchWait.awaitCompleted(batch.id))
  yield* TestClock.adjust("24 hours")
  const done = yield* Fiber.join(fiber)
  if (done.status !== "completed") throw new Error(`the batch ended ${done.status}`)
  return (yield* simulator.requests).filter((request) => request.method === "GET").length
})

const simulated = BatchApiSimulator.layerBatchApi({ requireInputFile: false })
const clocks = {
  TestClock: day.pipe(Effect.provide(simulated), Effect.provide(TestContext.TestContext)),
  FastTestClock: day.pipe(
    Effect.provide(simulated),
    Effect.provide(FastTestClock.layer),
    Effect.provide(TestContext.TestContext)
  )
} as const

const measure = async (run: Effect.Effect<number, unknown>) => {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const polls = await Effect.runPromise(run)
  const wall = performance.now() - started
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / 1000, polls }
}

const main = async () => {
  const rounds = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? "5")
  const profile = process.argv.includes("--profile")
  const session = profile ? new Session() : undefined
  for (const run of Object.values(clocks)) await measure(run)
  const results: Record<string, Array<{ wall: number; cpu: number; polls: number }>> = {
    TestClock: [],
    FastTestClock: []
  }
  if (session !== undefined) {
    session.connect()
    await session.post("Profiler.enable")
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ["TestClock", "FastTestClock"] as const : ["FastTestClock", "TestClock"] as const
    for (const name of order) {
      if (session !== undefined && name === "FastTestClock") await session.post("Profiler.start")
      results[name]!.push(await measure(clocks[name]))
      if (session !== undefined && name === "FastTestClock") {
        const { profile: data } = await session.post("Profiler.stop")
        mkdirSync("bench/profiles", { recursive: true })
        writeFileSync(`bench/profiles/simulatorDay-${round}.cpuprofile`, JSON.stringify(data))
      }
    }
  }
  const rows = Object.entries(results).map(([name, runs]) => {
    const wall = median(runs.map((r) => r.wall))
    const polls = median(runs.map((r) => r.polls))
    return [name, fmt(wall), fmt(median(runs.map((r) => r.cpu))), fmt(polls), fmt(wall / polls, 2)]
  })
  console.log(`24-hour pipeline on the in-memory simulator, ${rounds} rounds (medians)`)
  console.log(table(["clock", "wall ms", "CPU ms", "polls", "wall ms/poll"], rows))
}

void main()
