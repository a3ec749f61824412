/**
 * FastTestClock (ported from the root's test/testing/FastTestClock.test.ts). Effect 4's `TestClock` has no `sleeps`
 * or `save`: the pending wakes are read from `make`'s `sleeps`, and the root's save/restore check has nothing to
 * check here.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, type Duration, Effect, Exit, Fiber, FileSystem, Layer, Ref, Scheduler, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as DurableClock from "effect/workflow/DurableClock"
import * as Workflow from "effect/workflow/Workflow"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchLine from "../../src/BatchLine.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as DurableJob from "../../src/durable/DurableJob.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"
import { fast, lateWebCrypto } from "../support/webCrypto.js"

/** A fast clock from `make`, installed by hand: its `sleeps` are in reach. */
const installed = (start: number) => {
  const made = FastTestClock.make(start)
  const install = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provideService(Clock.Clock, made.clock),
      Effect.provideService(Scheduler.Scheduler, made.scheduler)
    )
  return { install, sleeps: made.sleeps }
}

/** A workflow that sleeps on a durable timer (`inMemoryThreshold: 0`, as DurableJob's backoffs) and says when it woke. */
const Napper = Workflow.make("Napper", {
  payload: { id: Schema.String },
  success: Schema.Number,
  idempotencyKey: ({ id }) => id
})
const NapperLive = Napper.toLayer(() =>
  Effect.andThen(
    DurableClock.sleep({ name: "nap", duration: "5 hours", inMemoryThreshold: 0 }),
    Clock.currentTimeMillis
  )
)

/**
 * Web Crypto answering three macrotask turns late, as it does now and then (a cold start, a loaded machine):
 * without the clock waiting for it, one step ran past the durable sleep the workflow then armed.
 */
const lateDigests = lateWebCrypto(3)

describe("FastTestClock", () => {
  it.effect("TestClock.adjust and setTime drive it: sleepers wake in order, each at its own instant", () => {
    const start = 1_000_000
    const { install, sleeps } = installed(start)
    return install(Effect.gen(function*() {
      const woke = yield* Ref.make<ReadonlyArray<readonly [string, number]>>([])
      const sleeper = (name: string, duration: Duration.Input) =>
        Effect.forkChild(Effect.andThen(
          Effect.sleep(duration),
          Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Ref.update(woke, (all): ReadonlyArray<readonly [string, number]> => [...all, [name, now]])
          )
        ))
      yield* sleeper("b", "2 hours")
      yield* sleeper("a", "1 hour")
      yield* sleeper("c", "3 hours")
      yield* Effect.yieldNow
      assert.deepStrictEqual(yield* sleeps, [start + 3_600_000, start + 7_200_000, start + 10_800_000])
      yield* TestClock.adjust("150 minutes")
      assert.deepStrictEqual(yield* Ref.get(woke), [["a", start + 3_600_000], ["b", start + 7_200_000]])
      assert.strictEqual(yield* Clock.currentTimeMillis, start + 9_000_000)
      yield* TestClock.setTime(start + 20_000_000)
      assert.deepStrictEqual((yield* Ref.get(woke))[2], ["c", start + 10_800_000])
      assert.strictEqual(yield* Clock.currentTimeMillis, start + 20_000_000)
    }))
  })

  it.effect("the layer starts at the replaced clock's time; an interrupted sleep leaves no wake behind", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      yield* Effect.gen(function*() {
        assert.strictEqual(yield* Clock.currentTimeMillis, 1_000_000)
      }).pipe(fast)
      const { install, sleeps } = installed(0)
      yield* install(Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Effect.sleep("1 hour"))
        yield* Effect.yieldNow
        assert.strictEqual((yield* sleeps).length, 1)
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(yield* sleeps, [])
      }))
    }))

  it.effect("half a simulated day of polling on the simulator: every poll made, the batch seen completed", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.setDefaultScript({ inProgress: "11 hours" })
      const batch = yield* BatchApi.createBatch({
        input_file_id: "file-any",
        endpoint: "/v1/chat/completions",
        completion_window: "24h"
      })
      const fiber = yield* Effect.forkChild(BatchWait.awaitCompleted(batch.id))
      yield* TestClock.adjust("12 hours")
      const done = yield* Fiber.join(fiber)
      assert.strictEqual(done.status, "completed")
      const polls = (yield* simulator.requests).filter((r) => r.method === "GET").length
      // about one a minute once the pace reached its 60 s cap
      assert.isAbove(polls, 640)
      assert.isBelow(polls, 760)
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ requireInputFile: false })), fast))

  // effect/workflow hashes execution ids and activity names with Web Crypto, which resolves off the main thread and
  // can outlast a macrotask turn: the clock waits for the calls it sees through the `WebCrypto` reference.
  it.effect("one step wakes a durable timer armed after a Web Crypto hash (a workflow on the memory engine)", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.forkChild(Napper.execute({ id: "nap-1" }))
      yield* TestClock.adjust("24 hours")
      const exit = fiber.pollUnsafe()
      assert.isDefined(exit, "the workflow ended within the step")
      assert.deepStrictEqual(exit, Exit.succeed(start + 5 * 3_600_000))
    }).pipe(Effect.provide(NapperLive.pipe(Layer.provideMerge(WorkflowEngine.layerMemory))), fast, lateDigests))

  it.effect("one step of a day ends a durable job (its batch takes 2 hours)", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      yield* simulator.setDefaultScript({ inProgress: "2 hours" })
      const fs = yield* FileSystem.FileSystem
      const lines = ["one", "two", "three"].map((input, i) =>
        JSON.stringify(BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input }))
      )
      yield* fs.writeFileString("/requests.jsonl", lines.join("\n") + "\n")
      const fiber = yield* Effect.forkChild(
        DurableJob.run({ jobId: "one-step", input: "/requests.jsonl", endpoint: "/v1/embeddings" })
      )
      yield* TestClock.adjust("24 hours")
      const exit = fiber.pollUnsafe()
      assert.isDefined(exit, "the job ended within the step")
      const summary = yield* Fiber.join(fiber)
      assert.strictEqual(summary.succeeded, 3)
    }).pipe(
      Effect.provide(
        DurableJob.layer().pipe(Layer.provideMerge(Layer.mergeAll(
          BatchApiSimulator.layerBatchApi(),
          MemoryFileSystem.layer,
          WorkflowEngine.layerMemory
        )))
      ),
      fast,
      lateDigests
    ))
})
