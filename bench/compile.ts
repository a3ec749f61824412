/**
 * Compiles src/ and some bench modules with esbuild into a temporary directory (ES2022 ESM, unbundled, one .js per
 * .ts, as `tsc` would emit them), so that a measured client runs with plain `node`: tsx alone costs ~180 MB of RSS,
 * which would hide what a client itself uses.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../", import.meta.url))

const tsFiles = (dir: string): Array<string> =>
  readdirSync(join(repoRoot, dir)).flatMap((name) => {
    const path = join(repoRoot, dir, name)
    if (statSync(path).isDirectory()) return tsFiles(join(dir, name))
    return name.endsWith(".ts") ? [path] : []
  })

/** Compiles src/ and `benchFiles` (names under bench/); returns the output directory (bench/worker.js inside). */
export const compileClients = async (benchFiles: ReadonlyArray<string>): Promise<string> => {
  const esbuild = await import("esbuild")
  const out = mkdtempSync(join(tmpdir(), "effect-openai-batch-bench-js-"))
  const built = esbuild.build({
    entryPoints: [...tsFiles("src"), ...benchFiles.map((file) => join(repoRoot, "bench", file))],
    outdir: out,
    outbase: repoRoot,
    format: "esm",
    platform: "node",
    target: "es2022",
    bundle: false,
    sourcemap: false,
    logLevel: "warning"
  })
  await built.catch((error: unknown) => {
    rmSync(out, { recursive: true, force: true })
    throw error
  })
  writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }))
  symlinkSync(join(repoRoot, "node_modules"), join(out, "node_modules"), "dir")
  return out
}

/** Deletes a compiled directory (its node_modules symlink first: the repository's must never be walked). */
export const removeCompiled = (out: string): void => {
  unlinkSync(join(out, "node_modules"))
  rmSync(out, { recursive: true, force: true })
}
