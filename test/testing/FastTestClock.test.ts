import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { DurableClock, Workflow, WorkflowEngine } from "@effect/workflow"
import { Chunk, Clock, type Duration, Effect, Exit, Fiber, Layer, Ref, Schema, TestClock } from "effect"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchLine from "../../src/BatchLine.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as DurableJob from "../../src/durable/DurableJob.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as FastTestClock from "../../src/testing/FastTestClock.js"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"

const fast = Effect.provide(FastTestClock.layer)

/** A workflow that sleeps on a durable timer (5 hours: over the in-memory threshold) and says when it woke. */
const Napper = Workflow.make({
  name: "Napper",
  payload: { id: Schema.String },
  success: Schema.Number,
  idempotencyKey: ({ id }) => id
})
const NapperLive = Napper.toLayer(() =>
  Effect.zipRight(DurableClock.sleep({ name: "nap", duration: "5 hours" }), Clock.currentTimeMillis)
)

/**
 * While in scope, `crypto.subtle.digest` answers three macrotask turns late, as it does now and then (a cold start,
 * a loaded machine): without the clock waiting for it, one step ran past the durable sleep the workflow then armed.
 */
const lateDigests = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.zipRight(
    Effect.acquireRelease(
      Effect.sync(() => {
        const subtle = globalThis.crypto.subtle
        const digest = subtle.digest
        const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
        subtle.digest = async (algorithm, data) => {
          await turn()
          await turn()
          await turn()
          return digest.call(subtle, algorithm, data)
        }
        return subtle
      }),
      (subtle) => Effect.sync(() => Reflect.deleteProperty(subtle, "digest"))
    ),
    effect
  ))

describe("FastTestClock", () => {
  it.effect("TestClock.adjust drives it: sleepers wake in order, each at its own instant", () =>
    Effect.gen(function*() {
      const woke = yield* Ref.make<ReadonlyArray<readonly [string, number]>>([])
      const sleeper = (name: string, duration: Duration.DurationInput) =>
        Effect.fork(Effect.zipRight(
          Effect.sleep(duration),
          Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Ref.update(woke, (all): ReadonlyArray<readonly [string, number]> => [...all, [name, now]])
          )
        ))
      const start = yield* Clock.currentTimeMillis
      yield* sleeper("b", "2 hours")
      yield* sleeper("a", "1 hour")
      yield* sleeper("c", "3 hours")
      yield* Effect.yieldNow()
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* TestClock.sleeps()), [
        start + 3_600_000,
        start + 7_200_000,
        start + 10_800_000
      ])
      yield* TestClock.adjust("150 minutes")
      assert.deepStrictEqual(yield* Ref.get(woke), [["a", start + 3_600_000], ["b", start + 7_200_000]])
      assert.strictEqual(yield* Clock.currentTimeMillis, start + 9_000_000)
      yield* TestClock.setTime(start + 20_000_000)
      assert.strictEqual((yield* Ref.get(woke)).length, 3)
      const restore = yield* TestClock.save()
      yield* TestClock.adjust("1 day")
      yield* restore
      assert.strictEqual(yield* Clock.currentTimeMillis, start + 20_000_000)
    }).pipe(fast))

  it.effect("starts at the replaced clock's time; an interrupted sleep leaves no wake behind", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      yield* Effect.gen(function*() {
        assert.strictEqual(yield* Clock.currentTimeMillis, 1_000_000)
        const fiber = yield* Effect.fork(Effect.sleep("1 hour"))
        yield* Effect.yieldNow()
        assert.strictEqual(Chunk.size(yield* TestClock.sleeps()), 1)
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(Chunk.size(yield* TestClock.sleeps()), 0)
      }).pipe(fast)
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
      const fiber = yield* Effect.fork(BatchWait.awaitCompleted(batch.id))
      yield* TestClock.adjust("12 hours")
      const done = yield* Fiber.join(fiber)
      assert.strictEqual(done.status, "completed")
      const polls = (yield* simulator.requests).filter((r) => r.method === "GET").length
      // about one a minute once the pace reached its 60 s cap: as many as under TestClock
      assert.isAbove(polls, 640)
      assert.isBelow(polls, 760)
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ requireInputFile: false })), fast))

  // @effect/workflow hashes execution ids and activity names with crypto.subtle.digest, which resolves off the main
  // thread and can outlast a macrotask turn: the clock waits for the digests in flight (here, late ones).
  it.effect("one step wakes a durable timer armed after a Web Crypto hash (a workflow on the memory engine)", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.fork(Napper.execute({ id: "nap-1" }))
      yield* TestClock.adjust("24 hours")
      const exit = fiber.unsafePoll()
      assert.isNotNull(exit, "the workflow ended within the step")
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
      const fiber = yield* Effect.fork(
        DurableJob.run({ jobId: "one-step", input: "/requests.jsonl", endpoint: "/v1/embeddings" })
      )
      yield* TestClock.adjust("24 hours")
      assert.isNotNull(fiber.unsafePoll(), "the job ended within the step")
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

  it.effect("the digest wrapper is put back when the last layer closes", () =>
    Effect.gen(function*() {
      const subtle = globalThis.crypto.subtle
      // nothing left behind by the tests above (theirs, late digests, included)
      assert.isFalse(Object.hasOwn(subtle, "digest"))
      yield* Effect.gen(function*() {
        assert.isTrue(Object.hasOwn(subtle, "digest"))
        yield* Effect.gen(function*() {
          assert.isTrue(Object.hasOwn(subtle, "digest"))
        }).pipe(fast)
        // the inner layer closed, the outer one still waits for digests
        assert.isTrue(Object.hasOwn(subtle, "digest"))
        const digest = new Uint8Array(yield* Effect.promise(() => subtle.digest("SHA-256", new Uint8Array(0))))
        assert.strictEqual(digest[0], 0xe3) // SHA-256 of nothing: e3b0c442...
      }).pipe(fast)
      assert.isFalse(Object.hasOwn(subtle, "digest"))
    }))
})
