/**
 * The demo and every runnable example, run as processes on the embedded simulator: each must exit 0 and print what
 * it promises. They are bundled once with esbuild (the package mapped to src/, its dependencies bundled in but for
 * the native and optional drivers) and run with plain `node`, which starts in a fraction of tsx's time: the same code
 * `npm run demo` runs under tsx, without the loader's cost on every run (the demo: 4 s of CPU under tsx, about 1
 * bundled). That `npm run demo` is the demo under tsx, then the Effect 4 edition's, is checked below.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { whileProgressing } from "../support/patience.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

/**
 * An example fails when it printed nothing for 30 s (stretched by the machine's load, test/support/patience.ts);
 * each prints as it goes. `cap` only bounds a run that keeps printing and never ends, and the build before them: a
 * few seconds each on a quiet machine, half a minute at load 16 on 2 cores.
 */
const idleMillis = 30_000
const cap = 300_000
const bundled = mkdtempSync(join(tmpdir(), "effect-openai-batch-examples-"))

/** `effect-openai-batch[/sub]` as the examples import it, mapped to its source (as tsconfig's paths do). */
const packageSource = (specifier: string): string => {
  const sub = specifier.slice("effect-openai-batch".length)
  if (sub === "") return join(root, "src/index.ts")
  if (sub === "/testing" || sub === "/durable") return join(root, "src", sub.slice(1), "index.ts")
  return join(root, "src", `${sub.slice(1)}.ts`)
}

beforeAll(async () => {
  const esbuild = await import("esbuild")
  await esbuild.build({
    entryPoints: [
      "demo",
      "quickstart",
      "wait-for-batch",
      "cancel-and-wait",
      "stream-all-batches",
      "run-batch",
      "large-job",
      "durable-job",
      "structured-output",
      "costs",
      "durable-cluster",
      "webhooks",
      "upload-large"
    ].map((name) => join(root, "examples", `${name}.ts`)),
    outdir: bundled,
    bundle: true,
    // One file per example with its packages in it (effect, @effect/*, undici): a process then loads one module
    // instead of effect's hundreds one by one, about a third of each example's CPU (measured on the Effect 4
    // edition's children). The native and optional drivers stay outside, found in node_modules.
    splitting: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    external: ["better-sqlite3", "pg", "pg-native", "@effect/sql-pg", "gpt-tokenizer"],
    banner: {
      js: "import { createRequire as __bundleCreateRequire } from \"node:module\";\n" +
        "const require = __bundleCreateRequire(import.meta.url);"
    },
    logLevel: "warning",
    plugins: [{
      name: "effect-openai-batch-source",
      setup: (build) => {
        build.onResolve({ filter: /^effect-openai-batch(\/.*)?$/ }, (args) => ({ path: packageSource(args.path) }))
      }
    }]
  })
  writeFileSync(join(bundled, "package.json"), JSON.stringify({ type: "module" }))
  symlinkSync(join(root, "node_modules"), join(bundled, "node_modules"), "dir")
}, cap)

afterAll(() => {
  // The symlink first: the repository's node_modules must never be walked by the recursive delete.
  unlinkSync(join(bundled, "node_modules"))
  rmSync(bundled, { recursive: true, force: true })
})

const runExample = (name: string) => {
  let out = ""
  const run = Effect.async<{ code: number; out: string }>((resume) => {
    const child = spawn(process.execPath, [join(bundled, `${name}.js`)], {
      cwd: root,
      env: { ...process.env, OPENAI_API_KEY: "", DATABASE_URL: "" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const collect = (chunk: Buffer) => {
      out += chunk.toString("utf8")
    }
    child.stdout.on("data", collect)
    child.stderr.on("data", collect)
    child.on(
      "close",
      (code, signal) =>
        resume(Effect.succeed({ code: code ?? 1, out: signal === null ? out : `${out}\n(ended by ${signal})` }))
    )
    return Effect.sync(() => child.kill())
  })
  return whileProgressing(run, {
    progress: () => out.length,
    idleMillis,
    what: (limit) => `${name} printed nothing for ${limit} ms; its output:\n${out}`
  })
}

const cases: ReadonlyArray<readonly [string, ReadonlyArray<string | RegExp>]> = [
  ["demo", [
    "1. upload the requests",
    "8 lines",
    /await .*8\/8 completed/,
    /cancelled; \d+ partial results kept in file-/,
    "8 results, 0 missing",
    "7. summary",
    /3,000\/3,000 requests \(.*done\)/,
    "9 parts, 9 batches: 3000/3000 succeeded, 0 missing"
  ]],
  ["quickstart", [/created batch_\S+ \(validating\)/, /ended completed; output file: file-/]],
  ["wait-for-batch", ["finalizing", "-> completed: results in file-"]],
  ["cancel-and-wait", [/is cancelled/, "partial results (already billed): file-", "again: cancelled"]],
  ["stream-all-batches", ["newest: ", /completed\s+1000/, /failed\s+200/, /in_progress\s+34/]],
  ["run-batch", [/ended completed: 5 results, 0 missing/, /ok {4}sentence-4: \d+-dim embedding/]],
  ["large-job", [
    /after the crash, the API knows \d+ parts of the job/,
    /done: 12000\/12000 succeeded, 0 missing, 13 batches \([1-9]\d* found from process A/,
    "the simulator holds 13 batches: one per part, none twice",
    "13 results files, one per batch"
  ]],
  ["durable-job", [
    "done: 6000/6000 succeeded in 7 batches",
    /asked again: the stored summary \(6000 succeeded\) in \d+ ms, no step run twice/,
    "7 results files"
  ]],
  ["structured-output", [
    /ok {3}capital-france: Paris \(68,400,000 people\)/,
    "fail SchemaMismatch: capital-peru: the answer does not match the schema: population must be a number",
    "fail NoAnswer: capital-atlantis: the model refused",
    "2 answers (70 tokens), 2 lines without one"
  ]],
  ["costs", [
    /part +1 \(gpt-4o-mini\): \d+ tokens, \$0\.\d+/,
    /part +3 \(gpt-4\.1-nano\): \d+ tokens, no price/,
    /job: \$0\.\d+ for the priced models/,
    /no price for gpt-4\.1-nano: \d+ input, \d+ output tokens/
  ]],
  ["webhooks", ["event batch.completed received", "the wait ended: completed", "long before the next poll"]],
  ["upload-large", [/uploaded file-\S+: 14704490 bytes in 2 parts, 1 reset and sent again alone/, /created batch_\S+/]]
]

/** Examples that cannot run here and must say so with a non-zero exit (the cluster needs a shared PostgreSQL). */
const refusals: ReadonlyArray<readonly [string, number, string]> = [
  ["durable-cluster", 2, "Set DATABASE_URL to a PostgreSQL the runners can share"]
]

describe.concurrent("examples run on the embedded simulator", () => {
  it("npm run demo is the demo under tsx (the command the README gives), then the Effect 4 edition's demo", () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      readonly scripts: Record<string, string>
    }
    assert.strictEqual(manifest.scripts["demo"], "tsx examples/demo.ts && node effect4/scripts/demo.mjs --if-node")
    assert.isTrue(existsSync(join(root, "node_modules", ".bin", "tsx")), "tsx is installed")
  })

  for (const [name, expected] of cases) {
    it.live(name, () =>
      Effect.gen(function*() {
        const { code, out } = yield* runExample(name)
        assert.strictEqual(code, 0, out)
        for (const pattern of expected) {
          // The whole output on a failure: what the example printed says why.
          if (typeof pattern === "string") assert.include(out, pattern, `${name} printed:\n${out}`)
          else assert.match(out, pattern, `${name} printed:\n${out}`)
        }
      }), cap)
  }
  for (const [name, exitCode, says] of refusals) {
    it.live(`${name} without what it needs exits ${exitCode} and says why`, () =>
      Effect.gen(function*() {
        const { code, out } = yield* runExample(name)
        assert.strictEqual(code, exitCode, out)
        assert.include(out, says)
      }), cap)
  }
})
