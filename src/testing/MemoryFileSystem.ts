/**
 * An in-memory `FileSystem` (and a POSIX `Path`), for testing jobs under `TestClock`: every operation completes
 * synchronously, so `TestClock.adjust` never runs ahead of a file the job is still writing, and nothing touches the
 * disk. It holds what a job and its sinks use: directories, temporary directories, files written whole or appended,
 * read whole or streamed, renamed, removed, checked for existence.
 *
 * @since 0.2.0
 */
import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * The files and directories of a memory file system, for assertions.
 *
 * @since 0.2.0
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
  new PlatformError.SystemError({
    module: "FileSystem",
    method,
    reason: "NotFound",
    pathOrDescriptor: path,
    description: "no such file"
  })

/**
 * Builds a memory file system and a way to read its contents.
 *
 * @since 0.2.0
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
  const makeTemp = (options?: FileSystem.MakeTempDirectoryOptions) =>
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

  const open = (path: string, options?: FileSystem.OpenFileOptions) =>
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
          return FileSystem.Size(buffer.length)
        })
      const file: FileSystem.File = {
        [FileSystem.FileTypeId]: FileSystem.FileTypeId,
        fd: FileSystem.FileDescriptor(0),
        stat: Effect.die("MemoryFileSystem: stat is not supported"),
        seek: (offset, from) =>
          Effect.sync(() => {
            position = (from === "start" ? 0 : position) + Number(offset)
          }),
        sync: Effect.void,
        read: (buffer) =>
          Effect.sync(() => {
            const all = concat(data)
            const n = Math.min(buffer.length, Math.max(0, all.length - position))
            buffer.set(all.subarray(position, position + n))
            position += n
            return FileSystem.Size(n)
          }),
        readAlloc: (size) =>
          Effect.sync(() => {
            const all = concat(data)
            if (position >= all.length) return Option.none()
            const n = Math.min(Number(size), all.length - position)
            const out = all.slice(position, position + n)
            position += n
            return Option.some(out)
          }),
        truncate: (length) =>
          Effect.sync(() => {
            const all = concat(data).slice(0, Number(length ?? 0))
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
    readDirectory: (path) =>
      Effect.sync(() =>
        [...files.keys(), ...directories].filter((p) => p.startsWith(`${path}/`)).map((p) => p.slice(path.length + 1))
          .filter((p) => !p.includes("/"))
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
 * @since 0.2.0
 * @category Layers
 */
export const layer: Layer.Layer<FileSystem.FileSystem | Path.Path> = Layer.merge(
  Layer.sync(FileSystem.FileSystem, () => make().fileSystem),
  Path.layer
)
