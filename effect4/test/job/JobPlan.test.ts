/**
 * Planning (the Effect 3 edition's test/job/JobPlan.test.ts, ported): the parts are written to a temporary directory
 * on Node's file system (the Effect 3 edition's tests plan into its in-memory file system, not ported yet).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Path, Stream } from "effect"
import * as BatchLine from "../../src/BatchLine.js"
import * as Input from "../../src/internal/job/input.js"
import * as PartFile from "../../src/internal/job/partFile.js"
import * as Planner from "../../src/internal/job/planner.js"
import * as Spool from "../../src/internal/job/spool.js"
import * as JobPlan from "../../src/JobPlan.js"
import * as TokenEstimate from "../../src/TokenEstimate.js"
import { embedding, model, tempDir } from "./support.js"

const endpoint = "/v1/embeddings"
/** Plans into `<dir>/parts`, `dir` being the test's temporary directory. */
const plan = <E = never>(dir: string, input: JobPlan.Input<E>, options: Partial<JobPlan.PlanOptions> = {}) =>
  Stream.runCollect(JobPlan.plan(input, { endpoint, dir: `${dir}/parts`, ...options }))

const text = (path: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path))
const ids = (jsonl: string) => jsonl.trim().split("\n").map((line) => JSON.parse(line).custom_id as string)

describe("JobPlan.plan", () => {
  it.effect("cuts parts by requests, deterministically: the same input gives the same parts and digests", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const requests = Array.from({ length: 25 }, (_, i) => embedding(i))
      const first = yield* plan(dir, requests, { maxRequests: 10 })
      assert.deepStrictEqual(first.map((p) => [p.index, p.requests, p.firstLine]), [[1, 10, 1], [2, 10, 11], [
        3,
        5,
        21
      ]])
      assert.deepStrictEqual(ids(yield* text(first[1]!.file)), Array.from({ length: 10 }, (_, i) => `doc-${i + 10}`))
      // Planning again (a re-run) writes the same files and digests, not appended copies.
      const again = yield* plan(dir, Stream.fromIterable(requests), { maxRequests: 10 })
      assert.deepStrictEqual(again.map((p) => p.digest), first.map((p) => p.digest))
      assert.strictEqual(ids(yield* text(again[0]!.file)).length, 10)
      assert.strictEqual(new Set(first.map((p) => p.digest)).size, 3)
      // A changed input changes the digest of the part it falls in, and only that one.
      const changed = yield* plan(dir, requests.map((r, i) => (i === 12 ? embedding(99) : r)), { maxRequests: 10 })
      assert.deepStrictEqual(changed.map((p, i) => p.digest === first[i]!.digest), [true, false, true])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("one model per part, and parts cut by bytes and by their share of the token budget", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const other = (i: number) =>
        BatchLine.embedding(`o-${i}`, { model: "text-embedding-3-large", input: "x".repeat(30) })
      const mixed = [embedding(0), other(0), embedding(1), other(1), embedding(2)]
      const byModel = yield* plan(dir, mixed)
      assert.deepStrictEqual(byModel.map((p) => [p.model, p.requests, p.firstLine]), [[model, 3, 1], [
        "text-embedding-3-large",
        2,
        2
      ]])
      // Each part knows its input lines (a batch error's line maps back to the input): runs of consecutive lines.
      assert.deepStrictEqual(byModel.map((p) => p.lines), [[[1, 1], [3, 1], [5, 1]], [[2, 1], [4, 1]]])
      assert.deepStrictEqual([1, 2, 3, 4].map((n) => PartFile.inputLine(byModel[0]!, n)), [1, 3, 5, undefined])
      // Each request is estimated at 10 tokens; a budget of 100 x 0.95 x 0.5 leaves 47 per part, packed into the
      // usable 95: three parts of 31 (3 requests each) fill it, where two of 47 (4 each) would leave 15 idle.
      const byTokens = yield* plan(dir, Array.from({ length: 9 }, (_, i) => embedding(i)), {
        budgets: { tokens: 100 },
        partFraction: 0.5
      })
      assert.deepStrictEqual(byTokens.map((p) => [p.requests, p.tokens]), [[3, 30], [3, 30], [3, 30]])
      const line = `${JSON.stringify(embedding(0))}\n`.length
      const byBytes = yield* plan(dir, Array.from({ length: 5 }, (_, i) => embedding(i)), { maxBytes: line * 2 })
      assert.deepStrictEqual(byBytes.map((p) => p.requests), [2, 2, 1])
      assert.isTrue(byBytes.every((p) => p.bytes <= line * 2))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("parts are packed so that a whole number of them fills the usable budget", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const requests = Array.from({ length: 60 }, (_, i) => embedding(i))
      // Parts of 10 requests (100 tokens) in a usable 285: two in flight leave 85 idle. Packed: three parts of 95
      // tokens (9 requests) fill it.
      const byTokens = yield* plan(dir, requests, { budgets: { tokens: 300 }, maxRequests: 10, partFraction: 1 })
      assert.deepStrictEqual(byTokens.map((p) => p.requests), [9, 9, 9, 9, 9, 9, 6])
      assert.isTrue(byTokens.every((p) => p.tokens <= 95))
      // The same for a requests budget: 20 requests x 0.95 = 19 usable; parts of at most 8 are packed to 6 (three fit).
      const byRequests = yield* plan(dir, requests.slice(0, 20), {
        budgets: { requests: 20 },
        maxRequests: 8,
        partFraction: 1
      })
      assert.deepStrictEqual(byRequests.map((p) => p.requests), [6, 6, 6, 2])
      // A part's limit follows the mean size read so far: after small requests, a large one opens a part that
      // holds fewer of them; no part is ever over the model's cap (285 x 0.25 = 71).
      const large = (i: number) => BatchLine.embedding(`big-${i}`, { model, input: "y".repeat(150) })
      const uneven = yield* plan(dir, [...requests.slice(0, 3), ...Array.from({ length: 6 }, (_, i) => large(i))], {
        budgets: { tokens: 300 },
        maxRequests: 10
      })
      assert.isTrue(uneven.every((p) => p.tokens <= 71))
      assert.deepStrictEqual(uneven.reduce((n, p) => n + p.requests, 0), 9)
      // Without a token budget, sizes do not matter: requests growing longer still fill parts of maxRequests.
      const growing = Array.from({ length: 25 }, (_, i) =>
        BatchLine.embedding(`g-${i}`, { model, input: "z".repeat(1 + i * 40) }))
      assert.deepStrictEqual(
        (yield* plan(dir, growing, { maxRequests: 10 })).map((p) =>
          p.requests
        ),
        [10, 10, 5]
      )
      // The same input gives the same parts.
      const again = yield* plan(dir, [...requests.slice(0, 3), ...Array.from({ length: 6 }, (_, i) => large(i))], {
        budgets: { tokens: 300 },
        maxRequests: 10
      })
      assert.deepStrictEqual(
        again.map((p) => [p.requests, p.tokens, p.digest]),
        uneven.map((p) => [p.requests, p.tokens, p.digest])
      )
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a JSONL file by path or as a Blob gives the same parts as the array", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const requests = Array.from({ length: 12 }, (_, i) => embedding(i))
      const jsonl = requests.map((r) => JSON.stringify(r)).join("\n") + "\n"
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFileString(`${dir}/in.jsonl`, jsonl)
      const fromArray = yield* plan(dir, requests, { maxRequests: 5 })
      const fromPath = yield* plan(dir, { path: `${dir}/in.jsonl` }, { maxRequests: 5 })
      const fromBlob = yield* plan(dir, new Blob([jsonl]), { maxRequests: 5 })
      assert.deepStrictEqual(fromPath.map((p) => p.digest), fromArray.map((p) => p.digest))
      assert.deepStrictEqual(fromBlob.map((p) => p.digest), fromArray.map((p) => p.digest))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("bad input is a typed error naming its line: duplicates across the whole job, wrong url, too large, bad JSON", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const many = Array.from({ length: 30 }, (_, i) => embedding(i))
      const duplicate = yield* Effect.flip(plan(dir, [...many, embedding(3)], { maxRequests: 10 }))
      assert.strictEqual(duplicate._tag, "DuplicateCustomIdError")
      if (duplicate._tag === "DuplicateCustomIdError") {
        assert.deepStrictEqual([duplicate.line, duplicate.firstLine, duplicate.customId], [31, 4, "doc-3"])
        assert.strictEqual(duplicate.message, "JobPlan.plan: request 31 repeats custom_id doc-3 of request 4")
      }
      const wrongUrl = yield* Effect.flip(
        plan(dir, [embedding(0), BatchLine.chatCompletion("c", { model: "m", messages: [] })])
      )
      assert.strictEqual(wrongUrl._tag, "EndpointMismatchError")
      if (wrongUrl._tag === "EndpointMismatchError") assert.strictEqual(wrongUrl.line, 2)
      const tooLarge = yield* Effect.flip(
        plan(dir, [embedding(0), BatchLine.embedding("big", { model, input: "y".repeat(3000) })], {
          budgets: { tokens: 1000 }
        })
      )
      assert.strictEqual(tooLarge._tag, "RequestTooLargeError")
      if (tooLarge._tag === "RequestTooLargeError") {
        assert.deepStrictEqual([tooLarge.line, tooLarge.limit, tooLarge.max], [2, "tokens", 237])
      }
      const badJson = yield* Effect.flip(plan(dir, new Blob([`${JSON.stringify(embedding(0))}\n{oops\n`])))
      assert.strictEqual(badJson._tag, "InvalidRequestError")
      if (badJson._tag === "InvalidRequestError") assert.strictEqual(badJson.line, 2)
      // Valid JSON on which Effect's union parser throws: an invalid line, not a defect.
      const odd = yield* Effect.flip(
        plan(
          dir,
          new Blob([
            `${
              JSON.stringify(embedding(0))
            }\n{"custom_id":"x","method":{"toString":{}},"url":"${endpoint}","body":{}}\n`
          ])
        )
      )
      assert.strictEqual(odd._tag, "InvalidRequestError")
      if (odd._tag === "InvalidRequestError") assert.deepStrictEqual([odd.line, odd.customId], [2, "x"])
      const empty = yield* Effect.flip(plan(dir, []))
      assert.strictEqual(empty._tag, "EmptyInputError")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("every error and every part's lines name the line an editor shows: blank lines, CRLF and a BOM", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // BOM (not a line), 1 good, 2 blank, 3 spaces, 4 good (CRLF), 5 blank, 6 the bad line.
      const head = `\uFEFF${JSON.stringify(embedding(0))}\r\n\r\n  \n${JSON.stringify(embedding(1))}\r\n\n`
      const big = JSON.stringify(BatchLine.embedding("big", { model, input: "y".repeat(3000) }))
      const cases: ReadonlyArray<readonly [string, string, Partial<Planner.Options>, number?]> = [
        ["InvalidRequestError", "{oops", {}],
        ["InvalidRequestError", `{"custom_id":"x","method":"POST","url":"${endpoint}","body":{}}`, {}],
        ["DuplicateCustomIdError", JSON.stringify(embedding(1)), {}],
        ["InvalidRequestError", "x".repeat(2_000), {}, 1_000],
        ["RequestTooLargeError", big, { budgets: { tokens: 1000 } }],
        ["TooManyLinesError", JSON.stringify(embedding(2)), { maxRequests: 2, maxParts: 1 }]
      ]
      for (const [tag, bad, options, cap] of cases) {
        const input = Input.requestsOf<never, never>(new Blob([`${head}${bad}\r\n`]), cap)
        const error = yield* Effect.flip(Stream.runDrain(Planner.plan(input, { endpoint, ...options }, Spool.memory())))
        assert.deepStrictEqual([error._tag, "line" in error ? error.line : undefined], [tag, 6], bad.slice(0, 40))
        if (error._tag === "DuplicateCustomIdError") assert.strictEqual(error.firstLine, 4)
      }
      const [part] = yield* plan(dir, new Blob([`${head}${JSON.stringify(embedding(2))}`]))
      assert.deepStrictEqual([part!.firstLine, part!.lines], [1, [[1, 1], [4, 1], [6, 1]]])
      assert.deepStrictEqual([1, 2, 3].map((n) => PartFile.inputLine(part!, n)), [1, 4, 6])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a budget that leaves room for nothing is a configuration error before reading on", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const budget of [{ tokens: 0 }, { tokens: -5 }, { requests: 1.2, tokens: Number.NaN }]) {
        const error = yield* Effect.flip(plan(dir, [embedding(0)], { budgets: budget }))
        assert.strictEqual(error._tag, "InvalidParamsError")
        if (error._tag === "InvalidParamsError") assert.strictEqual(error.field, "budget")
      }
      // One request larger than a whole part's share: a clear error naming it, not a part that never fits.
      const small = yield* Effect.flip(plan(dir, [embedding(0)], { budgets: { tokens: 5 } }))
      assert.strictEqual(small._tag, "RequestTooLargeError")
      // The message says what to do: the cap is a share of the budget, and the budget is the knob.
      assert.include(small.message, "over the most a part may hold (1); a part may claim budget.safetyFactor x")
      assert.include(small.message, "raise that model's budget to your tier's batch queue limit")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a stream fails at its first violation, after emitting the parts before it: nothing of the offending part", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const requests = [...Array.from({ length: 25 }, (_, i) => embedding(i)), embedding(7)]
      const emitted: Array<number> = []
      const error = yield* Effect.flip(
        Stream.runForEach(
          JobPlan.plan(Stream.fromIterable(requests), { endpoint, dir: `${dir}/s`, maxRequests: 10 }),
          (part) => Effect.sync(() => emitted.push(part.index))
        )
      )
      assert.strictEqual(error._tag, "DuplicateCustomIdError")
      assert.deepStrictEqual(emitted, [1, 2])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("an id the set only probably saw is confirmed against the files: planning goes on from it unchanged", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const requests = Array.from({ length: 25 }, (_, i) => embedding(i))
      const spool = Spool.files(yield* FileSystem.FileSystem, yield* Path.Path, `${dir}/suspects`)
      // A set that claims every id was seen: each line stops the chunk's pass, is looked up in the files, and the
      // pass goes on from it.
      const everyIdSeen = () => ({ has: () => true, add: () => true, size: () => 0 })
      const planned = (input: ReadonlyArray<BatchLine.BatchRequestInput>) =>
        Stream.runCollect(
          Planner.plan(Stream.rechunk(Stream.fromIterable(input), 4), {
            endpoint,
            maxRequests: 10,
            idSet: everyIdSeen
          }, spool)
        )
      const expected = yield* plan(dir, requests, { maxRequests: 10 })
      const suspected = yield* planned(requests)
      const shape = (parts: ReadonlyArray<JobPlan.Part>) =>
        parts.map((p) => [p.index, p.requests, p.bytes, p.firstLine, p.digest, p.lines])
      assert.deepStrictEqual(shape(suspected), shape(expected))
      for (const [i, part] of suspected.entries()) {
        assert.strictEqual(yield* text(part.file), yield* text(expected[i]!.file))
      }
      // A real duplicate is still one, named at its line and its first.
      const duplicate = yield* Effect.flip(planned([...requests, embedding(13)]))
      assert.strictEqual(duplicate._tag, "DuplicateCustomIdError")
      if (duplicate._tag === "DuplicateCustomIdError") {
        assert.deepStrictEqual([duplicate.line, duplicate.firstLine], [26, 14])
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a part's file holds its lines whole and in order when its buffer fills within one chunk of input", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // 256 KiB buffers: lines of 60,000 characters fill one every four lines, and one of 300,000 goes on its own.
      const requests = Array.from(
        { length: 12 },
        (_, i) => BatchLine.embedding(`big-${i}`, { model, input: String(i).repeat(i === 5 ? 300_000 : 60_000) })
      )
      const jsonl = (from: number, to: number) => requests.slice(from, to).map((r) => `${JSON.stringify(r)}\n`).join("")
      // In one chunk (one pass, every write after it), and a request per chunk (buffers written, then reused).
      for (const input of [requests, Stream.rechunk(Stream.fromIterable(requests), 1)]) {
        const parts = yield* plan(dir, input, { maxRequests: 10 })
        assert.deepStrictEqual(parts.map((p) => p.requests), [10, 2])
        assert.strictEqual(yield* text(parts[0]!.file), jsonl(0, 10))
        assert.strictEqual(yield* text(parts[1]!.file), jsonl(10, 12))
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("lines and tally read a part's file again, whole or filtered by custom_id", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const [part] = yield* plan(dir, Array.from({ length: 6 }, (_, i) => embedding(i)))
      if (part === undefined) return assert.fail("no part")
      const keep = (id: string) => id === "doc-1" || id === "doc-4"
      const spool = Spool.files(yield* FileSystem.FileSystem, yield* Path.Path, `${dir}/parts`)
      const chunks = yield* Stream.runCollect(PartFile.lines(spool, part, keep))
      const jsonl = new TextDecoder().decode(Buffer.concat(chunks))
      assert.deepStrictEqual(ids(jsonl), ["doc-1", "doc-4"])
      assert.deepStrictEqual(yield* PartFile.tally(spool, part, keep, (r) => TokenEstimate.estimateTokens(r)), {
        requests: 2,
        tokens: 20
      })
      const whole = yield* Stream.runCollect(PartFile.lines(spool, part))
      assert.strictEqual(new TextDecoder().decode(Buffer.concat(whole)), yield* text(part.file))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("an input file's line longer than the cap fails as an InvalidRequestError naming it, read no further", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = `${dir}/input.jsonl`
      // A whole file written as one line (a JSON array, say) of more than the cap, between two good lines.
      const good = JSON.stringify(embedding(0))
      yield* (yield* FileSystem.FileSystem).writeFileString(file, `${good}\n${"x".repeat(5_000)}\n${good}\n`)
      const error = yield* Effect.flip(Stream.runDrain(Input.requestsOf<never, never>({ path: file }, 1_000)))
      assert.strictEqual(error._tag, "InvalidRequestError")
      if (error._tag === "InvalidRequestError") {
        assert.strictEqual(error.line, 2)
        assert.include(error.message, "is longer than 1000 characters")
      }
      // The cap of every read: the API's largest batch file.
      assert.strictEqual(Input.maxLineLength, 200_000_000)
    }).pipe(Effect.provide(NodeServices.layer)))
})
