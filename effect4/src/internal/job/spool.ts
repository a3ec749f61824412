/**
 * Where a job's part files are kept between planning and upload (and read again for a follow-up): in memory for a
 * small job, or as files under a work directory (needed for a large job, and for a durable one whose runners share
 * them).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type * as Path from "effect/Path"
import * as Stream from "effect/Stream"
import type * as BatchError from "../../BatchError.js"
import { localFile } from "./input.js"

/** @internal */
export interface Spool {
  /** The name of the `n`-th file. */
  readonly fileName: (n: number) => string
  /** Makes sure the spool can be written (its directory exists). */
  readonly open: Effect.Effect<void, BatchError.LocalFileError>
  /** Writes `data` to `file`: from its start, or after what it holds (`append`). */
  readonly write: (file: string, data: Uint8Array, append: boolean) => Effect.Effect<void, BatchError.LocalFileError>
  readonly read: (file: string) => Stream.Stream<Uint8Array, BatchError.LocalFileError>
  readonly readText: (file: string) => Effect.Effect<string, BatchError.LocalFileError>
  readonly exists: (file: string) => Effect.Effect<boolean>
}

const decoder = new TextDecoder()

/** A spool in memory: no file system. @internal */
export const memory = (): Spool => {
  const files = new Map<string, Array<Uint8Array>>()
  return {
    fileName: (n) => `part-${n}.jsonl`,
    open: Effect.void,
    write: (file, data, append) =>
      Effect.sync(() => {
        // `data` may be a view of a buffer the planner reuses: keep a copy.
        const copy = data.slice()
        const chunks = append ? files.get(file) ?? [] : []
        chunks.push(copy)
        files.set(file, chunks)
      }),
    read: (file) => Stream.suspend(() => Stream.fromIterable(files.get(file) ?? [])),
    readText: (file) => Effect.sync(() => (files.get(file) ?? []).map((chunk) => decoder.decode(chunk)).join("")),
    exists: (file) => Effect.sync(() => files.has(file))
  }
}

/** A spool of files under `dir`. @internal */
export const files = (fs: FileSystem.FileSystem, path: Path.Path, dir: string): Spool => ({
  fileName: (n) => path.join(dir, `input-${n}.jsonl`),
  open: Effect.mapError(fs.makeDirectory(dir, { recursive: true }), localFile(dir, "create")),
  write: (file, data, append) =>
    Effect.mapError(fs.writeFile(file, data, { flag: append ? "a" : "w" }), localFile(file, "write")),
  read: (file) => Stream.mapError(fs.stream(file), localFile(file, "read")),
  readText: (file) => Effect.mapError(fs.readFileString(file), localFile(file, "read")),
  exists: (file) => Effect.orElseSucceed(fs.exists(file), () => false)
})
