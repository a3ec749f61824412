// After `changeset version` bumped package.json: the version the library sends in its User-Agent follows it
// (effect4/src/internal/version.ts; effect4/test/OpenAiConfig.test.ts checks that the two agree).
import { readFileSync, writeFileSync } from "node:fs"

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const file = new URL("../src/internal/version.ts", import.meta.url)
const source = readFileSync(file, "utf8")
const next = source.replace(/export const packageVersion = "[^"]*"/, `export const packageVersion = "${version}"`)
if (next !== source) writeFileSync(file, next)
console.log(`src/internal/version.ts: ${version}`)
