/**
 * A throwaway PostgreSQL 15 for a test: a new data directory in a temporary directory, a server on 127.0.0.1 and a
 * free port (its socket in the same directory), stopped and removed when the scope closes, whatever happened.
 *
 * PostgreSQL refuses to run as root, and tests often run as root: then the server runs as an unprivileged user
 * (`nobody`, through `runuser`) that owns the temporary directory. Missing binaries fail the test with a message
 * saying how to install them: a cluster test that skips itself silently proves nothing.
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const bin = process.env["PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
const user = "nobody"

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
}

/** Starts a server; it is stopped and its directory removed when the scope closes. */
export const start: Effect.Effect<Postgres, Error, Scope.Scope> = Effect.gen(function*() {
  for (const tool of ["initdb", "pg_ctl"]) {
    if (!fs.existsSync(path.join(bin, tool))) {
      return yield* Effect.fail(
        new Error(
          `PostgreSQL 15 is needed for this test and ${
            path.join(bin, tool)
          } is missing: apt-get install -y postgresql (or set PG_BIN to its bin directory)`
        )
      )
    }
  }
  const asRoot = process.getuid?.() === 0
  const run = (tool: string, args: ReadonlyArray<string>) =>
    Effect.try({
      try: () =>
        execFileSync(
          asRoot ? "runuser" : path.join(bin, tool),
          asRoot ? ["-u", user, "--", path.join(bin, tool), ...args] : [...args],
          {
            stdio: "pipe"
          }
        ),
      catch: (cause) => new Error(`${tool} ${args.join(" ")} failed: ${String(cause)}`)
    })
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
  yield* run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
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
  yield* Effect.acquireRelease(
    run("pg_ctl", ["start", "-D", data, "-l", path.join(base, "log"), "-w", "-t", "30", "-o", options]),
    () => Effect.ignore(run("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]))
  )
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port }
})
