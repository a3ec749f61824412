import { assert, describe, it } from "@effect/vitest"

import { Clock, Duration, Effect, Fiber, Schedule, TestClock } from "effect"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as Fake from "./support/FakeHttp.js"

const exact = BatchSchedule.retry({ jitter: false })
const envelope = (message: string) => ({ error: { message, type: "server_error", param: null, code: null } })

/** Runs `effect` in a fiber, lets `virtual` time pass, and returns its result plus the request times (ms). */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>, virtual: Duration.DurationInput = "1 hour") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.either(effect))
    yield* TestClock.adjust(virtual)
    const result = yield* Fiber.join(fiber)
    const times = (yield* Fake.requests).map((request) => request.at)
    return { result, times }
  })

/** Replies from a list, then repeats the last reply. */
const script = (...replies: ReadonlyArray<Fake.Reply>): Fake.Responder => (_, index) =>
  replies[Math.min(index, replies.length - 1)] ?? { status: 500 }

const ok = Fake.json(200, Fake.batchJson())

describe("retry schedule", () => {
  it.effect("backs off 0.5 s then 1 s (no jitter), then succeeds", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.strictEqual(result._tag, "Right")
      assert.deepStrictEqual(times, [0, 500, 1500])
    }).pipe(
      Effect.provide(Fake.layer(script(Fake.json(429, envelope("slow down")), Fake.json(503, envelope("busy")), ok)))
    ))

  it.effect("gives up after 2 retries (3 attempts) by default and returns the last error", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.deepStrictEqual(times, [0, 500, 1500])
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left") assert.strictEqual(result.left._tag, "InternalServerError")
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(500, envelope("boom"))))))

  it.effect("doubles up to the 8 s cap", () =>
    Effect.gen(function*() {
      const { times } = yield* timed(
        BatchApi.retrieveBatch("batch_1").pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, maxRetries: 7 }))
        )
      )
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0))
      assert.deepStrictEqual(gaps, [500, 1000, 2000, 4000, 8000, 8000, 8000])
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(500, envelope("boom"))))))

  it.effect("the default jitter only shortens a delay, by at most 25%", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(BatchSchedule.retry()))
      )
      yield* TestClock.adjust("374 millis")
      assert.strictEqual((yield* Fake.requests).length, 1)
      yield* TestClock.adjust("126 millis")
      assert.strictEqual((yield* Fake.requests).length, 2)
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(Fake.layer(script(Fake.json(500, envelope("boom")), ok)))))

  it.effect("retry-after-ms is obeyed exactly", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.strictEqual(result._tag, "Right")
      assert.deepStrictEqual(times, [0, 1250])
    }).pipe(Effect.provide(Fake.layer(script(Fake.json(429, envelope("slow"), { "retry-after-ms": "1250" }), ok)))))

  it.effect("retry-after in seconds", () =>
    Effect.gen(function*() {
      const { times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.deepStrictEqual(times, [0, 7000])
    }).pipe(Effect.provide(Fake.layer(script(Fake.json(429, envelope("slow"), { "retry-after": "7" }), ok)))))

  it.effect("retry-after as an HTTP date (against the Clock)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-28T10:00:00Z"))
      const start = Date.parse("2026-11-28T10:00:00Z")
      const { times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.deepStrictEqual(times.map((t) => t - start), [0, 12_000])
    }).pipe(Effect.provide(Fake.layer(script(
      Fake.json(503, envelope("maintenance"), { "retry-after": "Sat, 28 Nov 2026 10:00:12 GMT" }),
      ok
    )))))

  it.effect("retry-after-ms takes precedence over retry-after", () =>
    Effect.gen(function*() {
      const { times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.deepStrictEqual(times, [0, 300])
    }).pipe(Effect.provide(Fake.layer(script(
      Fake.json(429, envelope("slow"), { "retry-after-ms": "300", "retry-after": "30" }),
      ok
    )))))

  it.effect("a Retry-After that is neither digits nor an HTTP date is no hint: 0x10 is not 16 s", () =>
    Effect.gen(function*() {
      for (const hint of ["0x10", "1e1", "+16", " 16", "16s", "12"]) {
        const { times } = yield* timed(
          BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)),
          "1 minute"
        ).pipe(Effect.provide(Fake.layer(script(
          Fake.json(429, envelope("slow"), { "retry-after": hint }),
          ok
        ))))
        // "12" is 12 seconds (digits); every other form is no hint: the backoff's 0.5 s
        const start = times[0] ?? 0
        assert.deepStrictEqual(times.map((t) => t - start), hint === "12" ? [0, 12_000] : [0, 500], hint)
      }
    }))

  it.effect("retry-after-ms: 0 is no hint: the policy backs off instead of re-sending at once", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        BatchApi.retrieveBatch("batch_1").pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, maxRetries: 1000, deadline: "1 hour" }))
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      // before: 1,001 requests within the first second, one every 0 ms; now at 0 and 0.5 s (then 1.5 s)
      assert.deepStrictEqual((yield* Fake.requests).map((request) => request.at), [0, 500])
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(429, envelope("slow"), { "retry-after-ms": "0" })))))

  it.effect("a hint over the cap fails at once with the rate-limit error and its hint", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.deepStrictEqual(times, [0])
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left" && result.left._tag === "RateLimitError") {
        assert.strictEqual(result.left.retryAfterMs, 3_600_000)
      } else {
        assert.fail("expected a RateLimitError")
      }
    }).pipe(Effect.provide(Fake.layer(script(Fake.json(429, envelope("quota"), { "retry-after": "3600" }), ok)))))

  it.effect("the cap is configurable: a 90 s hint is obeyed under a 2 minute cap", () =>
    Effect.gen(function*() {
      const { times } = yield* timed(
        BatchApi.retrieveBatch("batch_1").pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, maxRetryAfter: "2 minutes" }))
        )
      )
      assert.deepStrictEqual(times, [0, 90_000])
    }).pipe(Effect.provide(Fake.layer(script(Fake.json(429, envelope("slow"), { "retry-after": "90" }), ok)))))

  it.effect("x-should-retry: false stops a 500", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(BatchApi.retrieveBatch("batch_500").pipe(BatchSchedule.withRetry(exact)))
      assert.deepStrictEqual(times, [0])
      assert.strictEqual(result._tag, "Left")
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(500, envelope("no"), { "x-should-retry": "false" })))))

  it.effect("x-should-retry: true retries a 400", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(BatchApi.retrieveBatch("batch_400").pipe(BatchSchedule.withRetry(exact)))
      assert.deepStrictEqual(times, [0, 500])
      assert.strictEqual(result._tag, "Right")
    }).pipe(
      Effect.provide(Fake.layer(script(Fake.json(400, envelope("try again"), { "x-should-retry": "true" }), ok)))
    ))

  it.effect("which statuses are retried: 408, 409, 429, 5xx yes; 400, 401, 403, 404, 422 no", () =>
    Effect.gen(function*() {
      const firstFails = (status: number) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            Effect.either(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
          )
          yield* TestClock.adjust("1 second")
          const result = yield* Fiber.join(fiber)
          return { retried: result._tag === "Right", attempts: (yield* Fake.requests).length }
        }).pipe(Effect.provide(Fake.layer((_, index) => index === 0 ? Fake.json(status, envelope("x")) : ok)))
      for (const status of [408, 409, 429, 500, 502, 503, 504, 529]) {
        assert.deepStrictEqual(yield* firstFails(status), { retried: true, attempts: 2 }, `status ${status}`)
      }
      for (const status of [400, 401, 403, 404, 422]) {
        assert.deepStrictEqual(yield* firstFails(status), { retried: false, attempts: 1 }, `status ${status}`)
      }
    }))

  it.effect("a dropped connection and a timeout are retried", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.strictEqual(result._tag, "Right")
      // attempt 1 dropped at 0; attempt 2 at 500 hangs until the 10 s timeout; attempt 3 at 10.5 s + 1 s
      assert.deepStrictEqual(times, [0, 500, 11_500])
    }).pipe(Effect.provide(Fake.layer(script({ drop: true }, { hang: true }, ok), { timeout: "10 seconds" }))))

  it.effect("a timeout that never ends is a TransportError with reason Timeout", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(
        BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(BatchSchedule.noRetry))
      )
      assert.deepStrictEqual(times, [0])
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left" && result.left._tag === "TransportError") {
        assert.strictEqual(result.left.reason, "Timeout")
        assert.include(result.left.message, "timed out after 2s")
      } else {
        assert.fail("expected a TransportError")
      }
    }).pipe(Effect.provide(Fake.layer(() => ({ hang: true }), { timeout: "2 seconds" }))))

  it.effect("the per-attempt timeout fires even in an uninterruptible region (a cancel in a finalizer, say)", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(
        Effect.uninterruptible(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
      )
      assert.deepStrictEqual(times, [0])
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left" && result.left._tag === "TransportError") {
        assert.strictEqual(result.left.reason, "Timeout")
      } else assert.fail("expected a timeout")
    }).pipe(Effect.provide(Fake.layer(() => ({ hang: true }), { timeout: "2 seconds" }))))

  it.effect("the total deadline: no retry starts after it", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(
        BatchApi.retrieveBatch("batch_1").pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false, maxRetries: 10, deadline: "60 seconds" }))
        )
      )
      // hints of 25 s: retries at 25 s and 50 s; the next would start at 75 s > 60 s
      assert.deepStrictEqual(times, [0, 25_000, 50_000])
      assert.strictEqual(result._tag, "Left")
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(429, envelope("slow"), { "retry-after": "25" })))))

  it.effect("one policy, replaced per layer (layerRetry) for every call", () =>
    Effect.gen(function*() {
      const { times } = yield* timed(BatchApi.retrieveBatch("batch_1"))
      assert.strictEqual(times.length, 6)
    }).pipe(Effect.provide(Fake.layer(() =>
      Fake.json(500, envelope("boom")), { retry: BatchSchedule.retry({ maxRetries: 5 }) }))))

  it.effect("per scope (withRetry) over the layer's, and the narrowest scope over both", () =>
    Effect.gen(function*() {
      const scoped = yield* timed(
        BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 1 })))
      )
      assert.strictEqual(scoped.times.length, 2)
      const perCall = yield* timed(
        BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)).pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 1 }))
        )
      )
      // 2 attempts before, plus 1 now.
      assert.strictEqual(perCall.times.length, 3)
      // Outside the scope, the layer's policy (5 retries) again.
      const outside = yield* timed(BatchApi.retrieveBatch("batch_1"))
      assert.strictEqual(outside.times.length, 3 + 6)
    }).pipe(Effect.provide(Fake.layer(() =>
      Fake.json(500, envelope("boom")), { retry: BatchSchedule.retry({ maxRetries: 5 }) }))))

  it.effect("without any override, the default policy: 2 retries", () =>
    Effect.gen(function*() {
      const { times } = yield* timed(BatchApi.retrieveBatch("batch_1"))
      assert.strictEqual(times.length, 3)
      assert.strictEqual(BatchSchedule.retryDefaults.maxRetries, 2)
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(500, envelope("boom"))))))

  it.effect("invalid params and decode errors are never retried", () =>
    Effect.gen(function*() {
      const { result, times } = yield* timed(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withRetry(exact)))
      assert.strictEqual(times.length, 1)
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left") assert.strictEqual(result.left._tag, "DecodeError")
    }).pipe(Effect.provide(Fake.layer(() => Fake.json(200, { not: "a batch" })))))
})

describe("a retried create never makes a second batch", () => {
  /** A server that commits every create, and drops the response of the first one. */
  const committingServer = () => {
    const stored: Array<Record<string, unknown>> = []
    const responder: Fake.Responder = (request) => {
      if (request.method === "POST" && request.url.pathname === "/v1/batches") {
        const body = request.body as { metadata?: Record<string, string>; input_file_id: string; endpoint: string }
        const batch = Fake.batchJson({
          id: `batch_${stored.length + 1}`,
          input_file_id: body.input_file_id,
          endpoint: body.endpoint,
          metadata: body.metadata ?? null,
          created_at: request.at / 1000
        })
        stored.unshift(batch)
        return stored.length === 1 ? { drop: true } : Fake.json(200, batch)
      }
      if (request.method === "GET" && request.url.pathname === "/v1/batches") {
        return Fake.json(200, { object: "list", data: stored, has_more: false })
      }
      return Fake.json(404, envelope("no such route"))
    }
    return { stored, responder }
  }

  it.effect("the dropped create is found by its marker instead of being re-sent", () => {
    const server = committingServer()
    return Effect.gen(function*() {
      const { result, times } = yield* timed(
        BatchApi.createBatch({ input_file_id: "file-1", endpoint: "/v1/chat/completions", completion_window: "24h" })
          .pipe(BatchSchedule.withRetry(exact))
      )
      assert.strictEqual(result._tag, "Right")
      if (result._tag === "Right") assert.strictEqual(result.right.id, "batch_1")
      assert.strictEqual(server.stored.length, 1)
      const log = yield* Fake.requests
      assert.deepStrictEqual(log.map((r) => `${r.method} ${r.url.pathname}`), ["POST /v1/batches", "GET /v1/batches"])
      assert.deepStrictEqual(times, [0, 500])
      const key = log[0]?.headers["idempotency-key"]
      assert.isString(key)
      assert.strictEqual(
        (log[0]?.body as { metadata: Record<string, string> }).metadata[BatchApi.idempotencyMetadataKey],
        key
      )
    }).pipe(Effect.provide(Fake.layer(server.responder)))
  })

  it.effect("a create that did not reach the server (lookup finds nothing) is re-sent with the same key", () =>
    Effect.gen(function*() {
      const { result } = yield* timed(
        BatchApi.createBatch({ input_file_id: "file-1", endpoint: "/v1/chat/completions", completion_window: "24h" })
          .pipe(BatchSchedule.withRetry(exact))
      )
      assert.strictEqual(result._tag, "Right")
      const log = yield* Fake.requests
      assert.deepStrictEqual(log.map((r) => `${r.method} ${r.url.pathname}`), [
        "POST /v1/batches",
        "GET /v1/batches",
        "POST /v1/batches"
      ])
      assert.strictEqual(log[0]?.headers["idempotency-key"], log[2]?.headers["idempotency-key"])
    }).pipe(Effect.provide(Fake.layer((request, index) =>
      index === 0
        ? Fake.json(502, envelope("bad gateway"))
        : request.method === "GET"
        ? Fake.json(200, { object: "list", data: [], has_more: false })
        : Fake.json(200, Fake.batchJson())
    ))))

  it.effect("a caller's key that already names a batch made from other parameters is its own error (a conflict)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(BatchApi.createBatch(
        { input_file_id: "file-2", endpoint: "/v1/embeddings", completion_window: "24h" },
        { idempotencyKey: "nightly-1" }
      ))
      assert.strictEqual(error._tag, "IdempotencyConflictError")
      if (error._tag === "IdempotencyConflictError") {
        assert.strictEqual(error.batchId, "batch_old")
        assert.strictEqual(error.idempotencyKey, "nightly-1")
        assert.deepStrictEqual(error.existing, { input_file_id: "file-1", endpoint: "/v1/embeddings" })
      }
      assert.include(error.message, "already names batch batch_old")
      assert.deepStrictEqual((yield* Fake.requests).map((r) => r.method), ["GET"])
    }).pipe(Effect.provide(Fake.layer(() =>
      Fake.json(200, {
        object: "list",
        has_more: false,
        data: [
          Fake.batchJson({
            id: "batch_old",
            input_file_id: "file-1",
            endpoint: "/v1/embeddings",
            created_at: 0,
            metadata: { [BatchApi.idempotencyMetadataKey]: "nightly-1" }
          })
        ]
      })
    ))))

  it.effect("a 429 on create is re-sent without a lookup (it certainly created nothing)", () =>
    Effect.gen(function*() {
      yield* timed(
        BatchApi.createBatch({ input_file_id: "file-1", endpoint: "/v1/embeddings", completion_window: "24h" }).pipe(
          BatchSchedule.withRetry(exact)
        )
      )
      const log = yield* Fake.requests
      assert.deepStrictEqual(log.map((r) => r.method), ["POST", "POST"])
    }).pipe(Effect.provide(Fake.layer(script(Fake.json(429, envelope("slow")), ok)))))

  it.effect("without a marker, an ambiguous failure is not retried", () =>
    Effect.gen(function*() {
      const { result } = yield* timed(
        BatchApi.createBatch(
          { input_file_id: "file-1", endpoint: "/v1/embeddings", completion_window: "24h" },
          { idempotencyMarker: false }
        ).pipe(BatchSchedule.withRetry(exact))
      )
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left") assert.strictEqual(result.left._tag, "TransportError")
      assert.strictEqual((yield* Fake.requests).length, 1)
    }).pipe(Effect.provide(Fake.layer(script({ drop: true }, ok)))))

  it.effect("with metadata already full (16 pairs), the marker does not fit: an ambiguous failure is not retried", () =>
    Effect.gen(function*() {
      const metadata = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, "v"]))
      const { result } = yield* timed(
        BatchApi.createBatch({
          input_file_id: "file-1",
          endpoint: "/v1/embeddings",
          completion_window: "24h",
          metadata
        }).pipe(BatchSchedule.withRetry(exact))
      )
      assert.strictEqual(result._tag, "Left")
      const log = yield* Fake.requests
      assert.strictEqual(log.length, 1)
      assert.strictEqual(Object.keys((log[0]?.body as { metadata: object }).metadata).length, 16)
    }).pipe(Effect.provide(Fake.layer(script(Fake.json(500, envelope("boom")), ok)))))
})

describe("the per-attempt timeout: one policy per region", () => {
  const hangs = Fake.layer(() => ({ hang: true }))
  /** When the single attempt of `effect` timed out, in virtual ms. */
  const timedOutAt = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.either(effect.pipe(BatchSchedule.withRetry(BatchSchedule.noRetry))))
      let elapsed = 0
      while (fiber.unsafePoll() === null && elapsed < 20 * 60_000) {
        yield* TestClock.adjust("1 second")
        elapsed += 1000
      }
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left") assert.strictEqual((result.left as { reason?: string }).reason, "Timeout")
      return elapsed
    })

  it.effect("60 s by default; withTimeout for a region; the narrowest region wins; layerTimeout for a layer", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* timedOutAt(BatchApi.retrieveBatch("batch_1")), 60_000)
      assert.strictEqual(
        yield* timedOutAt(BatchApi.retrieveBatch("batch_1").pipe(BatchSchedule.withTimeout("5 seconds"))),
        5_000
      )
      assert.strictEqual(
        yield* timedOutAt(
          BatchApi.retrieveBatch("batch_1").pipe(
            BatchSchedule.withTimeout("3 seconds"),
            BatchSchedule.withTimeout("9 seconds")
          )
        ),
        3_000
      )
      assert.isTrue(Duration.equals(BatchSchedule.timeoutDefaults.request, Duration.seconds(60)))
    }).pipe(Effect.provide(hangs)))

  it.effect("layerTimeout sets it for everything the layer is provided to", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* timedOutAt(BatchApi.retrieveBatch("batch_1")), 7_000)
    }).pipe(Effect.provide(Fake.layer(() => ({ hang: true }), { timeout: "7 seconds" }))))
})

describe("withDeadline", () => {
  const stepTimes = (schedule: Schedule.Schedule<unknown, unknown>) =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const fiber = yield* Effect.fork(
        Effect.repeat(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => times.push(now))), schedule)
      )
      yield* TestClock.adjust("1 hour")
      yield* Fiber.join(fiber)
      return times.map((time) => time - (times[0] ?? 0))
    })

  it.effect("no recurrence starts past the deadline (upTo would allow one more delay beyond it)", () =>
    Effect.gen(function*() {
      const every25 = Schedule.spaced("25 seconds")
      assert.deepStrictEqual(yield* stepTimes(every25.pipe(BatchSchedule.withDeadline("60 seconds"))), [
        0,
        25_000,
        50_000
      ])
      // a recurrence landing on the deadline itself still starts
      assert.deepStrictEqual(
        yield* stepTimes(Schedule.spaced("30 seconds").pipe(BatchSchedule.withDeadline("60 seconds"))),
        [
          0,
          30_000,
          60_000
        ]
      )
      assert.deepStrictEqual(yield* stepTimes(every25.pipe(Schedule.upTo("60 seconds"))), [0, 25_000, 50_000, 75_000])
    }))

  it.effect("keeps the schedule's output and input, and its own end", () =>
    Effect.gen(function*() {
      const outputs = yield* Effect.repeat(
        Effect.void,
        Schedule.recurs(2).pipe(BatchSchedule.withDeadline("1 hour"))
      )
      assert.strictEqual(outputs, 2)
    }))
})
