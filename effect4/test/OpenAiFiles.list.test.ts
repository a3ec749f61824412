/**
 * `OpenAiFiles.listFiles` and `streamFiles` (ported from the root's test/OpenAiFiles.list.test.ts). The root runs
 * them on the simulator, which this edition does not have yet: here a fake `GET /v1/files` pages ten files with the
 * API's rules (`purpose`, `order`, `after`, `limit`, `has_more`, `last_id`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as OpenAiFiles from "../src/OpenAiFiles.js"
import * as Fake from "./support/FakeFiles.js"

/** Seven batch files and three others, created in this order (f2, f5, f8 are user_data). */
const files = Array.from({ length: 10 }, (_, i) =>
  Fake.fileJson({
    id: `file-${i}`,
    created_at: 1_700_000_000 + i,
    filename: `f${i}.jsonl`,
    purpose: i % 3 === 2 ? "user_data" : "batch"
  }))
const ids = files.map((file) => file.id)

const listing: Fake.Responder = (request) => {
  const query = request.url.searchParams
  const purpose = query.get("purpose")
  const ordered = query.get("order") === "asc" ? files : [...files].reverse()
  const matching = ordered.filter((file) => purpose === null || file.purpose === purpose)
  const after = query.get("after")
  const start = after === null ? 0 : matching.findIndex((file) => file.id === after) + 1
  const limit = Number(query.get("limit") ?? 10_000)
  const data = matching.slice(start, start + limit)
  return {
    status: 200,
    body: {
      object: "list",
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + limit < matching.length
    }
  }
}

const names = <E, R>(stream: Stream.Stream<OpenAiFiles.OpenAIFile, E, R>) =>
  Effect.map(Stream.runCollect(stream), (all) => all.map((file) => file.filename))

const listQueries = Effect.map(
  Fake.requests,
  (log) =>
    log.filter((r) => r.method === "GET" && r.url.pathname === "/v1/files").map((r) =>
      Object.fromEntries(r.url.searchParams)
    )
)

describe("OpenAiFiles.listFiles and streamFiles", () => {
  it.effect("one page: newest first by default, by purpose, in order, with limit, after and has_more", () =>
    Effect.gen(function*() {
      const all = yield* OpenAiFiles.listFiles()
      assert.deepStrictEqual(all.data.map((f) => f.id), [...ids].reverse())
      assert.isFalse(all.has_more)
      const page = yield* OpenAiFiles.listFiles({ purpose: "batch", order: "asc", limit: 3 })
      assert.deepStrictEqual(page.data.map((f) => f.filename), ["f0.jsonl", "f1.jsonl", "f3.jsonl"])
      assert.isTrue(page.has_more)
      assert.strictEqual(page.last_id, ids[3])
      const next = yield* OpenAiFiles.listFiles({ purpose: "batch", order: "asc", limit: 3, after: ids[3]! })
      assert.deepStrictEqual(next.data.map((f) => f.filename), ["f4.jsonl", "f6.jsonl", "f7.jsonl"])
      const last = yield* OpenAiFiles.listFiles({ purpose: "batch", order: "asc", limit: 3, after: ids[7]! })
      assert.deepStrictEqual(last.data.map((f) => f.filename), ["f9.jsonl"])
      assert.isFalse(last.has_more)
      const desc = yield* OpenAiFiles.listFiles({ purpose: "user_data", limit: 2 })
      assert.deepStrictEqual(desc.data.map((f) => f.filename), ["f8.jsonl", "f5.jsonl"])
      assert.deepStrictEqual((yield* listQueries)[1], { purpose: "batch", order: "asc", limit: "3" })
    }).pipe(Effect.provide(Fake.layer(listing))))

  it.effect("refuses bad parameters before sending anything", () =>
    Effect.gen(function*() {
      for (
        const [params, field] of [
          [{ limit: 0 }, "limit"],
          [{ limit: 10_001 }, "limit"],
          [{ limit: 1.5 }, "limit"],
          [{ order: "newest" }, "order"],
          [{ after: "" }, "after"],
          [{ purpose: "" }, "purpose"],
          [{ sort: "asc" }, "sort"]
        ] as const
      ) {
        // Deliberately wrong values, as a JavaScript caller could pass them.
        const error = yield* Effect.flip(OpenAiFiles.listFiles(params as OpenAiFiles.ListFilesParams))
        assert.strictEqual(error._tag, "InvalidParamsError")
        assert.strictEqual(error._tag === "InvalidParamsError" ? error.field : undefined, field)
      }
      assert.deepStrictEqual(yield* listQueries, [])
    }).pipe(Effect.provide(Fake.layer(listing))))

  it.effect("streamFiles walks every page lazily, in either order, from a cursor", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* names(OpenAiFiles.streamFiles({ purpose: "batch", pageSize: 2 })),
        ["f9.jsonl", "f7.jsonl", "f6.jsonl", "f4.jsonl", "f3.jsonl", "f1.jsonl", "f0.jsonl"]
      )
      // 7 files in pages of 2: four pages, the last says has_more: false
      assert.strictEqual((yield* listQueries).length, 4)
      assert.deepStrictEqual(
        yield* names(OpenAiFiles.streamFiles({ order: "asc", pageSize: 3 }).pipe(Stream.take(4))),
        ["f0.jsonl", "f1.jsonl", "f2.jsonl", "f3.jsonl"]
      )
      assert.deepStrictEqual((yield* listQueries).slice(4), [
        { limit: "3", order: "asc" },
        { limit: "3", order: "asc", after: ids[2]! }
      ])
      assert.deepStrictEqual(yield* names(OpenAiFiles.streamFiles({ after: ids[2]! })), ["f1.jsonl", "f0.jsonl"])
      // the default page is the API's largest
      assert.strictEqual((yield* listQueries).at(-1)?.["limit"], "10000")
    }).pipe(Effect.provide(Fake.layer(listing))))

  const file = (id: string) => Fake.fileJson({ id, filename: `${id}.jsonl` })

  it.effect("a file that two pages both return (the list moved between them) is passed once", () =>
    Effect.gen(function*() {
      const ids = (yield* Stream.runCollect(OpenAiFiles.streamFiles({ pageSize: 2 }))).map((f) => f.id)
      assert.deepStrictEqual(ids, ["file-d", "file-c", "file-b", "file-a"])
    }).pipe(Effect.provide(Fake.layer((_, i) => ({
      status: 200,
      body: [
        { object: "list", data: [file("file-d"), file("file-c")], has_more: true },
        // started one item early: file-c, the last of page 1, comes again (and once more within the page)
        { object: "list", data: [file("file-c"), file("file-b"), file("file-b")], has_more: true },
        { object: "list", data: [file("file-a")], has_more: false }
      ][i]
    })))))

  it.effect("fails with PaginationError on an empty page that says has_more", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runDrain(OpenAiFiles.streamFiles()))
      assert.strictEqual(error._tag, "PaginationError")
      if (error._tag !== "PaginationError") return
      assert.strictEqual(error.reason, "EmptyPageWithMore")
      assert.strictEqual(error.operation, "streamFiles")
      assert.strictEqual(error.cursor, "file-a")
      assert.match(error.message, /^streamFiles: page 2 is empty but says has_more: true/)
    }).pipe(Effect.provide(Fake.layer((_, i) => ({
      status: 200,
      body: { object: "list", data: i === 0 ? [file("file-a")] : [], has_more: true }
    })))))

  it.effect("fails with PaginationError on a cursor that comes back", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runDrain(OpenAiFiles.streamFiles()))
      assert.strictEqual(error._tag === "PaginationError" ? error.reason : error._tag, "RepeatedCursor")
      assert.strictEqual((yield* Fake.requests).length, 2)
    }).pipe(Effect.provide(Fake.layer(() => ({
      status: 200,
      body: { object: "list", data: [file("file-a")], has_more: true }
    })))))
})
