import { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as OpenAiFiles from "../src/OpenAiFiles.js"
import * as BatchApiSimulator from "../src/testing/BatchApiSimulator.js"
import * as Fake from "./support/FakeHttp.js"

/** Seven batch files and three others, created in this order. */
const seeded = Effect.gen(function*() {
  const simulator = yield* BatchApiSimulator.BatchApiSimulator
  const ids: Array<string> = []
  for (let i = 0; i < 10; i++) {
    const file = yield* simulator.putFile({
      content: `{"n":${i}}\n`,
      filename: `f${i}.jsonl`,
      purpose: i % 3 === 2 ? "user_data" : "batch"
    })
    ids.push(file.id)
  }
  return { simulator, ids }
})

const names = <E, R>(stream: Stream.Stream<OpenAiFiles.OpenAIFile, E, R>) =>
  Effect.map(Stream.runCollect(stream), (chunk) => Chunk.toReadonlyArray(chunk).map((file) => file.filename))

const listQueries = (simulator: BatchApiSimulator.Simulator) =>
  Effect.map(
    simulator.requests,
    (log) => log.filter((r) => r.method === "GET" && r.path === "/v1/files").map((r) => r.query)
  )

describe("OpenAiFiles.listFiles and streamFiles", () => {
  it.effect("one page: newest first by default, by purpose, in order, with limit, after and has_more", () =>
    Effect.gen(function*() {
      const { ids, simulator } = yield* seeded
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
      assert.deepStrictEqual((yield* listQueries(simulator))[1], {
        purpose: "batch",
        order: "asc",
        limit: "3"
      })
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi())))

  it.effect("refuses bad parameters before sending anything", () =>
    Effect.gen(function*() {
      const { simulator } = yield* seeded
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
      assert.deepStrictEqual(yield* listQueries(simulator), [])
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi())))

  it.effect("streamFiles walks every page lazily, in either order, from a cursor", () =>
    Effect.gen(function*() {
      const { ids, simulator } = yield* seeded
      assert.deepStrictEqual(
        yield* names(OpenAiFiles.streamFiles({ purpose: "batch", pageSize: 2 })),
        ["f9.jsonl", "f7.jsonl", "f6.jsonl", "f4.jsonl", "f3.jsonl", "f1.jsonl", "f0.jsonl"]
      )
      // 7 files in pages of 2: four pages, the last says has_more: false
      assert.strictEqual((yield* listQueries(simulator)).length, 4)
      yield* simulator.clearRequests
      assert.deepStrictEqual(
        yield* names(OpenAiFiles.streamFiles({ order: "asc", pageSize: 3 }).pipe(Stream.take(4))),
        ["f0.jsonl", "f1.jsonl", "f2.jsonl", "f3.jsonl"]
      )
      assert.deepStrictEqual(yield* listQueries(simulator), [
        { limit: "3", order: "asc" },
        { limit: "3", order: "asc", after: ids[2]! }
      ])
      assert.deepStrictEqual(
        yield* names(OpenAiFiles.streamFiles({ after: ids[2]! })),
        ["f1.jsonl", "f0.jsonl"]
      )
      // the default page is the API's largest
      assert.strictEqual((yield* listQueries(simulator)).at(-1)?.["limit"], "10000")
    }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi())))

  const file = (id: string) => ({
    id,
    object: "file",
    bytes: 1,
    created_at: 1,
    filename: `${id}.jsonl`,
    purpose: "batch"
  })
  /** The files service over a fake API that answers the i-th request with `pages[i]`. */
  const layerOver = (pages: ReadonlyArray<unknown>) =>
    Layer.unwrapEffect(
      Effect.map(Fake.fakeClient((_request, i) => Fake.json(200, pages[i])), ({ client }) =>
        OpenAiFiles.layer.pipe(
          Layer.provide(
            OpenAiConfig.layer({ apiKey: Redacted.make(Fake.testKey), baseUrl: "https://api.test/v1" })
          ),
          Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
        ))
    )

  it.effect("a file that two pages both return (the list moved between them) is passed once", () =>
    Effect.gen(function*() {
      const ids = yield* Stream.runCollect(OpenAiFiles.streamFiles({ pageSize: 2 })).pipe(
        Effect.map((chunk) => Chunk.toReadonlyArray(chunk).map((f) => f.id)),
        Effect.provide(layerOver([
          { object: "list", data: [file("file-d"), file("file-c")], has_more: true },
          // started one item early: file-c, the last of page 1, comes again (and once more within the page)
          { object: "list", data: [file("file-c"), file("file-b"), file("file-b")], has_more: true },
          { object: "list", data: [file("file-a")], has_more: false }
        ]))
      )
      assert.deepStrictEqual(ids, ["file-d", "file-c", "file-b", "file-a"])
    }))

  it.effect("fails with PaginationError on an empty page that says has_more, and on a cursor that comes back", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(
        Stream.runDrain(OpenAiFiles.streamFiles()).pipe(
          Effect.provide(layerOver([
            { object: "list", data: [file("file-a")], has_more: true },
            { object: "list", data: [], has_more: true }
          ]))
        )
      )
      assert.strictEqual(empty._tag, "PaginationError")
      assert.strictEqual(empty._tag === "PaginationError" ? empty.reason : "", "EmptyPageWithMore")
      assert.strictEqual(empty._tag === "PaginationError" ? empty.operation : "", "streamFiles")
      assert.match(empty.message, /^streamFiles: page 2 is empty but says has_more: true/)
      const loop = yield* Effect.flip(
        Stream.runDrain(OpenAiFiles.streamFiles()).pipe(
          Effect.provide(layerOver([
            { object: "list", data: [file("file-a")], has_more: true },
            { object: "list", data: [file("file-a")], has_more: true }
          ]))
        )
      )
      assert.strictEqual(loop._tag === "PaginationError" ? loop.reason : "", "RepeatedCursor")
    }))
})
