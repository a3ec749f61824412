/**
 * The JSONL splitter (internal/jsonl.ts) on its own: the cases the Effect 3 edition tests through
 * `BatchResults.decode` (lines split across chunks, CRLF, blank lines, no final newline, a UTF-8 character split
 * between chunks, a malformed line's number, skipping bad lines, bounded chunks of a huge input), checked here at
 * `decodeLines` with `parseJson`, until `BatchResults` is ported.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Stream } from "effect"
import { decodeLines, parseJson } from "../src/internal/jsonl.js"

const encoder = new TextEncoder()

/** Each piece its own pull (`chunkSize: 1`): where the chunk boundaries fall is what is tested. */
const bytesOf = (...pieces: ReadonlyArray<string | Uint8Array>) =>
  Stream.fromIterable(pieces.map((piece) => typeof piece === "string" ? encoder.encode(piece) : piece), {
    chunkSize: 1
  })

interface Line {
  readonly id: string
  readonly line: number
}

/** A line decodes to its `id` and its line number; one without a string `id` is malformed. */
const decodeLine = (text: string, line: number): Result.Result<Line, string> =>
  Result.flatMap(
    parseJson(text),
    (value) =>
      typeof value === "object" && value !== null && "id" in value && typeof value.id === "string"
        ? Result.succeed({ id: value.id, line })
        : Result.fail(`line ${line} has no id`)
  )

const ids = (lines: ReadonlyArray<Line>) => lines.map((line) => line.id)

const collect = (stream: Stream.Stream<Uint8Array, string>) => Stream.runCollect(decodeLines(decodeLine)(stream))

describe("decodeLines", () => {
  it.effect("handles lines split across chunks, CRLF, blank lines and no final newline", () =>
    Effect.gen(function*() {
      const [a, b, c] = [`{"id":"a"}`, `{"id":"b","text":"x\\ny"}`, `{"id":"c"}`]
      const text = `${a}\r\n\r\n   \n${b}\n\n${c}`
      // every split point around line b into 3 chunks
      for (const cut of [1, a.length, a.length + 1, a.length + 2, a.length + 3, a.length + 10, text.length - 1]) {
        const lines = yield* collect(bytesOf(text.slice(0, cut), text.slice(cut, cut + 7), text.slice(cut + 7)))
        assert.deepStrictEqual(ids(lines), ["a", "b", "c"], `cut at ${cut}`)
        // physical line numbers: blank lines count
        assert.deepStrictEqual(lines.map((line) => line.line), [1, 4, 6], `cut at ${cut}`)
      }
      // one byte per chunk, and all of it in one chunk
      const bytes = encoder.encode(text)
      assert.deepStrictEqual(ids(yield* collect(bytesOf(...Array.from(bytes, (byte) => Uint8Array.of(byte))))), [
        "a",
        "b",
        "c"
      ])
      assert.deepStrictEqual(ids(yield* collect(bytesOf(bytes))), ["a", "b", "c"])
      // a final "\r" alone is not content
      assert.deepStrictEqual(ids(yield* collect(bytesOf(`${a}\r`))), ["a"])
    }))

  it.effect("decodes a multi-byte UTF-8 character split between chunks", () =>
    Effect.gen(function*() {
      const line = encoder.encode(`{"id":"héllo 🎉 wörld"}\n`)
      const emoji = line.indexOf(0xf0)
      assert.isTrue(emoji > 0)
      for (const cut of [emoji + 1, emoji + 2, emoji + 3]) {
        assert.deepStrictEqual(ids(yield* collect(bytesOf(line.slice(0, cut), line.slice(cut)))), ["héllo 🎉 wörld"])
      }
    }))

  it.effect("fails on a malformed line with its line number, after the lines before it", () =>
    Effect.gen(function*() {
      const text = `{"id":"a"}\n\n{"id": "x", "custom_id": \n{"id":"b"}\n`
      const seen: Array<string> = []
      const error = yield* decodeLines(decodeLine)(bytesOf(text)).pipe(
        Stream.runForEach((line) => Effect.sync(() => seen.push(line.id))),
        Effect.flip
      )
      assert.include(error, "JSON")
      assert.deepStrictEqual(seen, ["a"])
      // JSON, but not a line: the decoder's own failure, numbered, a final line without newline included
      const notALine = yield* collect(bytesOf(`{"id":"a"}\r\n{"other":1}`)).pipe(Effect.flip)
      assert.strictEqual(notALine, "line 2 has no id")
    }))

  it.effect("with a callback, hands over every bad line and goes on, after the good lines of the same chunk", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const text = `{"id":"a"}\nnot json\n{"id":"b"}\n{"x":1}\n`
      yield* decodeLines(decodeLine, (error) => Effect.sync(() => events.push(`bad: ${error.slice(0, 6)}`)))(
        bytesOf(text, `{"id":"c"}\n`)
      ).pipe(Stream.runForEach((line) => Effect.sync(() => events.push(line.id))))
      assert.strictEqual(events.length, 5)
      assert.deepStrictEqual(events.slice(0, 2), ["a", "b"])
      assert.isTrue(events[2]!.startsWith("bad: "))
      assert.deepStrictEqual(events.slice(3), ["bad: line 4", "c"])
    }))

  it.effect("an empty input, or one of blank lines, gives nothing; an upstream failure comes through", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* collect(bytesOf()), [])
      assert.deepStrictEqual(yield* collect(bytesOf("\n\r\n  \n\t\n")), [])
      const failed = yield* collect(Stream.concat(bytesOf(`{"id":"a"}\n`), Stream.fail("upstream"))).pipe(Effect.flip)
      assert.strictEqual(failed, "upstream")
    }))

  it.effect("emits bounded chunks: 60,000 lines of one 2 MB chunk come out in chunks of at most 4,096", () =>
    Effect.gen(function*() {
      const text = Array.from({ length: 60_000 }, (_, i) => `{"id":"x${i}"}`).join("\n") + "\n"
      const lines = decodeLines(decodeLine)(Stream.make(encoder.encode(text)))
      const sizes: Array<number> = []
      yield* Stream.runForEachArray(lines, (chunk) => Effect.sync(() => sizes.push(chunk.length)))
      assert.strictEqual(sizes.reduce((n, size) => n + size, 0), 60_000)
      assert.isTrue(sizes.every((size) => size <= 4096), String(sizes))
      assert.strictEqual(yield* Stream.runFold(lines, () => 0, (n) => n + 1), 60_000)
    }))
})
