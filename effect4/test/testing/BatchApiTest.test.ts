import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Ref, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as BatchApiTest from "../../src/testing/BatchApiTest.js"

describe("BatchApiTest", () => {
  it.effect("operations come from the handlers; derived operations work on top", () =>
    Effect.gen(function*() {
      const polls = yield* Ref.make(0)
      const layer = BatchApiTest.layer({
        createBatch: (params) => Effect.succeed(BatchApiTest.batch({ id: "batch_x", endpoint: params.endpoint })),
        retrieveBatch: (id) =>
          Effect.map(Ref.updateAndGet(polls, (n) => n + 1), (n) =>
            BatchApiTest.batch({ id, status: n >= 3 ? "completed" : "in_progress" })),
        listBatches: () =>
          Effect.succeed({
            object: "list" as const,
            data: [BatchApiTest.batch({ id: "batch_a" }), BatchApiTest.batch({ id: "batch_b" })],
            has_more: false
          })
      })
      yield* Effect.gen(function*() {
        const created = yield* BatchApi.createBatch({
          input_file_id: "file-1",
          endpoint: "/v1/embeddings",
          completion_window: "24h"
        })
        assert.strictEqual(created.endpoint, "/v1/embeddings")
        const fiber = yield* Effect.forkChild(BatchWait.awaitCompleted("batch_x"))
        // Effect 4's TestClock.adjust lets pending fibers run one round first: let the wait arm its first sleep
        while ((yield* Ref.get(polls)) === 0) {
          yield* Effect.yieldNow
        }
        for (let i = 0; i < 50; i++) {
          yield* Effect.yieldNow
        }
        yield* TestClock.adjust("1 minute")
        assert.strictEqual((yield* Fiber.join(fiber)).status, "completed")
        const ids = yield* Stream.runCollect(BatchApi.streamBatches())
        assert.deepStrictEqual(
          ids.map((b) =>
            b.id
          ),
          ["batch_a", "batch_b"]
        )
      }).pipe(Effect.provide(layer))
      assert.isAtLeast(yield* Ref.get(polls), 3)
    }))

  it.effect("a missing handler is a defect naming it (a test bug, not an error the code under test could swallow)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        BatchApi.cancelBatch("batch_1").pipe(
          // What production code might do: it must not hide the missing handler.
          Effect.catchTag("InvalidParamsError", () => Effect.succeed(BatchApiTest.batch())),
          Effect.provide(BatchApiTest.layer({}))
        )
      )
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      if (Exit.isFailure(exit)) assert.include(Cause.pretty(exit.cause), "no handler for cancelBatch")
      const poll = yield* Effect.exit(BatchWait.awaitBatch("batch_1").pipe(Effect.provide(BatchApiTest.layer({}))))
      assert.isTrue(Exit.isFailure(poll) && Cause.hasDies(poll.cause))
      if (Exit.isFailure(poll)) assert.include(Cause.pretty(poll.cause), "no handler for pollBatch")
    }))
})
