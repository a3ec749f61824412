// `npm test`'s checks (scripts/test.mjs runs them beside the tests): `tsc --noEmit -p tsconfig.json`, `eslint .` and
// the Effect 4 edition's `tsc --noEmit -p effect4/tsconfig.json` side by side (its tests then run with
// --no-typecheck). Each one's output is printed whole when it ends, so they never interleave; the exit code is
// non-zero when any fails.
//
// The type checks run TypeScript 7, the native compiler (the dev dependency `typescript-native`, an npm alias of
// `typescript@7`): the same checks as TypeScript 5.9 on this code, for about a quarter of the CPU (measured on this
// project: 5.5 s of CPU for the root against 18 s, 2.7 s for effect4 against about 15 s), which leaves `npm test`'s
// time to the tests (the README check type-checks its snippets with it too). TypeScript 5.9 (`typescript`) stays for
// what uses its JavaScript API: typescript-eslint, the build's emit and docgen. They run `--singleThreaded`: the
// checks already run beside the lint and both suites, and TypeScript 7's parallel checkers cost CPU that they cannot
// win back there (measured alone: the root's check 7.4 s of CPU parallel, 4.0 s single-threaded, in the same wall
// time to within 0.5 s; effect4's 5.0 s against 3.3 s).
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { binOf } from "../effect4/scripts/bin.mjs"
import { notInstalled } from "../effect4/scripts/installed.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** The file of a package's command (./bin.mjs). */
const bin = (pkg, name) => binOf(root, pkg, name)

const run = (label, file, args) =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [file, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    const output = []
    child.stdout.on("data", (chunk) => output.push(chunk))
    child.stderr.on("data", (chunk) => output.push(chunk))
    child.on("error", (error) => output.push(Buffer.from(`${error.stack ?? error}\n`)))
    child.on("close", (code, signal) => {
      const ok = code === 0
      process.stdout.write(Buffer.concat(output))
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      process.stdout.write(`${label}: ${ok ? "ok" : `failed (${signal ?? `exit ${code}`})`} in ${seconds} s\n`)
      resolve(ok)
    })
  })

// effect4/ is an npm project of its own (installed by the root's `prepare`): without its node_modules, its type check
// would find the root's effect 3 and fail on every line, so it says what is missing instead.
const effect4Missing = notInstalled()
const results = await Promise.all([
  run("typecheck", bin("typescript-native", "tsc"), ["--noEmit", "--singleThreaded", "-p", "tsconfig.json"]),
  run("lint", bin("eslint", "eslint"), ["."]),
  effect4Missing === undefined
    ? run("typecheck effect4", bin("typescript-native", "tsc"), [
      "--noEmit",
      "--singleThreaded",
      "-p",
      "effect4/tsconfig.json"
    ])
    : (console.log(`${effect4Missing}\ntypecheck effect4: failed`), false)
])
if (results.includes(false)) process.exitCode = 1
