/**
 * Child processes for the crash tests: `jobChild.ts` bundled with esbuild into one CommonJS file run by plain `node`
 * (one pid, so a SIGKILL is exact).
 *
 * Why a bundle and not `node --import tsx`: measured on this 2-core machine under load 7-8, a durable child took
 * 5.0 s from spawn to its engine being up under tsx (its loader hooks resolve and transform some 600 modules one
 * by one) and 0.9 s bundled; a build costs about 2 s, and is kept until one of its inputs changes. With 20
 * children per run that is the difference between a minute and a quarter of one. The native driver (`better-sqlite3`) stays outside the bundle and is
 * found through `NODE_PATH`.
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import * as esbuild from "esbuild"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { whileProgressing } from "../../support/patience.js"
import type { ChildConfig } from "./jobChild.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))

let bundled: Promise<string> | undefined

/**
 * Where the bundle is kept between test files and runs, with the inputs it was built from: one place per checkout
 * (two checkouts on one machine, or two worktrees, each test their own code).
 */
const cacheDir = path.join(os.tmpdir(), `eob-job-child-${createHash("sha256").update(root).digest("hex").slice(0, 12)}`)
const cached = path.join(cacheDir, "jobChild.cjs")
const inputsFile = path.join(cacheDir, "inputs.json")

type Inputs = ReadonlyArray<readonly [file: string, mtimeMs: number, size: number]>

const statOf = (file: string): readonly [string, number, number] | undefined => {
  try {
    const stat = fs.statSync(file)
    return [file, stat.mtimeMs, stat.size]
  } catch {
    return undefined
  }
}

/** Whether the kept bundle was built from the files as they are now (every input unchanged). */
const fresh = (): boolean => {
  try {
    const inputs: Inputs = JSON.parse(fs.readFileSync(inputsFile, "utf8"))
    return fs.existsSync(cached) && inputs.every(([file, mtimeMs, size]) => {
      const now = statOf(file)
      return now !== undefined && now[1] === mtimeMs && now[2] === size
    })
  } catch {
    return false
  }
}

/**
 * The child script as one file: built when a file it is made of changed since the kept one, else reused (a build
 * costs about 2 s of CPU; both crash test files use it). Written under temporary names and renamed, the bundle
 * first: a reader that sees the new list of inputs sees the new bundle.
 */
export const bundle = Effect.promise(() => {
  bundled ??= (async () => {
    if (fresh()) return cached
    fs.mkdirSync(cacheDir, { recursive: true })
    const temp = `${cached}.${process.pid}.tmp`
    const result = await esbuild.build({
      entryPoints: [path.join(root, "test/durable/support/jobChild.ts")],
      absWorkingDir: root,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      outfile: temp,
      external: ["better-sqlite3", "pg-native"],
      metafile: true,
      logLevel: "error"
    })
    const inputs: Inputs = Object.keys(result.metafile.inputs).flatMap((file) => {
      const now = statOf(path.resolve(root, file))
      return now === undefined ? [] : [now]
    })
    fs.renameSync(temp, cached)
    fs.writeFileSync(`${inputsFile}.${process.pid}.tmp`, JSON.stringify(inputs))
    fs.renameSync(`${inputsFile}.${process.pid}.tmp`, inputsFile)
    return cached
  })()
  return bundled
})

/** A running child: its output lines so far, and how it ended. */
export interface Child {
  readonly pid: number
  readonly lines: Array<string>
  readonly exit: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Whether it has ended. */
  readonly exited: () => boolean
}

/** Spawns a child (with `env` added to this process's environment); it is SIGKILLed when the scope closes if it still runs. */
export const spawnChild = (
  config: ChildConfig,
  env: Record<string, string> = {}
): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.flatMap(bundle, (script) =>
    Effect.acquireRelease(
      Effect.sync((): Child => {
        const proc = spawn(process.execPath, [script, JSON.stringify(config)], {
          cwd: root,
          env: { ...process.env, ...env, NODE_PATH: path.join(root, "node_modules") },
          stdio: ["ignore", "pipe", "pipe"]
        })
        const lines: Array<string> = []
        let pending = ""
        const onData = (chunk: Buffer) => {
          const text = pending + chunk.toString()
          const parts = text.split("\n")
          pending = parts.pop() ?? ""
          for (const line of parts) if (line.trim() !== "") lines.push(line)
          if (process.env["VERBOSE"]) {
            // The children's own output, shown on request (VERBOSE=1) when a crash test needs a closer look.
            // eslint-disable-next-line no-console
            for (const line of parts) console.log(`[${proc.pid}] ${line}`)
          }
        }
        proc.stdout.on("data", onData)
        proc.stderr.on("data", onData)
        let exited = false
        const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          proc.on("close", (code, signal) => {
            exited = true
            resolve({ code, signal })
          })
        )
        return { pid: proc.pid ?? -1, lines, exit, exited: () => exited }
      }),
      (child) =>
        Effect.promise(async () => {
          try {
            process.kill(child.pid, 0)
          } catch {
            return // already gone
          }
          process.kill(child.pid, "SIGKILL")
          await child.exit
        })
    ))

/**
 * A line of jobChild.ts's own output (`UP`, `EVENT ...`, `KILL ...`, `SUMMARY ...`, `FAILED ...`): the job moving.
 * The engine's log lines are not: a runner can log its storage's time-outs for ever without moving the job.
 */
const isStep = (line: string) => /^(UP$|EVENT |KILL |SUMMARY |FAILED )/.test(line)

/**
 * The children's steps as a sign of life: a wait on them fails once none of them printed a step (`isStep`) for
 * `idleMillis` (stretched by the machine's load, see test/support/patience.ts), however long the whole takes.
 */
export const watching = <A, E, R>(
  children: ReadonlyArray<Child>,
  idleMillis: number,
  waitingFor: string,
  effect: Effect.Effect<A, E, R>
) =>
  whileProgressing(effect, {
    progress: () => children.reduce((sum, child) => sum + child.lines.filter(isStep).length, 0),
    idleMillis,
    what: (limit) =>
      `${waitingFor}: no step for ${limit} ms from ${children.map((child) => child.pid).join(", ")}; their output:\n${
        children.map((child) => `[${child.pid}]\n${child.lines.join("\n")}`).join("\n")
      }`
  })

/** Waits for a child to end, as long as it prints a step at least every `idleMillis`; its lines come with the result. */
export const ended = (child: Child, idleMillis: number) =>
  watching([child], idleMillis, `child ${child.pid} still running`, Effect.promise(() => child.exit)).pipe(
    Effect.map((exit) => ({ ...exit, lines: child.lines }))
  )

/** Runs a child to its end (see `ended`). */
export const runChild = (config: ChildConfig, idleMillis: number, env: Record<string, string> = {}) =>
  Effect.scoped(Effect.flatMap(spawnChild(config, env), (child) => ended(child, idleMillis)))

/** Waits until a line matching `match` shows up in a child's output (see `watching` for `idleMillis`). */
export const awaitLine = (child: Child, match: (line: string) => boolean, idleMillis: number) =>
  watching(
    [child],
    idleMillis,
    `no such line from child ${child.pid}`,
    Effect.gen(function*() {
      for (;;) {
        const found = child.lines.find(match)
        if (found !== undefined) return found
        if (child.exited()) {
          return yield* Effect.fail(
            new Error(`no such line from child ${child.pid} before it ended; its output:\n${child.lines.join("\n")}`)
          )
        }
        yield* Effect.sleep("20 millis")
      }
    })
  )

/** The summary a child printed (`SUMMARY <json>`). */
export const summaryOf = (lines: ReadonlyArray<string>): unknown => {
  const line = lines.find((l) => l.startsWith("SUMMARY "))
  return line === undefined ? undefined : JSON.parse(line.slice("SUMMARY ".length))
}
