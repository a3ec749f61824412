/**
 * The durable tests' child scripts (jobChild.ts, workflowChild.ts) bundled with esbuild, for support/child.ts to run
 * with plain `node` (one pid per child, so a SIGKILL is exact): the root's test/durable/support/children.ts, on
 * Effect 4.
 *
 * Why a bundle: run from the sources (Node's type stripping and a resolve hook mapping `.js` specifiers to `.ts`
 * files), each of some 25 children per run stripped and resolved the library's sources one module at a time. The
 * bundle holds this package's sources, the test support they import and the packages they use (`effect`,
 * `@effect/*`, undici) in one file per child: loading effect's modules one by one from effect4/node_modules was
 * most of what was left of a child's CPU at its start. `pg` (and its optional native binding) and Node's own modules
 * (`node:sqlite`) stay external, `pg` found in effect4/node_modules at run time. With `splitting`, each engine's
 * module is a chunk of its own, loaded by the child's dynamic `import()`: a child loads only its engine's driver,
 * as a program using one of them does. A CommonJS package bundled (undici) `require`s Node's modules: the banner
 * gives each file of the bundle a `require`.
 *
 * It is kept between test files and runs in effect4/node_modules/.cache (inside effect4/, so that the bundle's bare
 * specifiers resolve to effect4/node_modules), in a directory named after a hash of what it is made of: every
 * TypeScript file under src/, test/support/, test/durable/support/ (this file included) and test/integration/support/
 * (test/integration/uploads-large.test.ts's uploadChild.ts is bundled here too). A file changed, another
 * hash, a new build; so does an install (the lock files of effect4/node_modules and the root's, which esbuild
 * resolves packages from, enter the hash too). A build goes to a temporary directory renamed into place, so a
 * reader never sees half of one; builds unused for an hour are removed (one in use is touched each time it is
 * picked).
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const effect4 = fileURLToPath(new URL("../../../", import.meta.url))
const cacheDir = path.join(effect4, "node_modules", ".cache", "effect-openai-batch-crash-children")

/** The scripts bundled, relative to effect4/. */
const children = [
  "test/durable/support/jobChild.ts",
  "test/durable/support/workflowChild.ts",
  "test/integration/support/uploadChild.ts"
] as const

/** What a bundle may be made of, relative to effect4/: the folders whose TypeScript files enter the hash. */
const inputDirs = ["src", "test/support", "test/durable/support", "test/integration/support"] as const

/** The installed packages, relative to effect4/: what npm wrote of each install. */
const lockFiles = ["node_modules/.package-lock.json", "../node_modules/.package-lock.json"] as const

const unusedFor = 60 * 60 * 1000

const filesUnder = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(path.join(effect4, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => path.join(dir, file))
    .sort()

/** A hash of the inputs' names and contents (the lock files' too), and of the scripts bundled. */
const inputsHash = (): string => {
  const hash = createHash("sha256").update(JSON.stringify(children))
  for (const file of [...inputDirs.flatMap(filesUnder), ...lockFiles]) {
    const where = path.join(effect4, file)
    hash.update(`\0${file}\0`).update(fs.existsSync(where) ? fs.readFileSync(where) : "(none)")
  }
  return hash.digest("hex").slice(0, 16)
}

/** Marks a build as picked now; false when there is no such build. */
const touch = (dir: string): boolean => {
  try {
    const now = new Date()
    fs.utimesSync(dir, now, now)
    return true
  } catch {
    return false
  }
}

/** Removes the builds other than `keep` that nobody picked for an hour (another process may be removing them too). */
const prune = (keep: string) => {
  for (const name of fs.readdirSync(cacheDir)) {
    const dir = path.join(cacheDir, name)
    const stat = fs.statSync(dir, { throwIfNoEntry: false })
    if (dir !== keep && stat !== undefined && Date.now() - stat.mtimeMs > unusedFor) {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

const build = async (): Promise<string> => {
  const dir = path.join(cacheDir, inputsHash())
  // Touched before it is used: a build just picked is never one that another process prunes.
  if (touch(dir)) return dir
  fs.mkdirSync(cacheDir, { recursive: true })
  const temp = fs.mkdtempSync(`${dir}.tmp-`)
  // The root's esbuild: effect4/ takes its tools from the root's node_modules.
  const esbuild = await import("esbuild")
  await esbuild.build({
    // Named by their file alone: the scripts are in different folders, all bundled flat into one.
    entryPoints: children.map((child) => ({ in: path.join(effect4, child), out: path.basename(child, ".ts") })),
    absWorkingDir: effect4,
    outdir: temp,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22",
    external: ["pg", "pg-native"],
    banner: {
      js: "import { createRequire as __bundleCreateRequire } from \"node:module\";\n" +
        "const require = __bundleCreateRequire(import.meta.url);"
    },
    // `.mjs`: ESM whatever package.json is nearest (under node_modules/, Node looks for none above).
    outExtension: { ".js": ".mjs" },
    logLevel: "error"
  })
  try {
    fs.renameSync(temp, dir)
  } catch {
    // Another process put the same build in place first: the same inputs, the same bundle.
    fs.rmSync(temp, { recursive: true, force: true })
  }
  prune(dir)
  return dir
}

let built: Promise<string> | undefined

/**
 * The bundled file of a child script (`script`: the URL of its `.ts` file, as `new URL("./jobChild.ts",
 * import.meta.url).href`), built or picked once per process.
 */
export const bundled = (script: string): Effect.Effect<string> => {
  const file = path.relative(effect4, fileURLToPath(script))
  if (!children.some((child) => path.normalize(child) === file)) {
    return Effect.die(new Error(`${file} is not one of the bundled children (${children.join(", ")})`))
  }
  return Effect.promise(() => {
    built ??= build()
    return built
  }).pipe(Effect.map((dir) => path.join(dir, `${path.basename(file, ".ts")}.mjs`)))
}
