/**
 * A child process for the durable tests: one of this package's child scripts, bundled (support/bundle.ts), run by
 * plain `node` (`process.execPath`, the Node the tests run on; one pid, so a SIGKILL is exact), with its stdout read
 * line by line. It is killed (SIGKILL) when the scope closes, if still running.
 *
 * The waits wait for progress, not for a deadline: a line the child prints, or its exit (the test's own timeout is
 * the hang guard).
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { bundled } from "./bundle.js"

export interface Child {
  readonly pid: number
  /** The lines printed so far. */
  readonly lines: ReadonlyArray<string>
  /** Waits until the child prints `line`. */
  readonly printed: (line: string) => Effect.Effect<void, Error>
  /** Waits until the child prints a line that `match`es, and answers it. */
  readonly printedWhere: (match: (line: string) => boolean) => Effect.Effect<string, Error>
  /** Waits until the child exits: its code, or the signal that ended it. */
  readonly exited: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly kill: () => void
  /** What it wrote on stderr, for failure messages. */
  readonly stderr: () => string
}

/**
 * Runs `script` (the URL of a child's `.ts` file, one of those support/bundle.ts bundles) with `args`, and `env`
 * added to this process's environment.
 */
export const run = (
  script: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {}
): Effect.Effect<Child, never, Scope.Scope> => Effect.flatMap(bundled(script), (file) => runFile(file, args, env))

/** Runs the bundled JavaScript `file` with plain `node`. */
const runFile = (
  file: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>
): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", file, ...args],
        { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } }
      )
      const lines: Array<string> = []
      const waiting: Array<{ readonly match: (line: string) => boolean; readonly resolve: (line: string) => void }> = []
      let pending = ""
      let errors = ""
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        pending += text
        const parts = pending.split("\n")
        pending = parts.pop() ?? ""
        for (const line of parts) {
          lines.push(line)
          if (process.env["VERBOSE"]) {
            // The children's own output, shown on request (VERBOSE=1) when a crash test needs a closer look.
            // eslint-disable-next-line no-console
            console.log(`${(performance.now() / 1000).toFixed(1)} [${child.pid}] ${line}`)
          }
          for (const w of waiting.filter((w) => w.match(line))) w.resolve(line)
        }
      })
      child.stderr.setEncoding("utf8").on("data", (text: string) => {
        errors += text
      })
      const exit = new Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>(
        (resolve) => child.on("close", (code, signal) => resolve({ code, signal }))
      )
      const printedWhere = (match: (line: string) => boolean, what = "such a line") =>
        Effect.tryPromise({
          try: () => {
            const found = lines.find(match)
            return found !== undefined ? Promise.resolve(found) : Promise.race([
              new Promise<string>((resolve) => waiting.push({ match, resolve })),
              exit.then(({ code, signal }) => {
                // Lines are read before the exit is seen; one printed last may still be in `pending`.
                const last = lines.find(match) ?? (match(pending) ? pending : undefined)
                if (last !== undefined) return last
                throw new Error(`exited (${signal ?? code}) without printing ${what}: ${lines.join(" | ")}\n${errors}`)
              })
            ])
          },
          catch: (cause) => cause instanceof Error ? cause : new Error(String(cause))
        })
      const printed = (line: string) => Effect.asVoid(printedWhere((l) => l === line, `"${line}"`))
      return {
        pid: child.pid ?? -1,
        lines,
        printed,
        printedWhere,
        exited: Effect.promise(() => exit),
        kill: () => child.kill("SIGKILL"),
        stderr: () => errors
      } satisfies Child
    }),
    (child) => Effect.sync(() => child.kill())
  )
