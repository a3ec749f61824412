/**
 * The runner lock of `SqliteEngine.layer`: one runner per SQLite file, held as SQLite's own write lock on a small
 * file beside the engine's (`<file>-runner`), for the runner's whole life.
 *
 * Why a lock SQLite holds, not a row naming a pid: the operating system drops a process's file locks when it dies,
 * SIGKILL included, so a crashed runner never blocks the next start and nothing has to guess whether a pid is still
 * the runner (pids are reused: in a container the runner is pid 1 at every start; another host's pid cannot be
 * checked at all). Why a file of its own: the write lock is whole-file, and on the engine's file it would stop the
 * engine's own writes. The file also holds one row, the holder (pid, host, start), only to word the error.
 *
 * Claiming: the row is written first with no wait (a held lock makes that write busy at once: the lock is taken),
 * then the write lock is taken for good and the row read back; a rival that wrote its row in between wins, and
 * this one fails naming it.
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as BatchError from "../../BatchError.js"

const table = "effect_openai_batch_runner"

/**
 * The engine's file as the file system names it: symlinks followed (a dangling one too, as SQLite would create its
 * target), the directory made absolute. Two names of one file (a symlink, another spelling of its path) must take
 * one lock: a lock file named after the name given would let a runner on `link.db` start beside one on `engine.db`.
 */
const realName = (filename: string, hops = 0): string => {
  try {
    return Fs.realpathSync(filename)
  } catch {
    // Missing, or a symlink to a file not created yet: follow the link by hand, then the directory.
  }
  if (hops < 32) {
    try {
      return realName(Path.resolve(Path.dirname(filename), Fs.readlinkSync(filename)), hops + 1)
    } catch {
      // Not a symlink.
    }
  }
  try {
    return Path.join(Fs.realpathSync(Path.dirname(filename)), Path.basename(filename))
  } catch {
    return Path.resolve(filename)
  }
}

/** The lock's file, beside the engine's real file (read when the layer is built: the file may be made meanwhile). */
export const lockFile = (filename: string): string => `${realName(filename)}-runner`

/** Another connection holds SQLite's lock (`SQLITE_BUSY`, which the driver classifies as a lock time-out). */
const isBusy = (error: SqlError): boolean => error.reason._tag === "LockTimeoutError"

const numberOf = (u: unknown): number | undefined =>
  typeof u === "number" ? u : typeof u === "bigint" ? Number(u) : undefined

/** The error naming the holder, as far as its row can be read (it is read without waiting for the lock). */
const held = (sql: SqlClient.SqlClient, filename: string): Effect.Effect<never, BatchError.RunnerLockedError> =>
  sql<{ readonly pid: unknown; readonly hostname: unknown; readonly started_at: unknown }>`
    SELECT pid, hostname, started_at FROM ${sql(table)}`.pipe(
    Effect.orElseSucceed(() => []),
    Effect.flatMap((rows) => {
      const row = rows[0]
      return new BatchError.RunnerLockedError({
        filename,
        pid: numberOf(row?.pid),
        hostname: typeof row?.hostname === "string" ? row.hostname : undefined,
        startedAt: numberOf(row?.started_at)
      })
    })
  )

const claim = (filename: string) =>
  Effect.gen(function*() {
    const sql = yield* Effect.service(SqlClient.SqlClient)
    const token = Crypto.randomUUID()
    const startedAt = yield* Clock.currentTimeMillis
    yield* sql`PRAGMA busy_timeout = 0`
    yield* sql.withTransaction(Effect.all([
      sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
        token TEXT NOT NULL, pid INTEGER NOT NULL, hostname TEXT NOT NULL, started_at INTEGER NOT NULL
      )`,
      sql`DELETE FROM ${sql(table)}`,
      sql`INSERT INTO ${sql(table)} (token, pid, hostname, started_at)
        VALUES (${token}, ${process.pid}, ${Os.hostname()}, ${startedAt})`
    ])).pipe(Effect.catchIf(isBusy, () => held(sql, filename)))
    // A rival between the row and the lock holds the lock a moment at most (to read the row back): wait for it.
    yield* sql`PRAGMA busy_timeout = 2000`
    yield* Effect.acquireRelease(
      sql`BEGIN IMMEDIATE`.pipe(Effect.catchIf(isBusy, () => held(sql, filename))),
      () => Effect.ignore(sql`ROLLBACK`)
    )
    const rows = yield* sql<{ readonly token: unknown }>`SELECT token FROM ${sql(table)}`
    if (rows[0]?.token !== token) return yield* held(sql, filename)
  }).pipe(Effect.withSpan("SqliteEngine.lockRunner", { attributes: { filename } }))

/**
 * Holds the runner lock of `filename` while the layer is up; fails with `RunnerLockedError` when another runner
 * holds it. A database in memory is one process's own: no lock.
 */
export const layer = (
  filename: string
): Layer.Layer<never, BatchError.RunnerLockedError | SqlError> =>
  filename === ":memory:" || filename === ""
    ? Layer.empty
    : Layer.unwrap(Effect.sync(() =>
      Layer.effectDiscard(claim(filename)).pipe(Layer.provide(SqliteClient.layer({ filename: lockFile(filename) })))
    ))
