import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream, TestClock } from "effect"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as Fake from "./support/FakeHttp.js"

/** A list endpoint over `count` batches, newest first, paged by `after` and `limit` like the API. */
const listServer = (
  count: number,
  tweak?: (page: { data: Array<unknown>; has_more: boolean }, index: number) => Fake.Reply | undefined
) => {
  const ids = Array.from({ length: count }, (_, i) => `batch_${String(count - i).padStart(6, "0")}`)
  return (request: Fake.Recorded, index: number): Fake.Reply => {
    const limit = Number(request.url.searchParams.get("limit") ?? "20")
    const after = request.url.searchParams.get("after")
    const start = after === null ? 0 : ids.indexOf(after) + 1
    const slice = ids.slice(start, start + limit)
    const page = {
      object: "list",
      data: slice.map((id) => Fake.batchJson({ id })),
      first_id: slice[0] ?? null,
      last_id: slice[slice.length - 1] ?? null,
      has_more: start + limit < ids.length
    }
    return tweak?.(page, index) ?? Fake.json(200, page)
  }
}

const collect = <E>(stream: Stream.Stream<{ readonly id: string }, E, BatchApi.BatchApi>) =>
  Effect.map(Stream.runCollect(stream), (chunk) => Chunk.toReadonlyArray(chunk).map((b) => b.id))

describe("streamBatches", () => {
  it.effect("streams every batch across pages, in order, with pages of 100 by default", () =>
    Effect.gen(function*() {
      const ids = yield* collect(BatchApi.streamBatches())
      assert.strictEqual(ids.length, 250)
      assert.strictEqual(ids[0], "batch_000250")
      assert.strictEqual(ids[249], "batch_000001")
      assert.strictEqual(new Set(ids).size, 250)
      const log = yield* Fake.requests
      assert.deepStrictEqual(log.map((r) => r.url.search), [
        "?limit=100",
        "?after=batch_000151&limit=100",
        "?after=batch_000051&limit=100"
      ])
    }).pipe(Effect.provide(Fake.layer(listServer(250)))))

  it.effect("is lazy: take(5) fetches one page; take(12) with pages of 5 fetches three", () =>
    Effect.gen(function*() {
      const five = yield* collect(BatchApi.streamBatches().pipe(Stream.take(5)))
      assert.strictEqual(five.length, 5)
      assert.strictEqual((yield* Fake.requests).length, 1)
      const twelve = yield* collect(BatchApi.streamBatches({ pageSize: 5 }).pipe(Stream.take(12)))
      assert.strictEqual(twelve.length, 12)
      assert.strictEqual((yield* Fake.requests).length, 4)
    }).pipe(Effect.provide(Fake.layer(listServer(1000)))))

  it.effect("starts after a given cursor", () =>
    Effect.gen(function*() {
      const ids = yield* collect(BatchApi.streamBatches({ after: "batch_000003", pageSize: 2 }))
      assert.deepStrictEqual(ids, ["batch_000002", "batch_000001"])
    }).pipe(Effect.provide(Fake.layer(listServer(5)))))

  it.effect("an empty list is an empty stream", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* collect(BatchApi.streamBatches()), [])
    }).pipe(Effect.provide(Fake.layer(listServer(0)))))

  it.effect("an invalid page size is rejected before any request", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runDrain(BatchApi.streamBatches({ pageSize: 500 })))
      assert.strictEqual(error._tag, "InvalidParamsError")
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(Fake.layer(listServer(5)))))

  it.effect("a batch that two pages both return (the list moved between them) is passed once", () =>
    Effect.gen(function*() {
      const ids = yield* collect(BatchApi.streamBatches({ pageSize: 10 }))
      assert.strictEqual(ids.length, 30)
      assert.strictEqual(new Set(ids).size, 30)
      // page 2 started one item early: batch_000021, the last of page 1, came twice
      assert.strictEqual(ids.filter((id) => id === "batch_000021").length, 1)
    }).pipe(
      Effect.provide(Fake.layer(listServer(30, (page, index) => {
        if (index !== 1) return undefined
        const repeated = Fake.batchJson({ id: "batch_000021" })
        return Fake.json(200, { ...page, data: [repeated, ...page.data] })
      })))
    ))

  it.effect("a page with has_more but no data fails with PaginationError (not a silent stop)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(collect(BatchApi.streamBatches({ pageSize: 10 })))
      assert.strictEqual(error._tag, "PaginationError")
      if (error._tag === "PaginationError") {
        assert.strictEqual(error.reason, "EmptyPageWithMore")
        assert.strictEqual(error.pages, 2)
        // named for what the user called, not for the listBatches under it
        assert.strictEqual(error.operation, "streamBatches")
        assert.isTrue(error.message.startsWith("streamBatches: page 2 "), error.message)
      }
    }).pipe(
      Effect.provide(
        Fake.layer(
          listServer(
            30,
            (page, index) => index === 1 ? Fake.json(200, { ...page, data: [], has_more: true }) : undefined
          )
        )
      )
    ))

  it.effect("a cursor that repeats (a mock that always says has_more) fails instead of looping", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(collect(BatchApi.streamBatches({ pageSize: 3 })))
      assert.strictEqual(error._tag, "PaginationError")
      if (error._tag === "PaginationError") {
        assert.strictEqual(error.reason, "RepeatedCursor")
        assert.isTrue(error.message.startsWith("streamBatches: "), error.message)
      }
      assert.strictEqual((yield* Fake.requests).length, 2)
    }).pipe(
      Effect.provide(
        Fake.layer(() => Fake.json(200, { object: "list", data: [Fake.batchJson({ id: "batch_a" })], has_more: true }))
      )
    ))

  it.effect("each page is retried; a page that keeps failing fails the stream with its typed error", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.either(
          collect(BatchApi.streamBatches({ pageSize: 10 })).pipe(
            BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false }))
          )
        )
      )
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result._tag, "Left")
      if (result._tag === "Left") {
        assert.strictEqual(result.left._tag, "InternalServerError")
        assert.isTrue(result.left.message.startsWith("streamBatches: 500 boom"), result.left.message)
      }
      // page 1, then page 2 three times (2 retries)
      assert.strictEqual((yield* Fake.requests).length, 4)
    }).pipe(
      Effect.provide(Fake.layer(listServer(30, (_, index) =>
        index >= 1
          ? Fake.json(500, { error: { message: "boom", type: "server_error", param: null, code: null } })
          : undefined)))
    ))

  it.effect("a transient failure on a page is retried and the stream goes on", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        collect(BatchApi.streamBatches({ pageSize: 10 })).pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ jitter: false }))
        )
      )
      yield* TestClock.adjust("1 minute")
      const ids = yield* Fiber.join(fiber)
      assert.strictEqual(ids.length, 30)
    }).pipe(Effect.provide(Fake.layer(listServer(30, (_, index) =>
      index === 1
        ? Fake.json(429, { error: { message: "slow", type: "rate_limit", param: null, code: null } })
        : undefined)))))
})
