/**
 * The package build: `dist/esm` (ES modules) and `dist/cjs` (CommonJS), each with its own declarations, the way
 * `effect` and `@effect/platform` ship theirs. A consumer then gets this library in the same format as its own copy
 * of effect: an ESM-only build would make a CommonJS program load a second, ESM copy of effect through us (see
 * test/package/consumer.test.ts, which checks that both kinds of consumer share one).
 *
 * JavaScript is emitted file by file by esbuild (no bundling; tsconfig sets `isolatedModules`, so every file compiles
 * on its own, as esbuild requires): both formats in a fraction of a second, which is what lets `npm test` build the
 * package for its consumer check without a share of its CPU (TypeScript's `transpileModule` took 4.6 s of CPU for
 * the two, measured). Declarations need the type checker (`tsc --emitDeclarationOnly`, tens of seconds); they are the
 * same text for both formats, and each copy is read as ESM or CommonJS by the `package.json` next to it.
 *
 * `tsx scripts/build.ts [outDir]` writes the whole build (default `dist`); `npm run build` and `prepack` run it.
 */
import * as esbuild from "esbuild"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import ts from "typescript"

/** The repository root. */
export const root = fileURLToPath(new URL("..", import.meta.url))

/** The two outputs: the folder under the out dir, and how its files are read. */
export const formats = {
  esm: { module: ts.ModuleKind.ES2022, type: "module" },
  cjs: { module: ts.ModuleKind.CommonJS, type: "commonjs" }
} as const

/** `esm` or `cjs`. */
export type Format = keyof typeof formats

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

const srcDir = Path.join(root, "src")

const writeFile = (file: string, text: string) => {
  Fs.mkdirSync(Path.dirname(file), { recursive: true })
  Fs.writeFileSync(file, text)
}

/**
 * Marks a format's folder: `type` tells Node and TypeScript how to read its `.js` and `.d.ts` files, and
 * `sideEffects` repeats the root's, because bundlers read the nearest package.json.
 */
const writeMarker = (outDir: string, format: Format) =>
  writeFile(
    Path.join(outDir, format, "package.json"),
    JSON.stringify({ type: formats[format].type, sideEffects: false }, null, 2) + "\n"
  )

/**
 * Emits the JavaScript (with source maps pointing into `src/`) of every source file in one format, into
 * `<outDir>/<format>`. Returns the number of files.
 */
export const emitJs = (outDir: string, format: Format, config: ts.ParsedCommandLine = readConfig()): number => {
  esbuild.buildSync({
    entryPoints: [...config.fileNames],
    outdir: Path.join(outDir, format),
    outbase: srcDir,
    bundle: false,
    // the build's own compiler options (esbuild would otherwise read tsconfig.json)
    tsconfig: Path.join(root, "tsconfig.build.json"),
    format,
    platform: "node",
    target: "es2022",
    sourcemap: true,
    sourcesContent: false,
    logLevel: "error"
  })
  writeMarker(outDir, format)
  return config.fileNames.length
}

/**
 * Type-checks the sources and emits their declarations (with declaration maps) into `<outDir>/esm`, then copies
 * them to `<outDir>/cjs`: the text is the same, the folder's package.json decides how it is read.
 */
export const emitDeclarations = (outDir: string, config: ts.ParsedCommandLine = readConfig()): void => {
  const program = ts.createProgram(config.fileNames, {
    ...config.options,
    noEmit: false,
    declaration: true,
    declarationMap: true,
    emitDeclarationOnly: true,
    outDir: Path.join(outDir, "esm")
  })
  const diagnostics = ts.getPreEmitDiagnostics(program)
  if (diagnostics.length > 0) throw new Error(formatDiagnostics(diagnostics))
  const result = program.emit()
  if (result.emitSkipped || result.diagnostics.length > 0) throw new Error(formatDiagnostics(result.diagnostics))
  const copy = (from: string, to: string) => {
    for (const entry of Fs.readdirSync(from, { withFileTypes: true })) {
      const source = Path.join(from, entry.name)
      if (entry.isDirectory()) copy(source, Path.join(to, entry.name))
      else if (/\.d\.ts(\.map)?$/.test(entry.name)) {
        writeFile(Path.join(to, entry.name), Fs.readFileSync(source, "utf8"))
      }
    }
  }
  copy(Path.join(outDir, "esm"), Path.join(outDir, "cjs"))
}

/** The whole build into `outDir` (emptied first). */
export const build = (outDir: string): void => {
  Fs.rmSync(outDir, { recursive: true, force: true })
  const config = readConfig()
  emitJs(outDir, "esm", config)
  emitJs(outDir, "cjs", config)
  emitDeclarations(outDir, config)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(Path.resolve(process.argv[1])).href) {
  const started = Date.now()
  const outDir = Path.resolve(root, process.argv[2] ?? "dist")
  build(outDir)
  console.log(
    `built ${Path.relative(root, outDir) || "."}/{esm,cjs} in ${((Date.now() - started) / 1000).toFixed(1)} s`
  )
}
