/**
 * What keeps a module graph from running without Node: esbuild bundles it from `entry` (under `root`) with every
 * package left outside, its metafile listing each file's imports (a `node:` module or `@effect/platform-node` is a
 * problem), and `define` replacing a Node global wherever it is a free variable (not a property or a local of that
 * name, not a type): the marker left in the output tells which file used it. No tree shaking: dead code counts too.
 * Read with esbuild rather than the TypeScript parser, whose load alone cost each edition's test about a second of
 * CPU. Shared verbatim by both editions (effect4/shared-sources.json).
 */
import * as esbuild from "esbuild"

const nodeGlobals = ["Buffer", "process", "require", "__dirname", "__filename", "global", "setImmediate"]

const marker = (name: string) => `__node_global_${name}__`

/** The files of the graph (relative to `root`) and its problems, each `"<file> imports <module>"` or `"<file> uses <global>"`. */
export const nodeUses = async (
  root: string,
  entry: string
): Promise<{ readonly files: ReadonlyArray<string>; readonly problems: ReadonlyArray<string> }> => {
  const { metafile, outputFiles } = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    packages: "external",
    treeShaking: false,
    define: Object.fromEntries(nodeGlobals.map((name) => [name, marker(name)])),
    logLevel: "silent"
  })
  const problems: Array<string> = []
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.path.startsWith("node:") || imported.path.startsWith("@effect/platform-node")) {
        problems.push(`${file} imports ${imported.path}`)
      }
    }
  }
  // The bundle names each file before its code (`// testing/internal/x.ts`).
  let file = "?"
  for (const line of (outputFiles[0]?.text ?? "").split("\n")) {
    const heading = /^\/\/ (\S+\.ts)$/.exec(line)
    if (heading !== null) file = heading[1]!
    for (const name of nodeGlobals) if (line.includes(marker(name))) problems.push(`${file} uses ${name}`)
  }
  return { files: Object.keys(metafile.inputs), problems }
}
