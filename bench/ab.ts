/**
 * `npx tsx bench/ab.ts <other-src-dir> [calls] [rounds] [--network]`: this checkout's library against another
 * checkout's (e.g. `git archive <commit> | tar -x -C /tmp/base`, with a `node_modules` symlink there), in ONE
 * process, rounds interleaved: over the in-process fake dispatcher (bench/fakeDispatcher.ts), or with `--network`
 * over loopback to the benchmark server (its own process) through an undici `Agent`. On a machine shared with other
 * work, an A/B in one process is the steadiest before/after there is: both sides see the same load at the same
 * moments.
 *
 * Printed per variant: the median CPU µs per call (list: per batch), min..max over rounds, and B/A.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Agent, type Dispatcher, request } from "undici"
// Types only (erased): each side's modules are loaded at run time from its own directory, by `load` below.
import type * as BatchApi from "../src/BatchApi.js"
import type * as OpenAiConfig from "../src/OpenAiConfig.js"
import { num, spawnWorker } from "./child.js"
import { FakeDispatcher, listTotal, pageSize } from "./fakeDispatcher.js"
import { retrieveBatchId } from "./servers.js"
import { fmt, max, median, min, rotate } from "./stats.js"

process.setSourceMapsEnabled(false)
const network = process.argv.includes("--network")
const [otherDir, callsArg, roundsArg] = process.argv.slice(2).filter((arg) => !arg.startsWith("--"))
if (otherDir === undefined) throw new Error("usage: npx tsx bench/ab.ts <other-src-dir> [calls] [rounds] [--network]")
const calls = Number(callsArg ?? "3000")
const rounds = Number(roundsArg ?? "7")
const apiKey = "sk-bench-not-a-real-key"
const server = network ? spawnWorker("server", []) : undefined
const origin = server === undefined
  ? "http://127.0.0.1:8080"
  : `http://127.0.0.1:${num(await server.next("listening"), "port")}`
// The list route of the benchmark server serves an account of N batches under /n{N}.
const baseUrl = network ? `${origin}/n${listTotal}/v1` : `${origin}/v1`
const retrieveUrl = `${origin}/v1`
const fake: Dispatcher = network ? new Agent() : new FakeDispatcher()

interface Library {
  readonly BatchApi: typeof BatchApi
  readonly OpenAiConfig: typeof OpenAiConfig
  /** The lean undici transport over a dispatcher, as a layer, and its `HttpClient` alone. */
  readonly transport: (dispatcher: Dispatcher) => {
    readonly layer: Layer.Layer<HttpClient.HttpClient>
    readonly client: HttpClient.HttpClient
  }
}

/** What an older checkout's `UndiciHttpClient.fromDispatcher` or a newer one's `UndiciTransport.fromDispatcher` gives. */
type FromDispatcher = (dispatcher: Dispatcher) => HttpClient.HttpClient | {
  readonly httpClient: HttpClient.HttpClient
}

const load = async (dir: string): Promise<Library> => {
  const url = (name: string) => pathToFileURL(resolve(dir, name)).href
  // The transport moved (UndiciHttpClient.ts -> transport/UndiciTransport.ts, with a Transport beside its client).
  const seam = existsSync(resolve(dir, "transport/Transport.ts"))
  const undici: { readonly fromDispatcher: FromDispatcher } = await import(
    url(seam ? "transport/UndiciTransport.ts" : "UndiciHttpClient.ts")
  )
  const Transport = seam ? await import(url("transport/Transport.ts")) : undefined
  return {
    BatchApi: await import(url("BatchApi.ts")),
    OpenAiConfig: await import(url("OpenAiConfig.ts")),
    transport: (dispatcher) => {
      const built = undici.fromDispatcher(dispatcher)
      if ("httpClient" in built) {
        return { layer: Transport.layer(Effect.succeed(built)), client: built.httpClient }
      }
      return { layer: Layer.succeed(HttpClient.HttpClient, built), client: built }
    }
  }
}

const variantsOf = async (label: string, lib: Library) => {
  const runtimeOf = (url: string) =>
    ManagedRuntime.make(
      lib.BatchApi.layer.pipe(
        Layer.provide(lib.OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl: url })),
        Layer.provide(lib.transport(fake).layer)
      )
    )
  const runtime = runtimeOf(baseUrl)
  // Retrieves go to the fixture route (no /n{N} prefix) when over the network.
  const retrieveRuntime = network ? runtimeOf(retrieveUrl) : runtime
  const retrieveApi = await retrieveRuntime.runPromise(lib.BatchApi.BatchApi)
  // The same client behind a wrapper: the HttpClient path every other transport takes (no Transport exchange).
  const wrapped = ManagedRuntime.make(
    lib.BatchApi.layer.pipe(
      Layer.provide(lib.OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl: retrieveUrl })),
      Layer.provide(
        Layer.succeed(
          HttpClient.HttpClient,
          HttpClient.mapRequest(lib.transport(fake).client, (request) => request)
        )
      )
    )
  )
  const wrappedApi = await wrapped.runPromise(lib.BatchApi.BatchApi)
  const generic = () =>
    wrapped.runPromise(Effect.forEach(Array.from({ length: calls }), () => wrappedApi.retrieveBatch(retrieveBatchId), {
      discard: true
    }))
  const many = (concurrency: number) => () =>
    retrieveRuntime.runPromise(
      Effect.forEach(Array.from({ length: calls }), () => retrieveApi.retrieveBatch(retrieveBatchId), {
        discard: true,
        concurrency
      })
    )
  const walk = async () => {
    const count = await runtime.runPromise(Stream.runFold(lib.BatchApi.streamBatches({ pageSize }), 0, (n) => n + 1))
    if (count !== listTotal) throw new Error(`walked ${count}`)
  }
  return [
    [`retrieve seq ${label}`, many(1), calls],
    [`retrieve x64 ${label}`, many(64), calls],
    [`retrieve seq HttpClient path ${label}`, generic, calls],
    [`streamBatches ${label}`, walk, listTotal]
  ] as const
}

const headers = { authorization: `Bearer ${apiKey}`, accept: "application/json" }
const url = `${retrieveUrl}/batches/${retrieveBatchId}`
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
  console.log(
    `${name.padEnd(60)} ${fmt(median(values), 2).padStart(8)}  (${fmt(min(values), 1)}..${fmt(max(values), 1)})`
  )
}
for (let i = 0; i < a.length; i++) {
  const ma = median(samples.get(a[i]![0]) ?? [])
  const mb = median(samples.get(b[i]![0]) ?? [])
  console.log(`${a[i]![0].split(" A ")[0]}: B/A = ${(mb / ma).toFixed(2)}x`)
}
if (server !== undefined) {
  server.send({ type: "exit" })
  await server.exited
}
process.exit(0)
