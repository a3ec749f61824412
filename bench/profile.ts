/**
 * `npx tsx bench/profile.ts <file.cpuprofile | directory> [top]`: the functions with the most self time in a V8 CPU
 * profile (as written by `node --cpu-prof`, or `npm run bench -- --profile` into bench/profiles/<child>/), and the
 * same time grouped by package. Given a directory, it reads the profile with the most non-idle time (the main
 * thread; tsx's loader thread writes its own).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [target, topArg] = process.argv.slice(2)
if (target === undefined) {
  console.error("usage: npx tsx bench/profile.ts <file.cpuprofile | directory> [top]")
  process.exit(2)
}
const top = Number(topArg ?? "30")
const load = (path: string): Profile => JSON.parse(readFileSync(path, "utf8"))
const busy = (p: Profile): number => {
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id))
  return p.samples.reduce((sum, id, i) => (idle.has(id) ? sum : sum + (p.timeDeltas[i] ?? 0)), 0)
}
const candidates = statSync(target).isDirectory()
  ? readdirSync(target).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(target, f))
  : [target]
const loaded = candidates.map((path) => ({ path, profile: load(path) }))
loaded.sort((a, b) => busy(b.profile) - busy(a.profile))
const chosen = loaded[0]
if (chosen === undefined) {
  console.error(`no .cpuprofile in ${target}`)
  process.exit(2)
}
const file = chosen.path
const profile = chosen.profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))

/** Self time per node id, in microseconds (each sample's delta belongs to the sampled node). */
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

const shortUrl = (url: string): string => {
  const nm = url.lastIndexOf("node_modules/")
  if (nm !== -1) return url.slice(nm + "node_modules/".length)
  const src = url.indexOf("/src/")
  if (src !== -1) return url.slice(src + 1)
  const bench = url.indexOf("/bench/")
  return bench !== -1 ? url.slice(bench + 1) : url.replace(/^file:\/\//, "")
}
const packageOf = (url: string): string => {
  if (url === "") return "(native / V8)"
  if (url.startsWith("node:")) return "node core"
  const nm = url.lastIndexOf("node_modules/")
  if (nm !== -1) {
    const parts = url.slice(nm + "node_modules/".length).split("/")
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0] ?? url
  }
  if (url.includes("/src/")) return "effect-openai-batch (src)"
  if (url.includes("/bench/")) return "bench"
  return url
}

let total = 0
const byFunction = new Map<string, number>()
const byPackage = new Map<string, number>()
const byFile = new Map<string, number>()
for (const [id, us] of self) {
  const node = byId.get(id)
  if (node === undefined) continue
  total += us
  const { functionName, lineNumber, url } = node.callFrame
  const key = `${functionName || "(anonymous)"}  ${url === "" ? "" : `${shortUrl(url)}:${lineNumber + 1}`}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + us)
  byPackage.set(packageOf(url), (byPackage.get(packageOf(url)) ?? 0) + us)
  const fileKey = url === "" ? functionName : shortUrl(url)
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us)
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`
const print = (title: string, entries: Map<string, number>, limit: number) => {
  console.log(title)
  for (const [key, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    console.log(`${pct(us)}  ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`)
  }
}
const idleUs = byFunction.get("(idle)  ") ?? 0
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${((total - idleUs) / 1000).toFixed(0)} ms not idle`)
print("\nself time by package", byPackage, 20)
print("\nself time by file (native entries by name)", byFile, 25)
print(`\ntop ${top} functions by self time`, byFunction, top)
