// The Effect 4 edition's API reference: @effect/docgen (the root's, 0.5.2) run inside effect4/ on its docgen.json,
// into effect4/docs/ (ignored by git, as the root's generated docs are). docgen type-checks every @example against
// Effect 4 (effect4/node_modules) and runs them with tsx; both run on a Node >= 22.19 (see node.mjs), put first on
// the PATH of docgen's process so that the `tsx` it starts runs there too.
//
// `npm run docs:effect4` at the root or `npm run docs` inside effect4/; the root's `npm run docs` runs it after the
// Effect 3 edition's with `--if-node`: without such a Node it says that this edition's reference was not generated
// and exits 0 (alone, it fails).
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { binOf } from "./bin.mjs"
import { notInstalled } from "./installed.mjs"
import { findNode, minimum } from "./node.mjs"

const effect4 = join(dirname(fileURLToPath(import.meta.url)), "..")
const optional = process.argv.includes("--if-node")

const node = findNode()
const missing = notInstalled()
if (missing !== undefined) {
  console.log(missing)
  process.exitCode = 1
} else if (node === undefined) {
  console.log(
    `The Effect 4 edition's API reference was not generated: its examples run on Node >= ${minimum}, this is ` +
      `Node ${process.versions.node} and effect4/node22 holds no Node from npm (\`npm run node22 --prefix effect4\` ` +
      "installs one on Linux x64); then `npm run docs:effect4`."
  )
  if (!optional) process.exitCode = 1
} else {
  const docgen = binOf(effect4, "@effect/docgen", "docgen")
  const tsxBin = join(dirname(createRequire(join(effect4, "package.json")).resolve("tsx/package.json")), "..", ".bin")
  const path = [dirname(node.path), tsxBin, process.env.PATH ?? ""].join(delimiter)
  console.log(`The Effect 4 edition's API reference, into effect4/docs/ (Node ${node.version}, ${node.source})`)
  const child = spawn(node.path, [docgen], { cwd: effect4, stdio: "inherit", env: { ...process.env, PATH: path } })
  child.on("close", (code, signal) => {
    process.exitCode = code ?? (signal === null ? 1 : 128)
  })
}
