/**
 * The per-attempt timeout on the live clock (its fast path: a forked attempt and one setTimeout). These run in real
 * time, so they live with the integration tests and wait at most a fraction of a second each.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, Stream } from "effect"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import * as Fake from "../support/FakeHttp.js"
import { loopback } from "./support/loopback.js"

const once = BatchSchedule.withRetry(BatchSchedule.noRetry)

describe("per-attempt timeout on the live clock", () => {
  it.live("fires, as a TransportError with reason Timeout", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(once(BatchApi.retrieveBatch("batch_1")))
      assert.strictEqual(error._tag, "TransportError")
      if (error._tag === "TransportError") assert.strictEqual(error.reason, "Timeout")
    }).pipe(Effect.provide(Fake.layer(() => ({ hang: true }), { timeout: "100 millis" }))))

  it.live("fires inside an uninterruptible region (a cancel run by a finalizer must not hang)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.uninterruptible(once(BatchApi.cancelBatch("batch_1"))))
      assert.strictEqual(error._tag, "TransportError")
    }).pipe(Effect.provide(Fake.layer(() => ({ hang: true }), { timeout: "100 millis" }))))

  it.live("a timeout beyond what a timer holds (30 days, infinity) is no timeout, not 1 ms", () =>
    Effect.gen(function*() {
      for (const timeout of [Duration.days(30), Duration.infinity]) {
        const batch = yield* once(BatchApi.retrieveBatch("batch_1")).pipe(
          Effect.provide(Fake.layer(() => Fake.json(200, Fake.batchJson()), { timeout }))
        )
        assert.strictEqual(batch.id, "batch_abc123")
      }
    }))

  it.live("interrupting the caller interrupts the attempt", () =>
    Effect.gen(function*() {
      const result = yield* once(BatchApi.retrieveBatch("batch_1")).pipe(Effect.timeout("50 millis"), Effect.either)
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left") assert.strictEqual(result.left._tag, "TimeoutException")
    }).pipe(Effect.provide(Fake.layer(() => ({ hang: true }), { timeout: "10 seconds" }))))
})

describe("a download whose error answer stalls after its head", () => {
  for (
    const [name, transport] of [["UndiciTransport", UndiciTransport.layer], [
      "FetchHttpClient",
      FetchHttpClient.layer
    ]] as const
  ) {
    it.scopedLive(`${name}: the error is the status's, at the timeout (the error body's read is bounded too)`, () =>
      Effect.gen(function*() {
        const server = yield* loopback((_, response) => {
          response.writeHead(502, { "content-type": "application/json", "content-length": "1000" })
          response.write("{\"error\":")
        })
        const files = OpenAiFiles.layer.pipe(
          Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(Fake.testKey), baseUrl: `${server.origin}/v1` })),
          Layer.provide(transport),
          Layer.orDie
        )
        const error = yield* Effect.flip(
          Stream.runDrain(OpenAiFiles.downloadFile("file-abc")).pipe(
            BatchSchedule.withTimeout("200 millis"),
            once,
            Effect.provide(files),
            // Without the bound: 5 minutes on undici (its body timeout), forever on fetch.
            Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "hung" as const })
          )
        )
        assert.strictEqual(error === "hung" ? error : error._tag, "InternalServerError")
      }))
  }
})
