/**
 * BatchResults (ported from the root's test/BatchResults.test.ts): decoding results files incrementally (chunk
 * splits, CRLF, UTF-8, malformed lines, the per-line cap, bounded chunks), streaming a batch's files, collecting
 * and joining.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, Option, Ref, References, Schema, Stream } from "effect"
import * as Batch from "../src/Batch.js"
import * as BatchLine from "../src/BatchLine.js"
import * as BatchResults from "../src/BatchResults.js"
import type * as OpenAiFiles from "../src/OpenAiFiles.js"
import * as Fake from "./support/FakeFiles.js"

const encoder = new TextEncoder()
const bytesOf = (...chunks: ReadonlyArray<string | Uint8Array>) =>
  Stream.fromIterable(chunks.map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk))

const source = { fileId: "file-out", file: "output" } as const
const decodeAll = (options: Parameters<typeof BatchResults.decode>[1] = {}) => (stream: Stream.Stream<Uint8Array>) =>
  Stream.runCollect(BatchResults.decode(source, options)(stream))

const ids = (results: ReadonlyArray<BatchLine.BatchResult>) => results.map((r) => r.custom_id)

const batch = (overrides: Record<string, unknown>) => Schema.decodeUnknownSync(Batch.Batch)(Fake.batchJson(overrides))

describe("BatchResults.decode", () => {
  it.effect("handles lines split across chunks, CRLF, blank lines and no final newline", () =>
    Effect.gen(function*() {
      const a = Fake.okLine("a")
      const b = Fake.failedLine("b")
      const c = Fake.expiredLine("c")
      const text = `${a}\r\n\r\n   \n${b}\n\n${c}`
      // every possible split point into 3 chunks around the middle of line b
      for (const cut of [1, a.length, a.length + 1, a.length + 2, a.length + 3, a.length + 10, text.length - 1]) {
        const results = yield* decodeAll()(bytesOf(text.slice(0, cut), text.slice(cut, cut + 7), text.slice(cut + 7)))
        assert.deepStrictEqual(ids(results), ["a", "b", "c"], `cut at ${cut}`)
        assert.deepStrictEqual(results.map((r) => r._tag), ["Succeeded", "FailedResponse", "Errored"])
      }
      // one byte per chunk
      const bytes = encoder.encode(text)
      const single = yield* decodeAll()(Stream.fromIterable(Array.from(bytes, (byte) => Uint8Array.of(byte))))
      assert.deepStrictEqual(ids(single), ["a", "b", "c"])
    }))

  it.effect("decodes a multi-byte UTF-8 character split between chunks", () =>
    Effect.gen(function*() {
      const line = encoder.encode(`${Fake.okLine("ü", "héllo 🎉 wörld")}\n`)
      const emoji = line.indexOf(0xf0)
      assert.isTrue(emoji > 0)
      for (const cut of [emoji + 1, emoji + 2, emoji + 3]) {
        const results = yield* decodeAll()(bytesOf(line.slice(0, cut), line.slice(cut)))
        const first = results[0]
        assert.strictEqual(first?.custom_id, "ü")
        if (first?._tag === "Succeeded") {
          const choices = first.response.body["choices"]
          assert.deepStrictEqual(choices, [{ message: { role: "assistant", content: "héllo 🎉 wörld" } }])
        } else assert.fail("expected Succeeded")
      }
    }))

  it.effect("fails on a malformed line with its file and line number, after the lines before it", () =>
    Effect.gen(function*() {
      const text = `${Fake.okLine("a")}\n\n{"id": "x", "custom_id": \n${Fake.okLine("b")}\n`
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const error = yield* BatchResults.decode(source)(bytesOf(text)).pipe(
        Stream.runForEach((r) => Ref.update(seen, (all) => [...all, r.custom_id])),
        Effect.flip
      )
      assert.strictEqual(error._tag, "MalformedLineError")
      assert.strictEqual(error.line, 3)
      assert.strictEqual(error.fileId, "file-out")
      assert.strictEqual(error.file, "output")
      assert.include(error.message, "line 3 of the output file file-out")
      assert.include(error.issue, "not JSON")
      assert.deepStrictEqual(yield* Ref.get(seen), ["a"])
    }))

  it.effect("reports a line that is JSON but not a result line, counting a final line without newline", () =>
    Effect.gen(function*() {
      const error = yield* decodeAll()(bytesOf(`${Fake.okLine("a")}\r\n{"id":"x","custom_id":"y","response":null}`))
        .pipe(Effect.flip)
      assert.strictEqual(error.line, 2)
      assert.include(error.issue, "error")
    }))

  it.effect("with malformed: skip, skips and hands over every bad line", () =>
    Effect.gen(function*() {
      const skipped = yield* Ref.make<ReadonlyArray<number>>([])
      const results = yield* decodeAll({
        malformed: "skip",
        onMalformed: (error) => Ref.update(skipped, (all) => [...all, error.line])
      })(bytesOf(`garbage\n${Fake.okLine("a")}\n[1]\n${Fake.okLine("b")}\nnot json`))
      assert.deepStrictEqual(ids(results), ["a", "b"])
      assert.deepStrictEqual(yield* Ref.get(skipped), [1, 3, 5])
    }))

  it.effect("a line exactly at the cap is read wherever its CRLF is split: the CR of a CRLF is no content", () =>
    Effect.gen(function*() {
      const line = Fake.okLine("a")
      const cap = { maxLineLength: line.length }
      for (const chunks of [[`${line}\r\n`], [`${line}\r`, "\n"], [line, "\r\n"], [`${line}\r`]]) {
        assert.deepStrictEqual(ids(yield* decodeAll(cap)(bytesOf(...chunks))), ["a"], JSON.stringify(chunks.length))
      }
      // one character more is over the cap, found before its newline
      const error = yield* Effect.flip(decodeAll({ maxLineLength: line.length - 1 })(bytesOf(`${line}\r`, "\n")))
      assert.strictEqual(error.line, 1)
    }))

  it.effect("a line longer than the cap is a MalformedLineError naming its file and line, before it ends", () =>
    Effect.gen(function*() {
      const long = Fake.okLine("long", "x".repeat(5_000))
      const text = `${Fake.okLine("a")}\n${long}\n${Fake.okLine("b")}\n`
      // delivered in 100-byte chunks: the cap is found while the line is still arriving
      const chunks = Array.from({ length: Math.ceil(text.length / 100) }, (_, i) => text.slice(i * 100, i * 100 + 100))
      const pulled = yield* Ref.make(0)
      const counted = bytesOf(...chunks).pipe(Stream.tap(() => Ref.update(pulled, (n) => n + 1)))
      const error = yield* Effect.flip(decodeAll({ maxLineLength: 1_000 })(counted))
      assert.strictEqual(error._tag, "MalformedLineError")
      assert.strictEqual(error.line, 2)
      assert.strictEqual(error.fileId, "file-out")
      assert.strictEqual(error.issue, "is longer than 1000 characters")
      assert.strictEqual(
        error.message,
        "line 2 of the output file file-out is malformed: is longer than 1000 characters"
      )
      assert.isBelow(error.excerpt.length, 400)
      // failed well before the end of the 5,000-character line
      assert.isBelow(yield* Ref.get(pulled), 20)
      // with malformed: skip, it is skipped (its rest read past) and the next lines are read
      const skipped = yield* Ref.make<ReadonlyArray<number>>([])
      const results = yield* decodeAll({
        maxLineLength: 1_000,
        malformed: "skip",
        onMalformed: (e) => Ref.update(skipped, (all) => [...all, e.line])
      })(bytesOf(...chunks))
      assert.deepStrictEqual(ids(results), ["a", "b"])
      assert.deepStrictEqual(yield* Ref.get(skipped), [2])
      // a line in one chunk is measured too; the default cap is 128 Mi characters
      const whole = yield* Effect.flip(decodeAll({ maxLineLength: 1_000 })(bytesOf(text)))
      assert.strictEqual(whole.line, 2)
      assert.strictEqual(BatchResults.defaultMaxLineLength, 128 * 1024 * 1024)
      assert.deepStrictEqual(ids(yield* decodeAll()(bytesOf(...chunks))), ["a", "long", "b"])
    }))

  it.effect("an empty file gives no results", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* decodeAll()(bytesOf()), [])
      assert.deepStrictEqual(yield* decodeAll()(bytesOf("\n\r\n")), [])
    }))
})

const serveFiles = (files: Record<string, ReadonlyArray<string>>): Fake.Responder => (request) => {
  const match = /\/files\/([^/]+)\/content$/.exec(request.url.pathname)
  const chunks = match === null ? undefined : files[match[1] ?? ""]
  return chunks === undefined
    ? {
      status: 404,
      body: { error: { message: "No such File object", type: "invalid_request_error", param: "id", code: null } }
    }
    : { status: 200, chunks, headers: { "content-type": "application/octet-stream" } }
}

describe("BatchResults.stream", () => {
  const files = {
    "file-out": [`${Fake.okLine("a")}\n${Fake.okLine("b").slice(0, 40)}`, `${Fake.okLine("b").slice(40)}\n`],
    "file-err": [`${Fake.failedLine("c")}\n${Fake.expiredLine("d")}`]
  }

  it.effect("reads the output file, then the error file, of a completed batch", () =>
    Effect.gen(function*() {
      const results = yield* Stream.runCollect(
        BatchResults.stream(batch({ status: "completed", output_file_id: "file-out", error_file_id: "file-err" }))
      )
      assert.deepStrictEqual(ids(results), ["a", "b", "c", "d"])
      const requests = yield* Fake.requests
      assert.deepStrictEqual(requests.map((r) => `${r.method} ${r.url.pathname}`), [
        "GET /v1/files/file-out/content",
        "GET /v1/files/file-err/content"
      ])
      assert.strictEqual(requests[0]?.headers["authorization"], `Bearer ${Fake.testKey}`)
    }).pipe(Effect.provide(Fake.layer(serveFiles(files)))))

  it.effect("reads only the error file of a completed batch whose output_file_id is null", () =>
    Effect.gen(function*() {
      const map = yield* BatchResults.toMap(
        BatchResults.stream(batch({ status: "completed", output_file_id: null, error_file_id: "file-err" }))
      )
      assert.deepStrictEqual([...map.keys()], ["c", "d"])
      assert.strictEqual(Option.getOrThrow(BatchResults.get(map, "c"))._tag, "FailedResponse")
      assert.isTrue(Option.isNone(BatchResults.get(map, "a")))
    }).pipe(Effect.provide(Fake.layer(serveFiles(files)))))

  it.effect("reads the partial results of expired and cancelled batches", () =>
    Effect.gen(function*() {
      for (const status of ["expired", "cancelled"]) {
        const { byCustomId, skipped } = yield* BatchResults.collect(
          batch({ status, output_file_id: "file-out", error_file_id: "file-err" })
        )
        assert.deepStrictEqual([...byCustomId.keys()], ["a", "b", "c", "d"], status)
        assert.strictEqual(byCustomId.get("d")?._tag, "Errored")
        assert.strictEqual(skipped.length, 0)
      }
    }).pipe(Effect.provide(Fake.layer(serveFiles(files)))))

  it.effect("gives nothing for a failed batch and refuses a batch still running", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Stream.runCount(BatchResults.stream(batch({ status: "failed" }))), 0)
      const error = yield* Stream.runCount(BatchResults.stream(batch({ status: "finalizing" }))).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ResultsNotReadyError")
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(Fake.layer(serveFiles(files)))))

  it.effect("names the file in an error of the error file, and counts skipped lines in collect", () =>
    Effect.gen(function*() {
      const b = batch({ status: "completed", output_file_id: "file-out", error_file_id: "file-bad" })
      const error = yield* Stream.runDrain(BatchResults.stream(b)).pipe(Effect.flip)
      assert.strictEqual(error._tag, "MalformedLineError")
      if (error._tag === "MalformedLineError") {
        assert.strictEqual(error.file, "error")
        assert.strictEqual(error.fileId, "file-bad")
        assert.strictEqual(error.line, 2)
      }
      const { byCustomId, skipped } = yield* BatchResults.collect(b, { malformed: "skip" })
      assert.strictEqual(byCustomId.size, 3)
      assert.deepStrictEqual(skipped.map((e) => e.line), [2])
    }).pipe(Effect.provide(Fake.layer(serveFiles({ ...files, "file-bad": [`${Fake.expiredLine("c")}\n{oops}\n`] })))))

  it.effect("fails with the API's typed error when a file is missing", () =>
    Effect.gen(function*() {
      const error = yield* Stream.runDrain(
        BatchResults.stream(batch({ status: "completed", output_file_id: "file-gone" }))
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "NotFoundError")
      assert.isTrue(error.message.startsWith("BatchResults.stream: 404"), error.message)
    }).pipe(Effect.provide(Fake.layer(serveFiles(files)))))

  it.effect("collecting results that fail logs no \"unhandled error\" fiber failure for a handled error", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => lines.push(JSON.stringify(message)))
      const missing = batch({ status: "completed", output_file_id: "file-gone" })
      const effects: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }, OpenAiFiles.OpenAiFiles>> = [
        BatchResults.collect(missing),
        BatchResults.toMap(BatchResults.stream(missing)),
        BatchResults.join(BatchResults.stream(missing), [])
      ]
      for (const effect of effects) {
        const tag = yield* effect.pipe(
          Effect.catch((error) => Effect.succeed(error._tag)),
          Effect.provide(Logger.layer([logger])),
          Effect.provideService(References.MinimumLogLevel, "All")
        )
        assert.strictEqual(tag, "NotFoundError")
      }
      assert.deepStrictEqual(lines.filter((line) => line.includes("unhandled")), [])
    }).pipe(Effect.provide(Fake.layer(serveFiles(files)))))
})

describe("BatchResults.join", () => {
  it.effect("joins by custom_id in input order, with missing inputs and unmatched results", () =>
    Effect.gen(function*() {
      const inputs = ["a", "b", "c"].map((id) => BatchLine.chatCompletion(id, { model: "m", messages: [] }))
      const results = Stream.fromIterable([Fake.okLine("c"), Fake.expiredLine("a"), Fake.okLine("zz")]).pipe(
        Stream.map((line) => Schema.decodeUnknownSync(BatchLine.BatchResultFromLine)(JSON.parse(line)))
      )
      // a generator can be read only once: join must not read it twice
      function* gen() {
        yield* inputs
      }
      const joined = yield* BatchResults.join(results, gen())
      assert.deepStrictEqual(joined.matched.map((m) => [m.input.custom_id, m.result._tag]), [
        ["a", "Errored"],
        ["c", "Succeeded"]
      ])
      assert.deepStrictEqual(joined.missing.map((i) => i.custom_id), ["b"])
      assert.deepStrictEqual(joined.unmatched.map((r) => r.custom_id), ["zz"])
      const piped = yield* results.pipe(BatchResults.join(inputs))
      assert.strictEqual(piped.matched.length, 2)
    }))
})

describe("BatchResults.decode of a file delivered in one huge chunk", () => {
  it.effect("emits bounded chunks: folding 60,000 results of one 8 MB chunk does not overflow the stack", () =>
    Effect.gen(function*() {
      const line = JSON.stringify({
        id: "r",
        custom_id: "x",
        response: { status_code: 200, request_id: "q", body: { a: 1 } },
        error: null
      })
      const text = Array.from({ length: 60_000 }, (_, i) => line.replace("\"x\"", `"x${i}"`)).join("\n") + "\n"
      const results = BatchResults.decode({ fileId: "f", file: "output" })(Stream.make(new TextEncoder().encode(text)))
      assert.strictEqual(yield* Stream.runFold(results, () => 0, (n) => n + 1), 60_000)
      const sizes = yield* Stream.runCollect(Stream.map(Stream.chunks(results), (chunk) => chunk.length))
      assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 60_000)
      assert.isTrue(sizes.every((size) => size <= 4096))
    }))
})
