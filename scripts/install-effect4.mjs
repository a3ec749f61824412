// The root's `prepare` step: installs the Effect 4 edition (effect4/, an npm project of its own with its own lock
// file) when the root is installed, so one `npm ci` at the root installs both editions.
//
// Why a nested project and not a workspace: both editions are named effect-openai-batch, and changesets, which
// keys packages by name and sees only the workspaces of a workspaces repository, then versioned effect4/ in place of
// the root. As two independent npm projects each folder is a single-package changesets project (see effect4/README).
//
// What it runs: `npm ci` in effect4/ (its own package-lock.json) with the npm that runs this script. npm ci runs
// effect4's own `prepare` in turn, which installs a Node 22 from npm into effect4/node22 where the machine's node is
// older than the Effect 4 edition needs. A failure fails the root's install, with the command to run again.
//
// When it does nothing: `prepare` also runs before `npm pack` and `npm publish` of the root package, which holds
// nothing of effect4/ (see package.json `files`); there it skips, silently (`npm pack --json` prints its JSON on the
// same stdout as the lifecycle scripts). It also skips when effect4/ is absent (a copy of
// the root package alone) or when EFFECT4_SKIP_INSTALL is set (for a machine that only works on the Effect 3
// edition: the root's `npm test` then fails at the Effect 4 step, saying how to install it).
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const effect4 = join(dirname(fileURLToPath(import.meta.url)), "..", "effect4")
const command = process.env.npm_command

const skip = (why) => {
  console.log(`effect4: not installed (${why})`)
}

if (command === "pack" || command === "publish") {
  // nothing to do, nothing to say
} else if (!existsSync(join(effect4, "package.json"))) {
  skip("no effect4/ here")
} else if (process.env.EFFECT4_SKIP_INSTALL) {
  skip("EFFECT4_SKIP_INSTALL is set; `npm ci --prefix effect4` installs it")
} else {
  const started = Date.now()
  // The npm that runs this lifecycle script (npm_execpath), else the one on the PATH.
  const npm = process.env.npm_execpath
  const [file, args] = npm !== undefined && npm.endsWith(".js") ? [process.execPath, [npm]] : ["npm", []]
  // --loglevel=error: the Effect 4 packages declare Node >= 22.19 and run on the Node 22 that effect4's own
  // `prepare` installs beside them (effect4/node22) when the machine's is older; npm's EBADENGINE warnings about
  // that on Node 20 are expected, and the real failures are errors.
  const result = spawnSync(file, [...args, "ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: effect4,
    stdio: "inherit"
  })
  if (result.status !== 0) {
    console.error(
      `effect4: npm ci in effect4/ failed (${result.error?.message ?? `exit ${result.signal ?? result.status}`}): ` +
        "the Effect 4 edition is not installed, see the error above; `npm ci --prefix effect4` runs it again"
    )
    process.exit(1)
  }
  console.log(`effect4: installed (npm ci in effect4/, ${((Date.now() - started) / 1000).toFixed(1)} s)`)
}
