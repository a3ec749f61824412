/**
 * One runner per SQLite file, enforced: a second `SqliteEngine.layer` on a file whose runner is up fails at build
 * with `RunnerLockedError`, while clients (`layerClient`) share the file freely. A runner killed with SIGKILL does
 * not block the next start: crash.test.ts restarts runners on the file of a killed one.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as JobInterrupts from "../../src/durable/JobInterrupts.js"
import * as SqliteEngine from "../../src/durable/SqliteEngine.js"

const tempDb = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "eob-runner-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => path.join(dir, "engine.db")))

describe("SqliteEngine: one runner per file", () => {
  it.scopedLive(
    "a second runner on the file fails with RunnerLockedError naming the holder; a client beside it works; once the first closed, a runner starts",
    () =>
      Effect.gen(function*() {
        const filename = yield* tempDb
        const first = yield* Scope.make()
        yield* Layer.buildWithScope(SqliteEngine.layer({ filename }), first)

        const second = yield* Effect.scoped(Layer.build(SqliteEngine.layer({ filename }))).pipe(Effect.flip)
        assert.strictEqual(second._tag, "RunnerLockedError")
        if (second._tag === "RunnerLockedError") {
          assert.strictEqual(second.filename, filename)
          assert.strictEqual(second.pid, process.pid)
          assert.strictEqual(second.hostname, os.hostname())
          const since = new Date(second.startedAt ?? Number.NaN).toISOString()
          assert.strictEqual(
            second.message,
            `SqliteEngine.layer: the runner of pid ${process.pid} on ${os.hostname()} (up since ${since}) holds ${filename}; one runner per file: use SqliteEngine.layerClient in a process that only starts or reads jobs, or stop that runner first`
          )
        }

        const requested = yield* Effect.flatMap(
          JobInterrupts.JobInterrupts,
          (interrupts) => interrupts.requested("none")
        ).pipe(Effect.provide(SqliteEngine.layerClient({ filename })))
        assert.isFalse(requested)

        yield* Scope.close(first, Exit.void)
        const next = yield* Effect.scoped(
          Effect.as(Layer.build(SqliteEngine.layer({ filename })), "started")
        )
        assert.strictEqual(next, "started")
      }),
    30_000
  )
  it.scopedLive(
    "the same file by another name (relative, a symlink to it) is refused: one runner per file, not per name",
    () =>
      Effect.gen(function*() {
        const filename = yield* tempDb
        const first = yield* Scope.make()
        yield* Layer.buildWithScope(SqliteEngine.layer({ filename }), first)
        const link = path.join(path.dirname(filename), "link.db")
        fs.symlinkSync(filename, link)
        for (const other of [path.relative(process.cwd(), filename), link]) {
          const refused = yield* Effect.scoped(Layer.build(SqliteEngine.layer({ filename: other }))).pipe(
            Effect.as("started"),
            Effect.catchAll((error) => Effect.succeed(error._tag))
          )
          assert.strictEqual(refused, "RunnerLockedError", other)
        }
        yield* Scope.close(first, Exit.void)
        // Once the runner on the file is gone, one on its link starts (and one on the file after it).
        const onLink = yield* Effect.scoped(Effect.as(Layer.build(SqliteEngine.layer({ filename: link })), "started"))
        assert.strictEqual(onLink, "started")
        const onFile = yield* Effect.scoped(Effect.as(Layer.build(SqliteEngine.layer({ filename })), "started"))
        assert.strictEqual(onFile, "started")
      }),
    30_000
  )
})
