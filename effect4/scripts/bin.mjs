// The JavaScript file of a package's command, from its package.json `bin`: how the scripts of both editions run a
// tool (tsc, eslint, vitest, tsx, docgen) with the Node they choose, instead of through npx or node_modules/.bin.
// `from` is a file or folder the package is resolved from (effect4/ takes its tools from the root's node_modules).
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

/** The file of `pkg`'s command `name`, resolved from `from`. */
export const binOf = (from, pkg, name) => {
  const manifest = createRequire(join(from, "package.json")).resolve(`${pkg}/package.json`)
  const field = JSON.parse(readFileSync(manifest, "utf8")).bin
  return join(dirname(manifest), typeof field === "string" ? field : field[name])
}
