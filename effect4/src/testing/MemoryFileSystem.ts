/**
 * An in-memory `FileSystem` (and a POSIX `Path`), for testing jobs under `TestClock`: every operation completes
 * synchronously, so `TestClock.adjust` never runs ahead of a file the job is still writing, and nothing touches the
 * disk. It holds what a job and its sinks use: directories, temporary directories, files written whole or appended,
 * read whole or streamed, renamed, removed, checked for existence.
 *
 * The Effect 4 edition: on `effect`'s own `FileSystem`, `Path` and `PlatformError` (Effect 3 had them in
 * `@effect/platform`); `stream`, `sink`, `exists` and the string forms are `FileSystem.make`'s, over `open`,
 * `access` and the rest here.
 *
 * @since 4.0.0
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as PlatformError from "effect/PlatformError"

/**
 * The files and directories of a memory file system, for assertions.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Contents {
  readonly files: ReadonlyMap<string, Uint8Array>
  readonly directories: ReadonlySet<string>
}

interface Entry {
  chunks: Array<Uint8Array>
  size: number
}

const concat = (entry: Entry): Uint8Array => {
  if (entry.chunks.length === 1) return entry.chunks[0]!
  const out = new Uint8Array(entry.size)
  let offset = 0
  for (const chunk of entry.chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  entry.chunks = [out]
  return out
}

const notFound = (method: string, path: string) =>
  PlatformError.systemError({
    _tag: "NotFound",
    module: "FileSystem",
    method,
    pathOrDescriptor: path,
    description: "no such file"
  })

/**
 * Builds a memory file system and a way to read its contents.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make = (): { readonly fileSystem: FileSystem.FileSystem; readonly contents: () => Contents } => {
  const files = new Map<string, Entry>()
  const directories = new Set<string>(["/", "/tmp"])
  let temporary = 0
  const entry = (method: string, path: string) => {
    const found = files.get(path)
    return found === undefined ? Effect.fail(notFound(method, path)) : Effect.succeed(found)
  }
  const makeTemp = (options?: { readonly directory?: string | undefined; readonly prefix?: string | undefined }) =>
    Effect.sync(() => {
      const path = `${options?.directory ?? "/tmp"}/${options?.prefix ?? "tmp-"}${++temporary}`
      directories.add(path)
      return path
    })
  const removeTree = (path: string) =>
    Effect.sync(() => {
      for (const file of [...files.keys()]) if (file === path || file.startsWith(`${path}/`)) files.delete(file)
      for (const dir of [...directories]) if (dir === path || dir.startsWith(`${path}/`)) directories.delete(dir)
    })
  /** The names directly under `path`, files first. */
  const children = (path: string) =>
    [...files.keys(), ...directories].filter((p) => p.startsWith(`${path}/`)).map((p) => p.slice(path.length + 1))
      .filter((p) => !p.includes("/"))

  const open = (path: string, options?: { readonly flag?: FileSystem.OpenFlag | undefined }) =>
    Effect.gen(function*() {
      const flag = options?.flag ?? "r"
      let current = files.get(path)
      if (current === undefined || flag.startsWith("w")) {
        if (flag.startsWith("r")) return yield* Effect.fail(notFound("open", path))
        current = { chunks: [], size: 0 }
        files.set(path, current)
      }
      const data = current
      let position = flag.startsWith("a") ? data.size : 0
      const write = (buffer: Uint8Array) =>
        Effect.sync(() => {
          if (position !== data.size) {
            // Overwrite in place (rare: writes here append).
            const all = concat(data)
            const next = new Uint8Array(Math.max(all.length, position + buffer.length))
            next.set(all, 0)
            next.set(buffer, position)
            data.chunks = [next]
            data.size = next.length
          } else {
            data.chunks.push(buffer.slice())
            data.size += buffer.length
          }
          position += buffer.length
          return buffer.length
        })
      /** Reads up to `size` bytes at `at` (the position when not given, which then moves). */
      const readAt = (size: number, at: bigint | undefined) => {
        const all = concat(data)
        const from = at === undefined ? position : Number(at)
        const out = all.subarray(from, from + Math.max(0, Math.min(size, all.length - from)))
        if (at === undefined) position += out.length
        return out
      }
      const file: FileSystem.File = {
        [FileSystem.FileTypeId]: FileSystem.FileTypeId,
        stat: Effect.die("MemoryFileSystem: stat is not supported"),
        seek: (offset, from) =>
          Effect.sync(() => {
            position = (from === "start" ? 0 : position) + Number(offset)
            return BigInt(position)
          }),
        sync: Effect.void,
        read: (buffer, readOptions) =>
          Effect.sync(() => {
            const out = readAt(buffer.length, readOptions?.position)
            buffer.set(out)
            return out.length
          }),
        readAlloc: (size, readOptions) =>
          Effect.sync(() => {
            const out = readAt(size, readOptions?.position)
            return out.length === 0 ? Option.none() : Option.some(out.slice())
          }),
        truncate: (length) =>
          Effect.sync(() => {
            const all = concat(data).slice(0, length ?? 0)
            data.chunks = [all]
            data.size = all.length
          }),
        write,
        writeAll: (buffer) => Effect.asVoid(write(buffer))
      }
      return file
    })

  const fileSystem = FileSystem.make({
    ...FileSystem.makeNoop({}),
    access: (path) => files.has(path) || directories.has(path) ? Effect.void : Effect.fail(notFound("access", path)),
    makeDirectory: (path) => Effect.sync(() => void directories.add(path)),
    makeTempDirectory: makeTemp,
    makeTempDirectoryScoped: (options) => Effect.acquireRelease(makeTemp(options), removeTree),
    open,
    readFile: (path) => Effect.map(entry("readFile", path), (found) => concat(found).slice()),
    writeFile: (path, data, options) =>
      Effect.sync(() => {
        const existing = files.get(path)
        if (options?.flag?.startsWith("a") === true && existing !== undefined) {
          existing.chunks.push(data.slice())
          existing.size += data.length
        } else files.set(path, { chunks: [data.slice()], size: data.length })
      }),
    rename: (from, to) =>
      Effect.flatMap(entry("rename", from), (found) =>
        Effect.sync(() => {
          files.delete(from)
          files.set(to, found)
        })),
    remove: (path) => removeTree(path),
    readDirectory: (path) => Effect.sync(() => children(path)),
    readDirectoryEntries: (path) =>
      Effect.sync(() =>
        children(path).map((name): FileSystem.DirectoryEntry => ({
          name,
          type: files.has(`${path}/${name}`) ? "File" : "Directory"
        }))
      )
  })
  const contents = (): Contents => ({
    files: new Map([...files].map(([path, found]) => [path, concat(found)])),
    directories: new Set(directories)
  })
  return { fileSystem, contents }
}

/**
 * A memory `FileSystem` and a POSIX `Path`, fresh for each use of the layer.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer: Layer.Layer<FileSystem.FileSystem | Path.Path> = Layer.merge(
  Layer.sync(FileSystem.FileSystem, () => make().fileSystem),
  Path.layer
)
