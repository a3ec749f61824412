/**
 * A job's work directory (its parts' files, when they are not kept in memory): a fresh temporary directory named
 * after the job, removed when the job ends, however it ends. A run killed before it could remove its directory
 * leaves it behind; the next run of any job removes the directories of earlier runs of the same job, and any
 * directory of this library older than `staleAfter` (a job's lookback: no run resumes past it).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import type * as Path from "effect/Path"
import type * as Scope from "effect/Scope"
import type * as BatchError from "../../BatchError.js"
import * as Errors from "./errors.js"

const prefix = "eob-"

/** A scoped work directory for `jobId` (see the module comment). @internal */
export const make = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  jobId: string,
  staleAfter: Duration.Duration
): Effect.Effect<string, BatchError.LocalFileError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* Effect.mapError(
      fs.makeTempDirectoryScoped({ prefix: `${prefix}${jobId}-` }),
      Errors.localFile("(temporary directory)", "create")
    )
    yield* removeStale(fs, path, dir, jobId, staleAfter)
    return dir
  })

/** Removes what earlier runs left (never fails: housekeeping must not stop a job). */
const removeStale = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  current: string,
  jobId: string,
  staleAfter: Duration.Duration
) =>
  Effect.gen(function*() {
    const parent = path.dirname(current)
    const now = Date.now()
    const own = `${prefix}${jobId}-`
    const stale = (name: string) =>
      Effect.gen(function*() {
        const dir = path.join(parent, name)
        if (!name.startsWith(prefix) || dir === current) return
        // Another job's directory may belong to a run going on now: only an old one is removed.
        const sameJob = name.startsWith(own) && /^[A-Za-z0-9]+$/.test(name.slice(own.length))
        if (!sameJob) {
          const info = yield* fs.stat(dir)
          const mtime = Option.getOrUndefined(info.mtime)?.getTime()
          if (info.type !== "Directory" || mtime === undefined || now - mtime < Duration.toMillis(staleAfter)) return
        }
        yield* Effect.logDebug(`effect-openai-batch: removing ${dir}, left by an earlier run`)
        yield* fs.remove(dir, { recursive: true })
      }).pipe(Effect.catchCause(() => Effect.void))
    yield* Effect.forEach(yield* fs.readDirectory(parent), stale, { discard: true })
  }).pipe(Effect.catchCause(() => Effect.void))
