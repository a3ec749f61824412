// `npm test`: the type checks and the lint (scripts/typecheck-and-lint.mjs), the Effect 3 edition's `vitest run` and
// the Effect 4 edition's tests (effect4/scripts/test.mjs, on a Node >= 22.19), all side by side. `npm test` is
// bound by the CPU of its two cores: both suites spend much of their time waiting on child processes, loopback
// servers and real PostgreSQL (the crash tests above all), and one step after the other left the cores idle in those
// waits and at each step's end. The root's suite takes longest, so it runs at the normal priority and the others at a
// lower one (they fill the cores around it). Measured at low load from a clean results cache: 115.7 s one after the
// other, 100.7 s with the suites side by side after the checks, 92-94 s all side by side, 86 s with the priorities.
// Later, with less to do (153 s of CPU at nice 5): 84.6 s at nice 5, 70.2-71.9 s at nice 10 (three runs), whose
// CPU also fell to 132-135 s: the root's suite, left to itself, ends with the others instead of 10 s after them.
// With the Effect 4 edition's suite grown by its over-HTTP tests it became the last to end (80 s at nice 10); at
// nice 6, between the root's and the checks', all three end within 2 s of each other: 76.1-76.3 s (two runs).
// The root's vitest output streams as it runs; the checks' and the Effect 4 edition's are
// printed whole when each ends (their scripts buffer them), so they never interleave line by line. The exit code is
// non-zero when any fails. Arguments go to the root's vitest.
import { spawn } from "node:child_process"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { binOf } from "../effect4/scripts/bin.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** The file of a package's command (./bin.mjs). */
const bin = (pkg, name) => binOf(root, pkg, name)

/**
 * Runs a script; `priority` (a nice value) lowers its share of the CPU, and its children's: the root's suite takes
 * longest, so the checks and the Effect 4 edition's suite fill the cores around it instead of slowing it down.
 */
const run = (file, args, priority = 0) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { cwd: root, stdio: "inherit" })
    if (priority !== 0 && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, priority)
      } catch {
        // not allowed here: the same run, at the same priority
      }
    }
    child.on("error", (error) => {
      console.error(error)
      resolve(false)
    })
    child.on("close", (code) => resolve(code === 0))
  })

const results = await Promise.all([
  run(join(root, "scripts", "typecheck-and-lint.mjs"), [], 10),
  run(bin("vitest", "vitest"), ["run", ...process.argv.slice(2)]),
  run(join(root, "effect4", "scripts", "test.mjs"), ["--no-typecheck"], 6)
])
if (results.includes(false)) process.exitCode = 1
