// `npm test` of the Effect 4 edition (the root's `npm test` runs it after the Effect 3 edition's): the type check
// (`tsc --noEmit`) and `vitest run`, side by side, on a Node >= 22.19 (see node.mjs for where it comes from). Each
// one's output is printed whole when it ends; the exit code is non-zero when either fails. Lint is the root's
// `eslint .`, which covers this folder too. `--no-typecheck` leaves the type check out: the root's first step
// already ran it, beside its own; other arguments go to vitest.
//
// Without effect4's own dependencies (effect4/node_modules) it says how to install them and fails. Without such a
// Node it prints how to run the tests and exits 0, except under CI (CI set), where a missing Node
// is a broken install and fails: CI must run both editions.
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { binOf } from "./bin.mjs"
import { notInstalled } from "./installed.mjs"
import { findNode, howToRun } from "./node.mjs"

const effect4 = join(dirname(fileURLToPath(import.meta.url)), "..")

/** The file of a package's command (./bin.mjs). */
const bin = (pkg, name) => binOf(effect4, pkg, name)

const run = (label, node, file, args) =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(node, [file, ...args], { cwd: effect4, stdio: ["ignore", "pipe", "pipe"] })
    const output = []
    child.stdout.on("data", (chunk) => output.push(chunk))
    child.stderr.on("data", (chunk) => output.push(chunk))
    child.on("error", (error) => output.push(Buffer.from(`${error.stack ?? error}\n`)))
    child.on("close", (code, signal) => {
      const ok = code === 0
      process.stdout.write(Buffer.concat(output))
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      process.stdout.write(`effect4 ${label}: ${ok ? "ok" : `failed (${signal ?? `exit ${code}`})`} in ${seconds} s\n`)
      resolve(ok)
    })
  })

const node = findNode()
const missing = notInstalled()
if (missing !== undefined) {
  console.log(missing)
  process.exitCode = 1
} else if (node === undefined) {
  console.log(`effect4: the Effect 4 edition's tests did not run.\n${howToRun()}`)
  // CI set to anything but "", "0" or "false" (the values CI services use to say "not CI")
  if (!["", "0", "false"].includes((process.env.CI ?? "").toLowerCase())) {
    console.log("effect4: CI is set, so this is a failure: CI must run both editions.")
    process.exitCode = 1
  }
} else {
  console.log(`effect4: the Effect 4 edition on Node ${node.version} (${node.source})`)
  const args = process.argv.slice(2)
  const typecheck = !args.includes("--no-typecheck")
  const results = await Promise.all([
    typecheck ? run("typecheck", node.path, bin("typescript", "tsc"), ["--noEmit", "-p", "tsconfig.json"]) : true,
    run("vitest", node.path, bin("vitest", "vitest"), ["run", ...args.filter((arg) => arg !== "--no-typecheck")])
  ])
  if (results.includes(false)) process.exitCode = 1
}
