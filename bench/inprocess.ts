/**
 * `npx tsx bench/inprocess.ts [calls] [rounds] [filter]`: the library's own CPU per call over an in-process
 * transport, with no socket and no server. A fake undici `Dispatcher` answers every request on the next turn of
 * the event loop (`setImmediate`, as a socket read would) with precomputed bytes: the retrieve fixture, or a page
 * of the synthetic list. So what each variant costs above `raw undici.request + text + JSON.parse` on the same fake
 * is its own machinery, without the network's noise.
 *
 * A diagnostic for src/ work, not a suite (`npm run bench` measures over loopback, each contender in its own
 * process). Rounds interleave the variants (rotating who goes first); printed: the median CPU µs per call (or per
 * batch) with min..max over rounds, and the ratio to the raw floor.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { request, setGlobalDispatcher } from "undici"
import * as Batch from "../src/Batch.js"
import { BatchApi, OpenAiConfig } from "../src/index.js"
import * as Decoder from "../src/internal/decoder.js"
import * as Operation from "../src/internal/http/operation.js"
import * as Http from "../src/internal/http/pipeline.js"
import * as Retry from "../src/internal/http/retry.js"
import * as FetchTransport from "../src/transport/FetchTransport.js"
import * as Transport from "../src/transport/Transport.js"
import * as UndiciTransport from "../src/transport/UndiciTransport.js"
import { FakeDispatcher, listTotal, pageSize } from "./fakeDispatcher.js"
import { retrieveBatchId } from "./servers.js"
import { fmt, max, median, min, rotate } from "./stats.js"

process.setSourceMapsEnabled(false)
const calls = Number(process.argv[2] ?? "5000")
const rounds = Number(process.argv[3] ?? "7")
const filter = process.argv[4]
const apiKey = "sk-bench-not-a-real-key"
const origin = "http://127.0.0.1:8080"
const baseUrl = `${origin}/v1`

const fake = new FakeDispatcher()
// Node's global fetch dispatches through the global dispatcher too (the symbol is shared across undici copies).
setGlobalDispatcher(fake)
const lean = UndiciTransport.fromDispatcher(fake)
const transport = Transport.layer(Effect.succeed(lean))
const runtime = ManagedRuntime.make(
  BatchApi.layer.pipe(
    Layer.provideMerge(OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl })),
    Layer.provideMerge(transport)
  )
)
const api = await runtime.runPromise(BatchApi.BatchApi)
const config = await runtime.runPromise(OpenAiConfig.OpenAiConfig)
const leanClient = await runtime.runPromise(HttpClient.HttpClient)
const pipeline = Http.make(config, leanClient, Option.some(lean))
const decodeBatch = Decoder.make(Batch.Batch)
const client = HttpClient.withTracerDisabledWhen(await runtime.runPromise(HttpClient.HttpClient), () => true)
const headers = { authorization: `Bearer ${apiKey}`, accept: "application/json" }
const url = `${baseUrl}/batches/${retrieveBatchId}`

type Variant = readonly [string, () => Promise<unknown>, number]

const sequential = <A, E>(make: () => Effect.Effect<A, E>) => () =>
  runtime.runPromise(Effect.forEach(Array.from({ length: calls }), make, { discard: true }))
const concurrent = <A, E>(make: () => Effect.Effect<A, E>) => () =>
  runtime.runPromise(Effect.forEach(Array.from({ length: calls }), make, { discard: true, concurrency: 64 }))
const promises = (one: () => Promise<unknown>) => async () => {
  for (let i = 0; i < calls; i++) await one()
}
const promiseWorkers = (one: () => Promise<unknown>) => async () => {
  let remaining = calls
  const worker = async () => {
    while (remaining-- > 0) await one()
  }
  await Promise.all(Array.from({ length: 64 }, worker))
}
const rawOne = async () => {
  const response = await request(url, { headers, dispatcher: fake })
  const parsed: { readonly id: string } = JSON.parse(await response.body.text())
  return parsed
}
const leanOne = Effect.flatMap(
  client.execute(HttpClientRequest.get(url, { headers })),
  (response) => Effect.map(response.text, (text): { readonly id: string } => JSON.parse(text))
)

const directOne = Effect.map(
  lean.exchange({
    method: "GET",
    origin: "http://127.0.0.1:8080",
    path: `/v1/batches/${retrieveBatchId}`,
    headers,
    body: undefined,
    timeoutMillis: 60_000
  }),
  (response): { readonly id: string } => JSON.parse(response.text)
)
const spec = { operation: "retrieveBatch", method: "GET", path: `/batches/${retrieveBatchId}` } as const
const pipelineOne = () => pipeline.request(spec, decodeBatch)
const retriedOne = () => Retry.retry(pipeline.request(spec, decodeBatch))
const spannedOne = () =>
  Operation.span(
    "x",
    { "openai.batch_id": retrieveBatchId },
    (span) => Retry.retry(pipeline.request({ ...spec, span }, decodeBatch))
  )

const fetchRuntime = ManagedRuntime.make(
  BatchApi.layer.pipe(
    Layer.provideMerge(OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl })),
    Layer.provideMerge(FetchHttpClient.layer)
  )
)
const fetchApi = await fetchRuntime.runPromise(BatchApi.BatchApi)
const fetchClient = HttpClient.withTracerDisabledWhen(await fetchRuntime.runPromise(HttpClient.HttpClient), () => true)
const fetchSequential = <A, E>(make: () => Effect.Effect<A, E>) => () =>
  fetchRuntime.runPromise(Effect.forEach(Array.from({ length: calls }), make, { discard: true }))
const leanFetchRuntime = ManagedRuntime.make(
  BatchApi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl })),
    Layer.provide(FetchTransport.layer)
  )
)
const leanFetchApi = await leanFetchRuntime.runPromise(BatchApi.BatchApi)
const fetchRawOne = async () => {
  const response = await fetch(url, { headers })
  const parsed: { readonly id: string } = JSON.parse(await response.text())
  return parsed
}
const fetchSignalOne = async () => {
  const response = await fetch(url, { headers, signal: new AbortController().signal })
  const parsed: { readonly id: string } = JSON.parse(await response.text())
  return parsed
}
const fetchAloneOne = Effect.flatMap(
  fetchClient.execute(HttpClientRequest.get(url, { headers })),
  (response) => Effect.map(response.text, (text): { readonly id: string } => JSON.parse(text))
)

interface RawPage {
  readonly data: ReadonlyArray<{ readonly id: string }>
  readonly has_more: boolean
}
const rawWalk = async () => {
  let count = 0
  let after: string | undefined
  for (;;) {
    const pageUrl = `${baseUrl}/batches?limit=${pageSize}${after === undefined ? "" : `&after=${after}`}`
    const response = await request(pageUrl, { headers, dispatcher: fake })
    const page: RawPage = JSON.parse(await response.body.text())
    count += page.data.length
    const last = page.data[page.data.length - 1]
    if (!page.has_more || last === undefined) break
    after = last.id
  }
  if (count !== listTotal) throw new Error(`walked ${count}`)
}
const streamWalk = async () => {
  const count = await runtime.runPromise(Stream.runFold(BatchApi.streamBatches({ pageSize }), 0, (n) => n + 1))
  if (count !== listTotal) throw new Error(`walked ${count}`)
}
const pageWalk = () =>
  runtime.runPromise(Effect.gen(function*() {
    let after: string | undefined
    for (;;) {
      const result = yield* api.listBatches(after === undefined ? { limit: pageSize } : { limit: pageSize, after })
      const last = result.data[result.data.length - 1]
      if (!result.has_more || last === undefined) return
      after = last.id
    }
  }))

const allVariants: ReadonlyArray<Variant> = [
  ["retrieve seq: raw undici.request + text + JSON.parse", promises(rawOne), calls],
  ["retrieve seq: UndiciTransport alone (execute+text+parse)", sequential(() => leanOne), calls],
  ["retrieve seq: Transport exchange + JSON.parse (timer armed)", sequential(() => directOne), calls],
  ["retrieve seq: + headers, decode, errors (pipeline.request)", sequential(pipelineOne), calls],
  ["retrieve seq: + the retry wrapper", sequential(retriedOne), calls],
  ["retrieve seq: + the span (Operation.span)", sequential(spannedOne), calls],
  [
    "retrieve seq: BatchApi.retrieveBatch on UndiciTransport",
    sequential(() => api.retrieveBatch(retrieveBatchId)),
    calls
  ],
  ["fetch seq: raw fetch + text + JSON.parse", promises(fetchRawOne), calls],
  ["fetch seq: raw fetch with an AbortSignal + text + JSON.parse", promises(fetchSignalOne), calls],
  ["fetch seq: FetchHttpClient alone (execute+text+parse)", fetchSequential(() => fetchAloneOne), calls],
  [
    "fetch seq: BatchApi.retrieveBatch on FetchHttpClient",
    fetchSequential(() => fetchApi.retrieveBatch(retrieveBatchId)),
    calls
  ],
  [
    "fetch seq: BatchApi.retrieveBatch on FetchTransport",
    () =>
      leanFetchRuntime.runPromise(
        Effect.forEach(Array.from({ length: calls }), () => leanFetchApi.retrieveBatch(retrieveBatchId), {
          discard: true
        })
      ),
    calls
  ],
  ["retrieve x64: raw undici.request + text + JSON.parse", promiseWorkers(rawOne), calls],
  [
    "retrieve x64: BatchApi.retrieveBatch on UndiciTransport",
    concurrent(() => api.retrieveBatch(retrieveBatchId)),
    calls
  ],
  ["list: raw undici.request walk (per batch)", rawWalk, listTotal],
  ["list: listBatches page loop (per batch)", pageWalk, listTotal],
  ["list: streamBatches runFold (per batch)", streamWalk, listTotal]
]
const variants = allVariants.filter(([name]) => filter === undefined || name.includes(filter))

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
console.log(`CPU µs per call (list: per batch), median (min..max) of ${rounds} interleaved rounds; ${calls} calls`)
const floorOf = (name: string) =>
  median(samples.get(variants.find(([n]) => n.startsWith(name.split(":")[0]!) && n.includes("raw"))?.[0] ?? "") ?? [])
for (const [name] of variants) {
  const values = samples.get(name) ?? []
  const floor = floorOf(name)
  console.log(
    `${name.padEnd(60)} ${fmt(median(values), 2).padStart(8)}  (${fmt(min(values), 1)}..${fmt(max(values), 1)})  ${
      Number.isFinite(floor) ? `${(median(values) / floor).toFixed(2)}x raw` : ""
    }`
  )
}
await runtime.dispose()
await fetchRuntime.dispose()
await leanFetchRuntime.dispose()
