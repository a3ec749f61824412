/**
 * `npx tsx bench/transport.ts [calls] [rounds]`: the HTTP transports in one process, for a quick comparison. Each
 * variant runs sequential GETs of the full Batch fixture against the benchmark server (own process); rounds
 * interleave the variants (rotating who goes first); the median client CPU microseconds per call are printed with
 * the min..max over rounds. A diagnostic, not a suite: `npm run bench -- retrieve` measures each contender in its
 * own process.
 *
 * - raw undici: `request` + `body.text()` + JSON.parse (the floor);
 * - the platform's undici client (`NodeHttpClient.layerUndici`) and UndiciTransport alone: execute + text +
 *   JSON.parse, tracing disabled for the request (as the library runs them);
 * - the library (`BatchApi.retrieveBatch`, default retry) on each;
 * - the official SDK, for reference.
 *
 * Then downloads: a generated 20 MB results file (bench/results.ts) streamed whole, CPU microseconds per MB: raw
 * undici (`request`, the body iterated), each HttpClient's `response.stream` alone, `OpenAiFiles.downloadFile` on
 * each.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import OpenAI from "openai"
import { Agent, request } from "undici"
import { BatchApi, OpenAiConfig, OpenAiFiles } from "../src/index.js"
import * as UndiciTransport from "../src/transport/UndiciTransport.js"
import { num, spawnWorker } from "./child.js"
import { generate, resultsFileId } from "./resultsData.js"
import { retrieveBatchId } from "./servers.js"
import { fmt, max, median, min, rotate } from "./stats.js"

process.setSourceMapsEnabled(false)
const calls = Number(process.argv[2] ?? "2000")
const rounds = Number(process.argv[3] ?? "7")
const apiKey = "sk-bench-not-a-real-key"

const server = spawnWorker("server", [])
const baseUrl = `http://127.0.0.1:${num(await server.next("listening"), "port")}/v1`
const url = `${baseUrl}/batches/${retrieveBatchId}`
const headers = { authorization: `Bearer ${apiKey}`, accept: "application/json" }

const config = OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl })
const runtimeOn = (transport: Layer.Layer<HttpClient.HttpClient>) =>
  ManagedRuntime.make(
    Layer.mergeAll(transport, BatchApi.layer, OpenAiFiles.layer).pipe(Layer.provide(Layer.merge(transport, config)))
  )
type Runtime = ReturnType<typeof runtimeOn>
const platform = runtimeOn(NodeHttpClient.layerUndici)
const ours = runtimeOn(UndiciTransport.layer)

type Variant = readonly [string, () => Promise<unknown>]

const sequential =
  <A, E, R>(runtime: ManagedRuntime.ManagedRuntime<R, unknown>, make: () => Effect.Effect<A, E, R>) => () =>
    runtime.runPromise(Effect.forEach(Array.from({ length: calls }), make, { discard: true }))

const alone = async (runtime: Runtime) => {
  const client = HttpClient.withTracerDisabledWhen(await runtime.runPromise(HttpClient.HttpClient), () => true)
  const get = HttpClientRequest.get(url, { headers })
  return sequential(
    runtime,
    () =>
      Effect.flatMap(
        client.execute(get),
        (response) => Effect.map(response.text, (text): { readonly id: string } => JSON.parse(text))
      )
  )
}

const library = async (runtime: Runtime) => {
  const api = await runtime.runPromise(BatchApi.BatchApi)
  return sequential(runtime, () => api.retrieveBatch(retrieveBatchId))
}

const agent = new Agent()
const sdk = new OpenAI({ apiKey, baseURL: baseUrl, maxRetries: 0 })
const promises = (one: () => Promise<unknown>) => async () => {
  for (let i = 0; i < calls; i++) await one()
}

const variants: ReadonlyArray<Variant> = [
  [
    "raw undici (request + text + JSON.parse)",
    promises(async () => JSON.parse(await (await request(url, { headers, dispatcher: agent })).body.text()))
  ],
  ["NodeHttpClient.layerUndici alone", await alone(platform)],
  ["UndiciTransport alone", await alone(ours)],
  ["BatchApi.retrieveBatch on NodeHttpClient.layerUndici", await library(platform)],
  ["BatchApi.retrieveBatch on UndiciTransport", await library(ours)],
  ["openai SDK batches.retrieve", promises(() => sdk.batches.retrieve(retrieveBatchId))]
]

/** Warms every variant up, then runs `rounds` interleaved rounds; prints median (min..max) of CPU us per `per`. */
const measure = async (title: string, list: ReadonlyArray<Variant>, per: number, warmups: number) => {
  for (let i = 0; i < warmups; i++) for (const [, run] of list) await run()
  const samples = new Map<string, Array<number>>()
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of rotate(list, round)) {
      const cpu0 = process.cpuUsage()
      await run()
      const cpu = process.cpuUsage(cpu0)
      samples.set(name, [...(samples.get(name) ?? []), (cpu.user + cpu.system) / per])
    }
  }
  console.log(title)
  for (const [name] of list) {
    const values = samples.get(name) ?? []
    console.log(
      `${name.padEnd(56)} ${fmt(median(values), 1).padStart(7)}  (${fmt(min(values), 1)}..${fmt(max(values), 1)})`
    )
  }
}

await measure(
  `client CPU us per sequential retrieve, median (min..max) of ${rounds} interleaved rounds of ${calls} calls`,
  variants,
  calls,
  1
)

const downloadBytes = 20_000_000
const download = generate("output", downloadBytes)
const fileId = resultsFileId("output", downloadBytes)
const fileUrl = `${baseUrl}/files/${fileId}/content`
const checked = (bytes: number) => {
  if (bytes !== download.bytes) throw new Error(`downloaded ${bytes} bytes, expected ${download.bytes}`)
}
const count = (n: number, chunk: Uint8Array) => n + chunk.length
const streamAlone = async (runtime: Runtime): Promise<() => Promise<unknown>> => {
  const client = HttpClient.withTracerDisabledWhen(await runtime.runPromise(HttpClient.HttpClient), () => true)
  return async () =>
    checked(await runtime.runPromise(Effect.flatMap(client.get(fileUrl), (r) => Stream.runFold(r.stream, 0, count))))
}
const downloadFile = (runtime: Runtime) => async () =>
  checked(await runtime.runPromise(Stream.runFold(OpenAiFiles.downloadFile(fileId), 0, count)))
console.log()
await measure(
  `client CPU us per MB downloaded (a ${
    fmt(download.bytes / 1e6, 1)
  } MB file streamed whole), median (min..max) of ${rounds} rounds`,
  [
    ["raw undici (request, body iterated)", async () => {
      const response = await request(fileUrl, { dispatcher: agent })
      let bytes = 0
      for await (const chunk of response.body) bytes += Buffer.byteLength(chunk)
      checked(bytes)
    }],
    ["NodeHttpClient.layerUndici response.stream", await streamAlone(platform)],
    ["UndiciTransport response.stream", await streamAlone(ours)],
    ["OpenAiFiles.downloadFile on NodeHttpClient.layerUndici", downloadFile(platform)],
    ["OpenAiFiles.downloadFile on UndiciTransport", downloadFile(ours)]
  ],
  download.bytes / 1e6,
  // One 20 MB download is few calls: the JIT needs several before the figures settle.
  5
)

await Promise.all([platform.dispose(), ours.dispose(), agent.close()])
server.send({ type: "exit" })
await server.exited
