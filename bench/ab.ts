/**
 * `npx tsx bench/ab.ts <other-src-dir> [calls] [rounds]`: this checkout's library against another checkout's (e.g.
 * `git archive <commit> | tar -x -C /tmp/base`, with a `node_modules` symlink there), in ONE process over the
 * in-process fake dispatcher (bench/fakeDispatcher.ts), rounds interleaved. On a machine shared with other work,
 * an A/B in one process is the steadiest before/after there is: both sides see the same load at the same moments.
 *
 * Printed per variant: the median CPU µs per call (list: per batch), min..max over rounds, and B/A.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { request } from "undici"
import { FakeDispatcher, listTotal, pageSize } from "./fakeDispatcher.js"
import { retrieveBatchId } from "./servers.js"
import { fmt, max, median, min, rotate } from "./stats.js"

process.setSourceMapsEnabled(false)
const [otherDir, callsArg, roundsArg] = process.argv.slice(2)
if (otherDir === undefined) throw new Error("usage: npx tsx bench/ab.ts <other-src-dir> [calls] [rounds]")
const calls = Number(callsArg ?? "3000")
const rounds = Number(roundsArg ?? "7")
const apiKey = "sk-bench-not-a-real-key"
const baseUrl = "http://127.0.0.1:8080/v1"
const fake = new FakeDispatcher()

interface Library {
  readonly BatchApi: typeof import("../src/BatchApi.js")
  readonly OpenAiConfig: typeof import("../src/OpenAiConfig.js")
  readonly UndiciHttpClient: typeof import("../src/UndiciHttpClient.js")
}
const load = async (dir: string): Promise<Library> => {
  const url = (name: string) => pathToFileURL(resolve(dir, name)).href
  return {
    BatchApi: await import(url("BatchApi.ts")),
    OpenAiConfig: await import(url("OpenAiConfig.ts")),
    UndiciHttpClient: await import(url("UndiciHttpClient.ts"))
  }
}

const variantsOf = async (label: string, lib: Library) => {
  const runtime = ManagedRuntime.make(
    lib.BatchApi.layer.pipe(
      Layer.provide(lib.OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl })),
      Layer.provide(Layer.succeed(HttpClient.HttpClient, lib.UndiciHttpClient.fromDispatcher(fake)))
    )
  )
  const api = await runtime.runPromise(lib.BatchApi.BatchApi)
  const many = (concurrency: number) => () =>
    runtime.runPromise(Effect.forEach(Array.from({ length: calls }), () => api.retrieveBatch(retrieveBatchId), {
      discard: true,
      concurrency
    }))
  const walk = async () => {
    const count = await runtime.runPromise(Stream.runFold(lib.BatchApi.streamBatches({ pageSize }), 0, (n) => n + 1))
    if (count !== listTotal) throw new Error(`walked ${count}`)
  }
  return [
    [`retrieve seq ${label}`, many(1), calls],
    [`retrieve x64 ${label}`, many(64), calls],
    [`streamBatches ${label}`, walk, listTotal]
  ] as const
}

const headers = { authorization: `Bearer ${apiKey}`, accept: "application/json" }
const url = `${baseUrl}/batches/${retrieveBatchId}`
const raw = async () => {
  for (let i = 0; i < calls; i++) JSON.parse(await (await request(url, { headers, dispatcher: fake })).body.text())
}
const a = await variantsOf("A (this checkout)", await load(resolve(import.meta.dirname, "../src")))
const b = await variantsOf(`B (${otherDir})`, await load(otherDir))
const variants: ReadonlyArray<readonly [string, () => Promise<unknown>, number]> = [
  ["retrieve seq raw undici.request + JSON.parse", raw, calls],
  ...a,
  ...b
]
for (const [, run] of variants) await run()
const samples = new Map<string, Array<number>>()
for (let round = 0; round < rounds; round++) {
  for (const [name, run, per] of rotate(variants, round)) {
    const cpu0 = process.cpuUsage()
    await run()
    const cpu = process.cpuUsage(cpu0)
    samples.set(name, [...(samples.get(name) ?? []), (cpu.user + cpu.system) / per])
  }
}
console.log(`CPU µs per call (stream: per batch), median (min..max) of ${rounds} interleaved rounds of ${calls} calls`)
for (const [name] of variants) {
  const values = samples.get(name) ?? []
  console.log(`${name.padEnd(60)} ${fmt(median(values), 2).padStart(8)}  (${fmt(min(values), 1)}..${fmt(max(values), 1)})`)
}
for (let i = 0; i < a.length; i++) {
  const ma = median(samples.get(a[i]![0]) ?? [])
  const mb = median(samples.get(b[i]![0]) ?? [])
  console.log(`${a[i]![0].split(" A ")[0]}: B/A = ${(mb / ma).toFixed(2)}x`)
}
