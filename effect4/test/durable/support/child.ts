/**
 * A child process for the durable tests: one of this package's TypeScript scripts run by the Node the tests run on
 * (`process.execPath`, Node >= 22.19, which strips the types itself; `typescript.mjs` maps the sources' `.js`
 * specifiers), with its stdout read line by line. It is killed (SIGKILL) when the scope closes, if still running.
 *
 * The waits wait for progress, not for a deadline: a line the child prints, or its exit (the test's own timeout is
 * the hang guard).
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const hooks = fileURLToPath(new URL("./typescript.mjs", import.meta.url))

export interface Child {
  readonly pid: number
  /** The lines printed so far. */
  readonly lines: ReadonlyArray<string>
  /** Waits until the child prints `line`. */
  readonly printed: (line: string) => Effect.Effect<void, Error>
  /** Waits until the child exits: its code, or the signal that ended it. */
  readonly exited: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly kill: () => void
  /** What it wrote on stderr, for failure messages. */
  readonly stderr: () => string
}

export const run = (script: string, args: ReadonlyArray<string>): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", "--import", hooks, fileURLToPath(script), ...args],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      const lines: Array<string> = []
      const waiting: Array<{ readonly line: string; readonly resolve: () => void }> = []
      let pending = ""
      let errors = ""
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        pending += text
        const parts = pending.split("\n")
        pending = parts.pop() ?? ""
        for (const line of parts) {
          lines.push(line)
          for (const w of waiting.filter((w) => w.line === line)) w.resolve()
        }
      })
      child.stderr.setEncoding("utf8").on("data", (text: string) => {
        errors += text
      })
      const exit = new Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>(
        (resolve) => child.on("exit", (code, signal) => resolve({ code, signal }))
      )
      const printed = (line: string) =>
        Effect.tryPromise({
          try: () =>
            lines.includes(line) ? Promise.resolve() : Promise.race([
              new Promise<void>((resolve) => waiting.push({ line, resolve })),
              exit.then(({ code, signal }) => {
                // Lines are read before the exit is seen; one printed last may still be in `pending`.
                if (lines.includes(line) || pending === line) return
                throw new Error(
                  `exited (${signal ?? code}) without printing "${line}": ${lines.join(" | ")}\n${errors}`
                )
              })
            ]),
          catch: (cause) => cause instanceof Error ? cause : new Error(String(cause))
        })
      return {
        pid: child.pid ?? -1,
        lines,
        printed,
        exited: Effect.promise(() => exit),
        kill: () => child.kill("SIGKILL"),
        stderr: () => errors
      } satisfies Child
    }),
    (child) => Effect.sync(() => child.kill())
  )
