/**
 * The in-memory `FileSystem` the job tests run on: what a job and its sinks use, on Effect 4's `FileSystem` (its
 * `stream`, `sink` and `exists` are `FileSystem.make`'s, over this module's `open` and `access`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Path, Sink, Stream } from "effect"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

describe("MemoryFileSystem", () => {
  it.effect("files written whole and appended, read whole and streamed, renamed, removed", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectory({ prefix: "job-" })
      const file = path.join(dir, "out.jsonl")
      yield* fs.writeFileString(file, "a\n")
      yield* fs.writeFile(file, encoder.encode("b\n"), { flag: "a" })
      yield* Stream.make(encoder.encode("c\n"), encoder.encode("d\n")).pipe(Stream.run(fs.sink(file, { flag: "a" })))
      assert.strictEqual(yield* fs.readFileString(file), "a\nb\nc\nd\n")
      const streamed = yield* Stream.runCollect(fs.stream(file, { chunkSize: 3 }))
      assert.strictEqual(streamed.map((chunk) => decoder.decode(chunk)).join(""), "a\nb\nc\nd\n")
      assert.isAbove(streamed.length, 1)
      assert.deepStrictEqual(yield* fs.readDirectory(dir), ["out.jsonl"])

      const moved = path.join(dir, "done.jsonl")
      yield* fs.rename(file, moved)
      assert.isFalse(yield* fs.exists(file))
      assert.isTrue(yield* fs.exists(moved))
      yield* fs.remove(dir, { recursive: true })
      assert.isFalse(yield* fs.exists(moved))
      assert.isFalse(yield* fs.exists(dir))
    }).pipe(Effect.provide(MemoryFileSystem.layer)))

  it.effect("a missing file is a PlatformError NotFound; a scoped temporary directory goes with its scope", () =>
    Effect.gen(function*() {
      const { contents, fileSystem: fs } = MemoryFileSystem.make()
      const missing = yield* Effect.flip(fs.readFile("/nowhere"))
      assert.strictEqual(missing.reason._tag, "NotFound")
      const unopened = yield* Effect.flip(Effect.scoped(fs.open("/nowhere")))
      assert.strictEqual(unopened.reason._tag, "NotFound")
      const dir = yield* Effect.scoped(Effect.gen(function*() {
        const dir = yield* fs.makeTempDirectoryScoped()
        yield* fs.writeFileString(`${dir}/x`, "x")
        assert.deepStrictEqual([...contents().files.keys()], [`${dir}/x`])
        return dir
      }))
      assert.strictEqual(contents().files.size, 0)
      assert.isFalse(contents().directories.has(dir))
      // a file opened for writing overwrites; read with positions
      yield* fs.writeFileString("/f", "hello")
      const text = yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open("/f", { flag: "w" })
        yield* file.writeAll(encoder.encode("abcdef"))
        yield* file.seek(BigInt(2), "start")
        const read = yield* file.readAlloc(2)
        return read._tag === "Some" ? decoder.decode(read.value) : ""
      }))
      assert.strictEqual(text, "cd")
      assert.strictEqual(yield* fs.readFileString("/f"), "abcdef")
      assert.strictEqual(yield* Stream.run(fs.stream("/f"), Sink.count), 1)
    }))
})
