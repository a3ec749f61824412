// Whether the Effect 4 edition's own dependencies are installed (effect4/node_modules, from effect4/package-lock.json:
// the root's `npm ci` installs them through its `prepare` step). Checked before its type check and tests run: without
// them, Node's resolution would walk up to the root's node_modules and find `effect` 3 and vitest 3 there, and the
// failures would not say why.
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const effect4 = join(dirname(fileURLToPath(import.meta.url)), "..")

const versionOf = (pkg) => {
  try {
    return JSON.parse(readFileSync(join(effect4, "node_modules", pkg, "package.json"), "utf8")).version
  } catch {
    return undefined
  }
}

/** `undefined` when effect4/node_modules holds effect 4 and vitest 5; else what is wrong and how to fix it. */
export const notInstalled = () => {
  const effect = versionOf("effect")
  const vitest = versionOf("vitest")
  if (effect?.startsWith("4.") && vitest?.startsWith("5.")) return undefined
  return `effect4: the Effect 4 edition's dependencies are not installed (effect4/node_modules has effect ${
    effect ?? "-"
  }, vitest ${vitest ?? "-"}); \`npm ci --prefix effect4\` installs them (the root's \`npm ci\` does too)`
}
