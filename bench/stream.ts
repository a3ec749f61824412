/**
 * Suite `stream` (issue 4, item 1): every batch of an account of N = 10,000 and 100,000, page size 100.
 *
 * Contenders:
 * - `effect-undici`: this library, `BatchApi.streamBatches({ pageSize: 100 })` folded to a count, on
 *   `NodeHttpClient.layerUndici`; every batch is decoded with Schema;
 * - `effect-lean`: the same on this package's `UndiciTransport.layer`;
 * - `openai-sdk`: `for await (const batch of client.batches.list({ limit: 100 }))` (auto-pagination);
 * - `platform-floor` / `lean-floor`: the HttpClient alone (`NodeHttpClient.layerUndici` / `UndiciTransport.layer`)
 *   walking the cursors with `JSON.parse` only;
 * - `effect-fetch`: the same on `FetchHttpClient.layer` (Node's global fetch);
 * - `effect-fetch-lean`: the same on this package's `FetchTransport.layer`;
 * - `undici-raw`: the floor, undici `request` + `JSON.parse` in a loop on cursors;
 * - `fetch-raw`: the same with the global `fetch`;
 * - the Effect 4 edition (bench/edition4.ts): `effect4-lean` (`streamBatches` on its `UndiciTransport.layer`), with
 *   `openai-sdk-node22` and `undici8-raw` (undici 8), all three on the Effect 4 edition's Node, which its ratios are
 *   taken against.
 *
 * Each (contender, size, round) runs in a fresh child process, so its peak RSS (`resourceUsage().maxRSS`) is its
 * own; the server lives in another process. Rounds interleave contenders and sizes.
 */
import { num, peakRssMiB, report, spawnWorker } from "./child.js"
import { baselinesOf, effect4Contenders, isEffect4Contender, loadEffect4Clients } from "./edition4.js"
import { listBatchId } from "./servers.js"
import { fmt, max, median, min, ratio, rotate, table } from "./stats.js"
import { type Suite, verdict } from "./suite.js"

export const allContenders = [
  "effect-lean",
  "effect-undici",
  "effect-fetch",
  "effect-fetch-lean",
  "openai-sdk",
  "platform-floor",
  "lean-floor",
  "undici-raw",
  "fetch-raw",
  ...effect4Contenders
] as const
export type Contender = typeof allContenders[number]
const isContender = (name: string): name is Contender => allContenders.some((c) => c === name)

const apiKey = "sk-bench-not-a-real-key"
const pageSize = 100

/** Walks every batch under `baseUrl`; returns how many and the last id seen. */
type Walk = (baseUrl: string) => Promise<{ readonly count: number; readonly lastId: string }>

const makeEffectWalk = async (transport: "undici" | "lean" | "fetch" | "fetch-lean"): Promise<Walk> => {
  const [{ BatchApi, OpenAiConfig }, Layer, ManagedRuntime, Redacted, Stream] = await Promise.all([
    import("../src/index.js"),
    import("effect/Layer"),
    import("effect/ManagedRuntime"),
    import("effect/Redacted"),
    import("effect/Stream")
  ])
  const httpLayer = transport === "undici"
    ? (await import("@effect/platform-node/NodeHttpClient")).layerUndici
    : transport === "fetch"
    ? (await import("@effect/platform/FetchHttpClient")).layer
    : transport === "fetch-lean"
    ? (await import("../src/transport/FetchTransport.js")).layer
    : (await import("../src/transport/UndiciTransport.js")).layer
  return async (baseUrl) => {
    const runtime = ManagedRuntime.make(
      BatchApi.layer.pipe(
        Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl })),
        Layer.provide(httpLayer)
      )
    )
    let lastId = ""
    const count = await runtime.runPromise(
      Stream.runFold(BatchApi.streamBatches({ pageSize }), 0, (n, batch) => {
        lastId = batch.id
        return n + 1
      })
    )
    await runtime.dispose()
    return { count, lastId }
  }
}

interface RawPage {
  readonly data: ReadonlyArray<{ readonly id: string }>
  readonly has_more: boolean
}

/** @effect/platform's undici client walking the cursors with JSON.parse only: the ceiling of a library built on it. */
const makePlatformWalk = async (transport: "undici" | "lean"): Promise<Walk> => {
  const [HttpClient, HttpClientRequest, Effect, ManagedRuntime] = await Promise.all([
    import("@effect/platform/HttpClient"),
    import("@effect/platform/HttpClientRequest"),
    import("effect/Effect"),
    import("effect/ManagedRuntime")
  ])
  const httpLayer = transport === "undici"
    ? (await import("@effect/platform-node/NodeHttpClient")).layerUndici
    : (await import("../src/transport/UndiciTransport.js")).layer
  const headers = { authorization: `Bearer ${apiKey}`, accept: "application/json" }
  return async (baseUrl) => {
    const runtime = ManagedRuntime.make(httpLayer)
    const client = HttpClient.withTracerDisabledWhen(await runtime.runPromise(HttpClient.HttpClient), () => true)
    const walk = Effect.gen(function*() {
      let count = 0
      let lastId = ""
      let after: string | undefined
      for (;;) {
        const url = `${baseUrl}/batches?limit=${pageSize}${after === undefined ? "" : `&after=${after}`}`
        const response = yield* client.execute(HttpClientRequest.get(url, { headers }))
        const page: RawPage = JSON.parse(yield* response.text)
        count += page.data.length
        const last = page.data[page.data.length - 1]
        if (last !== undefined) lastId = last.id
        if (!page.has_more || last === undefined) return { count, lastId }
        after = last.id
      }
    })
    const result = await runtime.runPromise(walk)
    await runtime.dispose()
    return result
  }
}

const makeSdkWalk = async (): Promise<Walk> => {
  const { default: OpenAI } = await import("openai")
  return async (baseUrl) => {
    const client = new OpenAI({ apiKey, baseURL: baseUrl, maxRetries: 0 })
    let count = 0
    let lastId = ""
    for await (const batch of client.batches.list({ limit: pageSize })) {
      lastId = batch.id
      count++
    }
    return { count, lastId }
  }
}

/** One page's status and text: undici's `request` or the global `fetch`. */
type Get = (url: string, headers: Record<string, string>) => Promise<{ readonly status: number; readonly text: string }>

const undiciGet = async (): Promise<Get> => {
  const { request } = await import("undici")
  return async (url, headers) => {
    const response = await request(url, { headers })
    return { status: response.statusCode, text: await response.body.text() }
  }
}

const fetchGet: Get = async (url, headers) => {
  const response = await fetch(url, { headers })
  return { status: response.status, text: await response.text() }
}

const makeRawWalk = async (get: Get): Promise<Walk> => {
  const headers = { authorization: `Bearer ${apiKey}`, accept: "application/json" }
  return async (baseUrl) => {
    let count = 0
    let lastId = ""
    let after: string | undefined
    for (;;) {
      const url = `${baseUrl}/batches?limit=${pageSize}${after === undefined ? "" : `&after=${after}`}`
      const { status, text } = await get(url, headers)
      if (status !== 200) throw new Error(`status ${status}: ${text}`)
      const page: RawPage = JSON.parse(text)
      count += page.data.length
      const last = page.data[page.data.length - 1]
      if (last !== undefined) lastId = last.id
      if (!page.has_more || last === undefined) return { count, lastId }
      after = last.id
    }
  }
}

const makeWalk = async (contender: Contender): Promise<Walk> => {
  switch (contender) {
    case "effect-undici":
      return makeEffectWalk("undici")
    case "effect-lean":
      return makeEffectWalk("lean")
    case "effect-fetch":
      return makeEffectWalk("fetch")
    case "effect-fetch-lean":
      return makeEffectWalk("fetch-lean")
    case "openai-sdk":
      return makeSdkWalk()
    case "platform-floor":
      return makePlatformWalk("undici")
    case "lean-floor":
      return makePlatformWalk("lean")
    case "undici-raw":
      return makeRawWalk(await undiciGet())
    case "fetch-raw":
      return makeRawWalk(fetchGet)
    case "openai-sdk-node22":
      return makeSdkWalk()
    case "effect4-lean":
    case "undici8-raw":
      return (await loadEffect4Clients()).makeWalk(contender, pageSize)
  }
}

const baseUrlFor = (origin: string, size: number) => `${origin}/n${size}/v1`

/** The client child: warm up on a small account, then walk the measured one once. */
export const clientMain = async (args: ReadonlyArray<string>): Promise<void> => {
  const [name, origin, sizeArg, warmupArg] = args
  if (name === undefined || !isContender(name) || origin === undefined || sizeArg === undefined) {
    throw new Error(`usage: stream <${allContenders.join("|")}> <origin> <size> <warmupSize>`)
  }
  const size = Number(sizeArg)
  const warmupSize = Number(warmupArg ?? "2000")
  const walk = await makeWalk(name)
  const check = (result: { readonly count: number; readonly lastId: string }, expected: number) => {
    if (result.count !== expected || result.lastId !== listBatchId(expected - 1)) {
      throw new Error(`${name}: walked ${result.count} batches ending at ${result.lastId}, expected ${expected}`)
    }
  }
  check(await walk(baseUrlFor(origin, warmupSize)), warmupSize)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await walk(baseUrlFor(origin, size))
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  check(result, size)
  report({ type: "result", count: result.count, wallMs, cpuUs: cpu.user + cpu.system, peakRssMiB: peakRssMiB() })
  setTimeout(() => process.exit(0), 50)
}

interface Sample {
  readonly batchesPerSec: number
  readonly cpuUsPerBatch: number
  readonly peakRssMiB: number
}

export const suite: Suite = {
  name: "stream",
  description: "stream every batch of 10,000 and 100,000, page size 100 (issue 4 item 1)",
  run: async ({ compiledWorker, effect4Node, log, options, origin }) => {
    // The Effect 4 edition's contenders need its Node; without one they are left out.
    const contenders = allContenders.filter((c) => effect4Node !== undefined || !isEffect4Contender(c))
    const rounds = options.rounds ?? (options.quick ? 1 : 3)
    const sizes = options.quick ? [2_000, 10_000] : [10_000, 100_000]
    const warmupSize = options.quick ? 500 : 2_000
    log(
      `stream: ${rounds} rounds of ${contenders.length} contenders x sizes ${
        sizes.map((s) => fmt(s)).join(", ")
      }, page size ${pageSize}; each run in a fresh child process after a warm-up walk of ${fmt(warmupSize)} batches`
    )
    const samples = new Map<string, Array<Sample>>()
    let turn = 0
    for (let round = 0; round < rounds; round++) {
      for (const size of sizes) {
        for (const contender of rotate(contenders, turn++)) {
          const child = spawnWorker("stream", [contender, origin, String(size), String(warmupSize)], {
            compiledWorker,
            node: isEffect4Contender(contender) ? effect4Node?.path : undefined,
            profileName: options.profile ? `stream-${contender}-${size}-r${round + 1}` : undefined
          })
          const result = await child.next("result")
          await child.exited
          const count = num(result, "count")
          const key = `${size}|${contender}`
          const list = samples.get(key) ?? []
          list.push({
            batchesPerSec: count / (num(result, "wallMs") / 1000),
            cpuUsPerBatch: num(result, "cpuUs") / count,
            peakRssMiB: num(result, "peakRssMiB")
          })
          samples.set(key, list)
        }
      }
      log(`  round ${round + 1}/${rounds} done`)
    }
    const stat = (size: number, contender: Contender) => {
      const list = samples.get(`${size}|${contender}`) ?? []
      return {
        rate: median(list.map((s) => s.batchesPerSec)),
        minRate: min(list.map((s) => s.batchesPerSec)),
        maxRate: max(list.map((s) => s.batchesPerSec)),
        cpu: median(list.map((s) => s.cpuUsPerBatch)),
        rss: median(list.map((s) => s.peakRssMiB)),
        rssMax: max(list.map((s) => s.peakRssMiB))
      }
    }
    const verdicts: Array<string> = []
    for (const size of sizes) {
      const sdk = stat(size, "openai-sdk")
      log()
      log(
        `stream, ${
          fmt(size)
        } batches (medians of ${rounds} rounds; ratios against the SDK and undici-raw on the same Node)`
      )
      log(table(
        [
          "contender",
          "node",
          "batches/s",
          "min..max batches/s",
          "client CPU us/batch",
          "vs SDK",
          "vs floor",
          "peak RSS MiB",
          "max peak RSS MiB"
        ],
        contenders.map((contender) => {
          const s = stat(size, contender)
          const baselines = baselinesOf(contender)
          const sdk = stat(size, baselines.sdk)
          const floor = stat(size, baselines.floor)
          return [
            contender,
            isEffect4Contender(contender) ? `v${effect4Node?.version ?? "?"}` : process.version,
            fmt(s.rate),
            `${fmt(s.minRate)}..${fmt(s.maxRate)}`,
            fmt(s.cpu, 2),
            ratio(s.rate / sdk.rate),
            ratio(s.rate / floor.rate),
            fmt(s.rss, 1),
            fmt(s.rssMax, 1)
          ]
        })
      ))
      for (const contender of ["effect-lean", "effect-undici", "effect-fetch", "effect-fetch-lean"] as const) {
        const ours = stat(size, contender)
        verdicts.push(
          verdict(
            ours.rate / sdk.rate >= 2,
            `${fmt(size)}: ${contender} ${ratio(ours.rate / sdk.rate)} the SDK's batches/s (goal >= 2.00x)`
          )
        )
      }
      // The same goal for the Effect 4 edition (issue 17), against the SDK on its own Node.
      if (effect4Node !== undefined) {
        const v4 = stat(size, "effect4-lean")
        const v4Sdk = stat(size, "openai-sdk-node22")
        verdicts.push(
          verdict(
            v4.rate / v4Sdk.rate >= 2,
            `${fmt(size)}: effect4-lean ${ratio(v4.rate / v4Sdk.rate)} openai-sdk-node22's batches/s (goal >= 2.00x)`
          )
        )
        verdicts.push(
          `info  ${fmt(size)}: effect4-lean / effect-lean: CPU per batch ${
            ratio(v4.cpu / stat(size, "effect-lean").cpu)
          }, undici8-raw ${ratio(stat(size, "undici8-raw").rate / v4Sdk.rate)} openai-sdk-node22's batches/s`
        )
      }
    }
    const [small, large] = sizes
    if (small !== undefined && large !== undefined) {
      log()
      log(`stream, peak RSS growth from ${fmt(small)} to ${fmt(large)} batches (median peak RSS)`)
      log(table(
        ["contender", `peak RSS ${fmt(small)}`, `peak RSS ${fmt(large)}`, "ratio"],
        contenders.map((contender) => {
          const a = stat(small, contender).rss
          const b = stat(large, contender).rss
          return [contender, fmt(a, 1), fmt(b, 1), ratio(b / a)]
        })
      ))
      const grown = ["effect-lean", "effect-undici", "effect-fetch", "effect-fetch-lean", "effect4-lean"] as const
      for (const contender of grown.filter((c) => contenders.some((d) => d === c))) {
        const growth = stat(large, contender).rss / stat(small, contender).rss
        verdicts.push(
          verdict(
            growth <= 1.2,
            `${contender} peak RSS ${fmt(large)} / ${fmt(small)} = ${ratio(growth)} (goal <= 1.20x)`
          )
        )
      }
    }
    log()
    log("stream goals")
    for (const line of verdicts) log(`  ${line}`)
  }
}
