/**
 * The attempt's timeout on the `HttpClient` path (src/internal/http/timeout.ts), under TestClock: it stops an attempt
 * even where the caller cannot be interrupted, and, there too, an attempt that ends first ends the wait at once. A
 * job's closing checks (the sweep for duplicates, the cancels) run in such a region: a timer that could not be
 * stopped there kept every job on `NodeHttpClient` or `FetchHttpClient` waiting out the whole timeout.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"
import * as Timeout from "../../src/internal/http/timeout.js"

const tenSeconds = Duration.seconds(10)

describe("the attempt's timeout", () => {
  it.effect("in an uninterruptible region, an attempt that ends first ends the wait: the timer does not hold it", () =>
    Effect.gen(function*() {
      const attempt = Effect.as(Effect.sleep("1 second"), "answered")
      const fiber = yield* Effect.fork(
        Effect.uninterruptible(Timeout.timeoutFail(attempt, tenSeconds, () => "timeout"))
      )
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.poll(fiber)
      assert.deepStrictEqual(Option.map(exit, Exit.isSuccess), Option.some(true))
      assert.strictEqual(yield* Fiber.join(fiber), "answered")
    }))

  it.effect("in an uninterruptible region, an attempt that never ends fails at the timeout", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.uninterruptible(Timeout.timeoutFail(Effect.never, tenSeconds, () => "timeout"))
      )
      yield* TestClock.adjust("9 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Effect.flip(Fiber.join(fiber)), "timeout")
    }))

  it.effect("an attempt that answers without suspending starts no timer", () =>
    Effect.gen(function*() {
      const result = yield* Timeout.timeoutFail(Effect.succeed("at once"), tenSeconds, () => "timeout")
      assert.strictEqual(result, "at once")
      assert.strictEqual((yield* TestClock.sleeps()).length, 0)
    }))
})
