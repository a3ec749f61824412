/**
 * The Effect 4 edition's build: ES modules only, in `dist/` (`.js`, `.d.ts` and their maps), the way `effect` 4
 * ships itself.
 *
 * Why no CommonJS build (the Effect 3 edition ships both): `effect` 4 is ESM only, and the Node it needs (>= 22.19)
 * loads ES modules from `require` (require(esm), unflagged since 22.12). A CommonJS copy of this library would still
 * `require` the one ESM `effect`, so it would add a second copy of our modules (the dual-package hazard: two
 * `BatchLine` schemas, two error classes) and buy nothing. A CommonJS program `require`s this build and gets the
 * same modules, and the same `effect`, as an ES module program (test/package/consumer.test.ts checks both).
 *
 * JavaScript is emitted file by file by esbuild (no bundling; tsconfig sets `isolatedModules`), in a fraction of a
 * second and of the CPU of TypeScript's `transpileModule`, which lets `npm test` build the package for its consumer
 * check; declarations need the type checker.
 *
 * `tsx scripts/build.ts [outDir]` writes the whole build (default `dist`); `npm run build` and `prepack` run it.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
// The root's esbuild: effect4/ takes its tools from the root's node_modules.
import * as esbuild from "esbuild"
import ts from "typescript"

/** The Effect 4 edition's folder (effect4/). */
export const root = fileURLToPath(new URL("..", import.meta.url))

const srcDir = Path.join(root, "src")

const formatDiagnostics = (diagnostics: ReadonlyArray<ts.Diagnostic>) =>
  ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n"
  })

/** tsconfig.build.json as the compiler reads it: its options and the source files it builds. */
export const readConfig = (): ts.ParsedCommandLine => {
  const parsed = ts.getParsedCommandLineOfConfigFile(Path.join(root, "tsconfig.build.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(formatDiagnostics([diagnostic]))
    }
  })
  if (parsed === undefined) throw new Error("tsconfig.build.json could not be read")
  if (parsed.errors.length > 0) throw new Error(formatDiagnostics(parsed.errors))
  return parsed
}

/** Emits the JavaScript (with source maps pointing into `src/`) of every source file into `outDir`. */
export const emitJs = (outDir: string, config: ts.ParsedCommandLine = readConfig()): number => {
  esbuild.buildSync({
    entryPoints: [...config.fileNames],
    outdir: outDir,
    outbase: srcDir,
    bundle: false,
    // the build's own compiler options (esbuild would otherwise read tsconfig.json)
    tsconfig: Path.join(root, "tsconfig.build.json"),
    format: "esm",
    platform: "node",
    target: "es2022",
    sourcemap: true,
    sourcesContent: false,
    logLevel: "error"
  })
  return config.fileNames.length
}

/** Type-checks the sources and emits their declarations (with declaration maps) into `outDir`. */
export const emitDeclarations = (outDir: string, config: ts.ParsedCommandLine = readConfig()): void => {
  const program = ts.createProgram(config.fileNames, {
    ...config.options,
    noEmit: false,
    declaration: true,
    declarationMap: true,
    emitDeclarationOnly: true,
    outDir
  })
  const diagnostics = ts.getPreEmitDiagnostics(program)
  if (diagnostics.length > 0) throw new Error(formatDiagnostics(diagnostics))
  const result = program.emit()
  if (result.emitSkipped || result.diagnostics.length > 0) throw new Error(formatDiagnostics(result.diagnostics))
}

/** The whole build into `outDir` (emptied first). */
export const build = (outDir: string): void => {
  Fs.rmSync(outDir, { recursive: true, force: true })
  const config = readConfig()
  emitJs(outDir, config)
  emitDeclarations(outDir, config)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(Path.resolve(process.argv[1])).href) {
  const started = Date.now()
  const outDir = Path.resolve(root, process.argv[2] ?? "dist")
  build(outDir)
  console.log(`built ${Path.relative(root, outDir) || "."} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}
