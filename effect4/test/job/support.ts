/**
 * Job tests run on the in-memory simulator under `TestClock` with an in-memory file system: no network, no waiting.
 * The planning tests write to a fresh temporary directory on Node's file system (`tempDir`).
 */
import { assert } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Fiber, Layer, Redacted, Ref, Sink } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as BatchClient from "../../src/BatchClient.js"
import * as BatchLine from "../../src/BatchLine.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import type * as JobReport from "../../src/JobReport.js"
import * as JobSink from "../../src/JobSink.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"

export const model = "text-embedding-3-small"

/**
 * An embedding request of 30 characters whose estimate is 10 tokens (`TokenEstimate.estimateText`: 1 for the string, 2
 * for the 6 digits, 3 + 3 + 1 for the words).
 */
export const embedding = (i: number) =>
  BatchLine.embedding(`doc-${i}`, { model, input: `${String(i).padStart(6, "0")} paragraph embedding for` })

/** The library's client stack (BatchApi, OpenAiFiles, OpenAiUploads, the ledger) over a given simulator. */
export const clientOver = (simulator: BatchApiSimulator.Simulator) =>
  BatchClient.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(BatchApiSimulator.testApiKey) })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, BatchApiSimulator.httpClient(simulator))),
    Layer.orDie
  )

/** A "process": the client stack over `simulator` (its own ledger) and a fresh in-memory file system. */
export const processOver = (simulator: BatchApiSimulator.Simulator) =>
  Layer.merge(clientOver(simulator), MemoryFileSystem.layer)

/** Polls every 10 minutes: a job's waits under TestClock take few wakeups. */
export const poll = BatchSchedule.every("10 minutes")

/**
 * Lets every fiber run as far as it can before time moves: Effect 4's `TestClock.adjust` does not wait for the
 * other fibers to suspend (Effect 3's did), and an answer of the simulator is read through a web `Response` (its
 * body a promise). Each `yieldNow` is one turn of the scheduler (a `setImmediate`), in which the promises settled
 * so far run; no wall-clock time is waited for.
 */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 40; i++) yield* Effect.yieldNow
})

/** Runs `effect` under TestClock, moving time `step` at a time until it ends (or `maxSteps`). */
export const drive = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  step: Duration.Input = "10 minutes",
  maxSteps = 5000
) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < maxSteps; i++) {
      yield* settle
      if (fiber.pollUnsafe() !== undefined) break
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

/** A sink that records every delivered custom_id, and the events. */
export const recorder = Effect.gen(function*() {
  const delivered = yield* Ref.make(new Map<string, number>())
  const events = yield* Ref.make<Array<JobReport.JobEvent>>([])
  const sink = JobSink.make(() =>
    Sink.forEachArray((chunk: ReadonlyArray<BatchLine.BatchResult>) =>
      Ref.update(delivered, (map) => {
        for (const result of chunk) map.set(result.custom_id, (map.get(result.custom_id) ?? 0) + 1)
        return map
      })
    )
  )
  const onEvent = (event: JobReport.JobEvent) => Ref.update(events, (all) => (all.push(event), all))
  return { delivered, events, sink, onEvent }
})

/** A fresh temporary directory, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "eob4-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * Checks a one-part job whose first batch expired: a follow-up of the missing requests completed it, and every
 * result was delivered once. Returns the part.
 */
export const assertFollowedUp = (
  summary: JobReport.JobSummary,
  delivered: Ref.Ref<Map<string, number>>,
  requests: number
) =>
  Effect.gen(function*() {
    const [part] = summary.parts
    if (part === undefined) return assert.fail("no part")
    assert.deepStrictEqual(part.attempts.map((a) => [a.kind, a.status]), [["full", "expired"], [
      "missing",
      "completed"
    ]])
    assert.strictEqual(part.followUps, 1)
    assert.strictEqual(part.missing, 0)
    assert.strictEqual(part.succeeded, requests)
    const all = yield* Ref.get(delivered)
    assert.strictEqual(all.size, requests)
    assert.isTrue([...all.values()].every((n) => n === 1), "every result delivered once")
    return part
  })
