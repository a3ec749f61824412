/**
 * The Effect 4 edition's demo and the examples that differ most from the root's, run as processes on the embedded
 * simulator: each must exit 0 and print what it promises (the root's test/integration/examples.test.ts, leaner). They
 * are bundled once with esbuild (the package mapped to src/, its dependencies bundled in but for the optional
 * drivers) and run with the Node these tests run on (>= 22.19), which starts in a fraction of tsx's time: the same
 * code, without the loader.
 *
 * Which ones: the demo (create, retrieve, list, cancel, a wait, results, a job of many batches), durable-job (the
 * SQLite engine), structured-output (Effect 4's JSON Schema and `Result`) and wait-for-batch (Effect 4's
 * `Schedule` over the snapshot). quickstart, cancel-and-wait, run-batch and costs are the root's programs unchanged
 * on this edition's support/run.ts; they are type-checked with the edition, and what they do the demo does too.
 *
 * A run waits for its process to end, however long the machine takes (a child that hangs is caught by the test's
 * timeout, `cap`).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const effect4 = fileURLToPath(new URL("..", import.meta.url))
const cap = 300_000
const bundled = mkdtempSync(join(tmpdir(), "effect-openai-batch-effect4-examples-"))
const names = ["demo", "durable-job", "structured-output", "wait-for-batch"] as const

/** `effect-openai-batch[/sub]` as the examples import it, mapped to its source (as tsconfig's paths do). */
const packageSource = (specifier: string): string => {
  const sub = specifier.slice("effect-openai-batch".length)
  if (sub === "") return join(effect4, "src/index.ts")
  if (sub === "/testing" || sub === "/durable" || sub === "/tokenizer") {
    return join(effect4, "src", sub.slice(1), "index.ts")
  }
  return join(effect4, "src", `${sub.slice(1)}.ts`)
}

beforeAll(async () => {
  // The root's esbuild: effect4/ takes its tools from the root's node_modules.
  const esbuild = await import("esbuild")
  await esbuild.build({
    entryPoints: names.map((name) => join(effect4, "examples", `${name}.ts`)),
    outdir: bundled,
    bundle: true,
    // One file per example with its packages in it (effect, @effect/*, undici): a process then loads one module
    // instead of effect's hundreds one by one (test/durable/support/bundle.ts measured it). The optional drivers
    // stay outside, found in node_modules.
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22",
    external: ["pg", "pg-native", "gpt-tokenizer"],
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
  symlinkSync(join(effect4, "node_modules"), join(bundled, "node_modules"), "dir")
}, cap)

afterAll(() => {
  // The symlink first: the edition's node_modules must never be walked by the recursive delete.
  unlinkSync(join(bundled, "node_modules"))
  rmSync(bundled, { recursive: true, force: true })
})

const runExample = (name: string) =>
  Effect.callback<{ readonly code: number; readonly out: string }>((resume) => {
    let out = ""
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", join(bundled, `${name}.js`)], {
      cwd: effect4,
      env: { ...process.env, OPENAI_API_KEY: "" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const collect = (chunk: Buffer) => {
      out += chunk.toString("utf8")
    }
    child.stdout.on("data", collect)
    child.stderr.on("data", collect)
    child.on("close", (code, signal) =>
      resume(Effect.succeed({ code: code ?? 1, out: signal === null ? out : `${out}\n(ended by ${signal})` })))
    return Effect.sync(() =>
      child.kill()
    )
  })

const cases: ReadonlyArray<readonly [(typeof names)[number], ReadonlyArray<string | RegExp>]> = [
  ["demo", [
    "1. upload the requests",
    "8 lines",
    /await .*8\/8 completed/,
    /cancelled; \d+ partial results kept in file-/,
    "8 results, 0 missing",
    "7. summary",
    /batch_\S+ +background +completed +8\/8/,
    /3,000\/3,000 requests \(.*done\)/,
    "9 parts, 9 batches: 3000/3000 succeeded, 0 missing"
  ]],
  ["durable-job", [
    "part 7 done: completed",
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
  ["wait-for-batch", [
    "(all requests done; the output file is being written)",
    "3. a pace that reads the snapshot",
    "-> completed: results in file-"
  ]]
]

describe.concurrent("the Effect 4 edition's examples run on the embedded simulator", () => {
  for (const [name, expected] of cases) {
    it.live(name, () =>
      Effect.gen(function*() {
        const { code, out } = yield* runExample(name)
        assert.strictEqual(code, 0, out)
        for (const pattern of expected) {
          if (typeof pattern === "string") assert.include(out, pattern)
          else assert.match(out, pattern)
        }
      }), cap)
  }
})
