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
 * JavaScript is emitted file by file with `ts.transpileModule` (tsconfig sets `isolatedModules`), in well under a
 * second, which lets `npm test` build the package for its consumer check; declarations need the type checker.
 *
 * `tsx scripts/build.ts [outDir]` writes the whole build (default `dist`); `npm run build` and `prepack` run it.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
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

const writeFile = (file: string, text: string) => {
  Fs.mkdirSync(Path.dirname(file), { recursive: true })
  Fs.writeFileSync(file, text)
}

/** Emits the JavaScript (with source maps pointing into `src/`) of every source file into `outDir`. */
export const emitJs = (outDir: string, config: ts.ParsedCommandLine = readConfig()): number => {
  const compilerOptions: ts.CompilerOptions = {
    ...config.options,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    declaration: false,
    declarationMap: false,
    sourceMap: true,
    noEmit: false
  }
  for (const file of config.fileNames) {
    const outFile = Path.join(outDir, Path.relative(srcDir, file)).replace(/\.ts$/, ".js")
    const output = ts.transpileModule(Fs.readFileSync(file, "utf8"), {
      compilerOptions,
      fileName: file,
      reportDiagnostics: true
    })
    if (output.diagnostics !== undefined && output.diagnostics.length > 0) {
      throw new Error(formatDiagnostics(output.diagnostics))
    }
    const map = JSON.parse(output.sourceMapText ?? "{}") as { file?: string; sources?: Array<string> }
    map.file = Path.basename(outFile)
    map.sources = [Path.relative(Path.dirname(outFile), file).split(Path.sep).join("/")]
    writeFile(outFile, output.outputText)
    writeFile(`${outFile}.map`, JSON.stringify(map))
  }
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
