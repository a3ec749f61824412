/**
 * The benchmark's client processes run from JavaScript compiled at the start of `npm run bench`, not under tsx:
 * - tsx and its loader alone cost ~180 MB of RSS (the results suite measures RSS against a goal below that);
 * - tsx compiles with esbuild's `keepNames`, which wraps every function the library creates per call in a
 *   `__name(fn, "name")` call: a cost users running dist/ never pay (the SDK and undici, from node_modules, never
 *   pay it under tsx either).
 *
 * `compile` transpiles src/ and the bench modules a client loads with esbuild (unbundled, one .js per .ts, ES2022
 * ESM, no source maps, no `keepNames`: what `tsc` emits for dist/, modulo the emitter) into a temporary directory,
 * with a `package.json` saying ESM, a symlink to the repository's node_modules (packages resolve as from dist/) and
 * one to fixtures/ (the server module reads the Batch fixture).
 *
 * The Effect 4 edition's contenders are compiled into the same tree, under `effect4/` (effect4/src and
 * effect4/bench/clients.ts), with `effect4/node_modules` a symlink to effect4's own: there `effect` is 4.1.5 and
 * `undici` 8, as for a user of that edition. The root's bench/retrieve.js and stream.js import
 * `../effect4/bench/clients.js` only in the Effect 4 contenders' processes.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../", import.meta.url))

/** Only what a client loads: other bench files may be mid-edit by someone else. */
const clientBenchFiles = [
  "worker.ts",
  "child.ts",
  "edition4.ts",
  "results.ts",
  "resultsData.ts",
  "retrieve.ts",
  "stream.ts",
  "job.ts",
  "servers.ts",
  "stats.ts",
  "suite.ts"
]

const tsFiles = (dir: string): Array<string> =>
  readdirSync(join(repoRoot, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => join(repoRoot, dir, file))

/** Compiles the clients; returns the directory (its `bench/worker.js` is the entry point). */
export const compile = async (): Promise<string> => {
  const esbuild = await import("esbuild")
  const out = mkdtempSync(join(tmpdir(), "effect-openai-batch-bench-js-"))
  const built = esbuild.build({
    entryPoints: [
      ...tsFiles("src"),
      ...clientBenchFiles.map((file) => join(repoRoot, "bench", file)),
      ...tsFiles(join("effect4", "src")),
      join(repoRoot, "effect4", "bench", "clients.ts")
    ],
    outdir: out,
    outbase: repoRoot,
    format: "esm",
    platform: "node",
    target: "es2022",
    bundle: false,
    sourcemap: false,
    logLevel: "warning"
  })
  // Nothing links to node_modules yet: a failed build leaves only our own files to delete.
  await built.catch((error: unknown) => {
    rmSync(out, { recursive: true, force: true })
    throw error
  })
  writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }))
  symlinkSync(join(repoRoot, "node_modules"), join(out, "node_modules"), "dir")
  symlinkSync(join(repoRoot, "fixtures"), join(out, "fixtures"), "dir")
  symlinkSync(join(repoRoot, "effect4", "node_modules"), join(out, "effect4", "node_modules"), "dir")
  return out
}

/** The compiled worker of `compile`'s directory. */
export const workerOf = (compiled: string): string => join(compiled, "bench", "worker.js")

export const removeCompiled = (out: string): void => {
  // The symlinks first: the repository's own directories must never be walked by the recursive delete.
  unlinkSync(join(out, "node_modules"))
  unlinkSync(join(out, "fixtures"))
  unlinkSync(join(out, "effect4", "node_modules"))
  rmSync(out, { recursive: true, force: true })
}
