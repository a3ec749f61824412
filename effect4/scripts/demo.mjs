// The Effect 4 edition's demo (examples/demo.ts), run with tsx on a Node >= 22.19 (see node.mjs for where it comes
// from): `npm run demo:effect4` at the root, `npm run demo` inside effect4/. The root's `npm run demo` runs the Effect
// 3 edition's demo, then this with `--if-node`. Other arguments go to the demo (`--live`).
//
// Without such a Node it prints how to get one and fails, or, with `--if-node`, says that the Effect 4 edition's
// demo did not run and exits 0 (on a fresh machine the root's `npm ci` installs one where it can, so this happens
// only where npm has no Node build, e.g. not Linux x64, on a machine whose node is older than 22.19).
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { binOf } from "./bin.mjs"
import { notInstalled } from "./installed.mjs"
import { findNode, minimum } from "./node.mjs"

const effect4 = join(dirname(fileURLToPath(import.meta.url)), "..")
const args = process.argv.slice(2)
const optional = args.includes("--if-node")
const demoArgs = args.filter((arg) => arg !== "--if-node")

const node = findNode()
const missing = notInstalled()
if (missing !== undefined) {
  console.log(missing)
  process.exitCode = 1
} else if (node === undefined) {
  console.log(
    `\nThe Effect 4 edition's demo did not run: it needs Node >= ${minimum}, this is Node ${process.versions.node} ` +
      `(${process.platform}-${process.arch}) and effect4/node22 holds no Node from npm. With Node >= ${minimum} ` +
      "(e.g. `nvm install 22 && nvm use 22`) run `npm run demo:effect4`" +
      (process.platform === "linux" && process.arch === "x64"
        ? "; or install the pinned Node 22 from npm with `npm run node22 --prefix effect4`, then `npm run demo:effect4`."
        : ".")
  )
  if (!optional) process.exitCode = 1
} else {
  // tsx is the root's (effect4/ takes its tools from the root's node_modules); it maps `effect-openai-batch` to
  // src/ through effect4/tsconfig.json's paths.
  const tsx = binOf(effect4, "tsx", "tsx")
  console.log(`\nThe Effect 4 edition's demo (effect4/examples/demo.ts) on Node ${node.version} (${node.source})\n`)
  const child = spawn(node.path, [tsx, "examples/demo.ts", ...demoArgs], { cwd: effect4, stdio: "inherit" })
  child.on("close", (code, signal) => {
    process.exitCode = code ?? (signal === null ? 1 : 128)
  })
}
