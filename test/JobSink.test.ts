/**
 * `JobSink.jsonlFiles` on real files in a temporary directory: what a delivery leaves on disk, and in which order
 * (a file that exists must be whole even after the machine stops, since `stored` then skips its delivery).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type * as BatchLine from "../src/BatchLine.js"
import * as JobSink from "../src/JobSink.js"

const delivery: JobSink.Delivery = { jobId: "sync", part: 1, attempt: 1, batchId: "batch_1" }

const results: ReadonlyArray<BatchLine.BatchResult> = Array.from({ length: 3 }, (_, i) => ({
  _tag: "Errored",
  id: `line-${i}`,
  custom_id: `doc-${i}`,
  error: { code: "server_error", message: "no" }
}))

/** The node file system, recording what is done to files (by name, relative to `dir`). */
const recording = (dir: string, log: Array<string>) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (real) => {
      const name = (p: string) => path.relative(dir, p) || "."
      return FileSystem.make({
        ...real,
        open: (p, options) =>
          Effect.map(
            Effect.tap(
              real.open(p, options),
              () => Effect.addFinalizer(() => Effect.sync(() => log.push(`close ${name(p)}`)))
            ),
            (file): FileSystem.File => ({
              ...file,
              sync: Effect.zipRight(Effect.sync(() => log.push(`sync ${name(p)}`)), file.sync),
              writeAll: (buffer) =>
                Effect.zipRight(Effect.sync(() => log.push(`write ${name(p)}`)), file.writeAll(buffer))
            })
          ),
        rename: (from, to) =>
          Effect.zipRight(Effect.sync(() => log.push(`rename ${name(from)} ${name(to)}`)), real.rename(from, to))
      })
    })
  ).pipe(Layer.provide(NodeContext.layer))

describe("JobSink.jsonlFiles", () => {
  it.effect("flushes the file to disk before its rename, and the rename after it", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eob-sink-"))
      const log: Array<string> = []
      const sink = JobSink.jsonlFiles(dir)
      yield* Stream.run(Stream.fromIterable(results), sink.sink(delivery)).pipe(
        Effect.provide(Layer.merge(NodeContext.layer, recording(dir, log)))
      )
      const file = JobSink.fileName(delivery)
      const partial = `${file}.partial`
      const i = (entry: string) => log.indexOf(entry)
      assert.isAbove(i(`sync ${partial}`), i(`write ${partial}`), log.join("; "))
      assert.isAbove(i(`close ${partial}`), i(`sync ${partial}`), log.join("; "))
      assert.isAbove(i(`rename ${partial} ${file}`), i(`close ${partial}`), log.join("; "))
      // The directory's entry is flushed too: a journal that records the delivery done must not outlive its file.
      assert.isAbove(i("sync ."), i(`rename ${partial} ${file}`), log.join("; "))
      assert.deepStrictEqual(fs.readdirSync(dir), [file])
      const lines = fs.readFileSync(path.join(dir, file), "utf8").split("\n").filter((line) => line !== "")
      assert.deepStrictEqual(lines.map((line) => (JSON.parse(line) as { custom_id: string }).custom_id), [
        "doc-0",
        "doc-1",
        "doc-2"
      ])
      assert.isTrue(yield* sink.stored!(delivery).pipe(Effect.provide(NodeContext.layer)))
      fs.rmSync(dir, { recursive: true })
    }))
})
