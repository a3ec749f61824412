/**
 * Duration options outside jobs refuse a negative or NaN value up front, with `InvalidParamsError` naming the
 * option (Effect 3 read one as zero: a wait that timed out at once, a tolerance no delivery passed). Zero is
 * taken: neither is a loop.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as BatchWait from "../src/BatchWait.js"
import * as Webhooks from "../src/Webhooks.js"
import * as Fake from "./support/FakeHttp.js"

const secret = Redacted.make(`whsec_${randomBytes(32).toString("base64")}`)
const refused: ReadonlyArray<Duration.Input> = [-5, Number.NaN, "-5 seconds", { seconds: -1 }, Duration.millis(-5)]

describe("duration options", () => {
  it.effect("BatchWait timeout and Webhooks tolerance: negative or NaN refused before any request, zero taken", () =>
    Effect.gen(function*() {
      for (const value of refused) {
        const wait = yield* Effect.flip(BatchWait.awaitBatch("batch_1", { timeout: value }))
        assert.strictEqual(wait.message, "awaitBatch: timeout must be a duration >= 0", String(value))
        const webhooks = yield* Effect.flip(Webhooks.make({ secret, tolerance: value }))
        assert.strictEqual(webhooks.message, "Webhooks.make: tolerance must be a duration >= 0", String(value))
      }
      assert.strictEqual((yield* Fake.requests).length, 0)
      yield* Webhooks.make({ secret, tolerance: 0 })
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(500, {})))))
})
