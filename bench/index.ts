/**
 * `npm run bench [-- <suite>...] [--rounds=N] [--quick] [--profile]`
 *
 * Compiles the clients (bench/compiled.ts), starts the loopback server in a child process, then runs the selected
 * suites (default: all, in registry order). Each measured client runs in its own child process, from the compiled
 * JavaScript; see bench/RESULTS.md for the figures and how to read them.
 *
 * The Effect 4 edition (effect4/) runs beside the Effect 3 edition in `retrieve` and `stream`: its contenders
 * (bench/edition4.ts) run on the Node that edition needs (effect4/node22 when this Node is older than 22.19), with the
 * SDK and raw undici measured on that Node too, so that each edition's ratios compare clients on one Node.
 *
 * - `--rounds=N`: override each suite's round count;
 * - `--quick`: small sizes and few rounds, to check that everything works;
 * - `--profile`: write a .cpuprofile per client child into bench/profiles/ (summarize with
 *   `npx tsx bench/profile.ts bench/profiles/<file>.cpuprofile`).
 *
 * To add a suite, implement `Suite` (bench/suite.ts) and register it below.
 */
import { cpus, loadavg } from "node:os"
import { num, spawnWorker } from "./child.js"
import { compile, removeCompiled, workerOf } from "./compiled.js"
import * as job from "./job.js"
import * as results from "./results.js"
import * as retrieve from "./retrieve.js"
import * as stream from "./stream.js"
import type { Effect4Node, Suite, SuiteOptions } from "./suite.js"

const registry: ReadonlyArray<Suite> = [retrieve.suite, stream.suite, results.suite, job.suite]

const usage = () =>
  [
    "usage: npm run bench [-- <suite>...] [--rounds=N] [--quick] [--profile]",
    "suites:",
    ...registry.map((s) => `  ${s.name.padEnd(10)} ${s.description}`)
  ].join("\n")

const parseArgs = (argv: ReadonlyArray<string>): { readonly suites: Array<Suite>; readonly options: SuiteOptions } => {
  let rounds: number | undefined
  let profile = false
  let quick = false
  const names: Array<string> = []
  for (const arg of argv) {
    if (arg === "--profile") profile = true
    else if (arg === "--quick") quick = true
    else if (arg.startsWith("--rounds=")) {
      rounds = Number(arg.slice("--rounds=".length))
      if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer\n${usage()}`)
    } else if (arg === "--help" || arg === "-h") {
      console.log(usage())
      process.exit(0)
    } else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}\n${usage()}`)
    else names.push(arg)
  }
  const suites = names.length === 0 ? [...registry] : names.map((name) => {
    const found = registry.find((s) => s.name === name)
    if (found === undefined) throw new Error(`unknown suite ${name}\n${usage()}`)
    return found
  })
  return { suites, options: { rounds, profile, quick } }
}

/**
 * The Node the Effect 4 edition runs on, found as its tests find it (effect4/scripts/node.mjs, plain JavaScript: it
 * is loaded by a computed specifier and its answer checked here).
 */
const findEffect4Node = async (): Promise<Effect4Node | undefined> => {
  const script = new URL("../effect4/scripts/node.mjs", import.meta.url).href
  const module: unknown = await import(script)
  const find = typeof module === "object" && module !== null && "findNode" in module ? module.findNode : undefined
  const found: unknown = typeof find === "function" ? find() : undefined
  if (typeof found !== "object" || found === null || !("path" in found) || !("version" in found)) return undefined
  const { path, version } = found
  return typeof path === "string" && typeof version === "string" ? { path, version } : undefined
}

const main = async () => {
  const { options, suites } = parseArgs(process.argv.slice(2))
  const log = (line = "") => console.log(line)
  log(`effect-openai-batch benchmark, ${new Date().toISOString()}`)
  log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${process.platform}`)
  log(`load average ${loadavg().map((n) => n.toFixed(2)).join(", ")} (1, 5, 15 min) at the start`)
  const effect4Node = await findEffect4Node()
  log(
    effect4Node === undefined
      ? "the Effect 4 edition: no Node >= 22.19 here (effect4/node22 not installed): its contenders are left out"
      : `the Effect 4 edition's contenders (effect4-*, undici8-raw, *-node22) on node v${effect4Node.version} (${effect4Node.path})`
  )
  log(
    `suites: ${suites.map((s) => s.name).join(", ")}${options.quick ? " (quick)" : ""}${
      options.profile ? " (profiling)" : ""
    }`
  )
  const t0 = performance.now()
  const compiled = await compile()
  log(`clients compiled with esbuild into ${compiled} in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const server = spawnWorker("server", [])
  try {
    const port = num(await server.next("listening"), "port")
    const origin = `http://127.0.0.1:${port}`
    log(`server: ${origin} (own process)`)
    const serverCpuUs = async () => {
      server.send({ type: "cpu" })
      const usage = await server.next("cpu")
      return num(usage, "userUs") + num(usage, "systemUs")
    }
    const started = performance.now()
    for (const suite of suites) {
      log()
      log(`== ${suite.name}: ${suite.description}`)
      const t0 = performance.now()
      await suite.run({ origin, serverCpuUs, options, compiledWorker: workerOf(compiled), log, effect4Node })
      log(`(${suite.name} took ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
    }
    log()
    log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`)
    log(`load average ${loadavg().map((n) => n.toFixed(2)).join(", ")} (1, 5, 15 min) at the end`)
  } finally {
    server.send({ type: "exit" })
    await server.exited
    removeCompiled(compiled)
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
