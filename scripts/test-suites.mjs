// `npm test`'s second step: the Effect 3 edition's `vitest run` and the Effect 4 edition's tests
// (effect4/scripts/test.mjs, on a Node >= 22.19) side by side. Both suites spend much of their time waiting on child
// processes, loopback servers and real PostgreSQL (the crash tests above all); one after the other, those waits left
// the two cores idle. The root's output streams as it runs; the Effect 4 edition's is printed whole when it ends
// (effect4/scripts/test.mjs buffers it), so the two never interleave line by line. The exit code is non-zero when
// either fails. Arguments go to the root's vitest.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const require = createRequire(join(root, "package.json"))

/** The JavaScript file of a package's command, from its package.json `bin`. */
const bin = (pkg, name) => {
  const manifest = require.resolve(`${pkg}/package.json`)
  const field = JSON.parse(readFileSync(manifest, "utf8")).bin
  return join(dirname(manifest), typeof field === "string" ? field : field[name])
}

const run = (file, args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { cwd: root, stdio: "inherit" })
    child.on("error", (error) => {
      console.error(error)
      resolve(false)
    })
    child.on("close", (code) => resolve(code === 0))
  })

const results = await Promise.all([
  run(bin("vitest", "vitest"), ["run", ...process.argv.slice(2)]),
  run(join(root, "effect4", "scripts", "test.mjs"), ["--no-typecheck"])
])
if (results.includes(false)) process.exitCode = 1
