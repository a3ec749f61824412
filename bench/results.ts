/**
 * Suite `results` (issue 5, item 7): a batch's results files of 20 MB and 200 MB, streamed from the loopback server.
 *
 * Contenders:
 * - `effect-undici`: this library, `BatchResults.stream(batch)` (output file, then error file) folded to counts per
 *   result tag, over `OpenAiFiles.layer` on `NodeHttpClient.layerUndici`; every line is decoded with Schema into
 *   `Succeeded | FailedResponse | Errored`;
 * - `undici-raw`: the floor, undici `request` on the same two URLs, the body split into lines and `JSON.parse`d, the
 *   same counts taken from the parsed objects (no validation).
 *
 * The files are realistic `BatchRequestOutput` lines from a seeded generator (bench/resultsData.ts), written once into
 * `os.tmpdir()` and reused by later runs (never committed); the server streams them from disk, so its own work per
 * byte is small and the same for both contenders.
 *
 * The clients run from COMPILED JavaScript, not under tsx: tsx and its loader alone cost ~180 MB of RSS, more than
 * the goal. The suite transpiles src/ and the bench modules of a client with esbuild (unbundled, one .js per .ts, as `tsc` would emit them)
 * into a temporary directory and runs `node <tmp>/bench/worker.js results ...`; both contenders run from there.
 *
 * Each (contender, size, round) runs in a fresh child process, so its peak RSS is its own. Rounds interleave
 * contenders and sizes.
 */
import { num, peakRssMiB, receive, report, spawnWorker } from "./child.js"
import { type FileSummary, generate, generatorVersion, resultsDir, resultsFileId } from "./resultsData.js"
import { fmt, max, median, min, ratio, rotate, table } from "./stats.js"
import { type Suite, verdict } from "./suite.js"

// ---------------------------------------------------------------------------------------------------------------
// The clients
// ---------------------------------------------------------------------------------------------------------------

export const clients = ["effect-lean", "effect-undici", "effect-fetch", "undici-raw", "fetch-raw"] as const
export type Client = typeof clients[number]
const isClient = (name: string): name is Client => clients.some((c) => c === name)

/** A measured configuration: a client and the Node options of its process. */
interface Contender {
  readonly name: string
  readonly client: Client
  readonly nodeArgs: ReadonlyArray<string>
}

/**
 * The goals are judged on `effect-undici` with Node's default flags. The flagged runs of the same client show what
 * V8's heap settings do to its peak RSS (and cost in throughput): they are reported, never used for a verdict.
 * - `old=64` caps the old generation, so full GCs come sooner;
 * - `semi=4` caps each young-generation semi-space at 4 MB (V8's default grows them to 16 MB);
 * - `no-pretenure` turns off allocation-site pretenuring: in some runs V8 decides that the per-line objects
 *   outlive the young generation, allocates them in old space, and the old space then fills with short-lived
 *   lines until a full GC (peak RSS ~200 MiB instead of ~150 in those runs; see bench/RESULTS.md).
 */
export const contenders: ReadonlyArray<Contender> = [
  { name: "effect-lean", client: "effect-lean", nodeArgs: [] },
  { name: "effect-undici", client: "effect-undici", nodeArgs: [] },
  { name: "effect-fetch", client: "effect-fetch", nodeArgs: [] },
  { name: "effect-lean semi=4", client: "effect-lean", nodeArgs: ["--max-semi-space-size=4"] },
  { name: "effect-lean no-pretenure", client: "effect-lean", nodeArgs: ["--no-allocation-site-pretenuring"] },
  { name: "undici-raw", client: "undici-raw", nodeArgs: [] },
  { name: "fetch-raw", client: "fetch-raw", nodeArgs: [] }
]

const apiKey = "sk-bench-not-a-real-key"

interface Counts {
  lines: number
  succeeded: number
  failed: number
  errored: number
}

const emptyCounts = (): Counts => ({ lines: 0, succeeded: 0, failed: 0, errored: 0 })

/** Reads a batch's output file and then its (optional) error file; returns the counts per result kind. */
type Read = (outputFileId: string, errorFileId: string | undefined) => Promise<Counts>

const makeEffectRead = async (origin: string, transport: "lean" | "undici" | "fetch"): Promise<Read> => {
  const [{ Batch, BatchResults, OpenAiConfig, OpenAiFiles }, Layer, ManagedRuntime, Redacted, Schema, Stream] =
    await Promise.all([
      import("../src/index.js"),
      import("effect/Layer"),
      import("effect/ManagedRuntime"),
      import("effect/Redacted"),
      import("effect/Schema"),
      import("effect/Stream")
    ])
  // Only the transport measured is imported: the others' modules would count in this process's RSS.
  const httpLayer = transport === "lean"
    ? (await import("../src/transport/UndiciTransport.js")).layer
    : transport === "undici"
    ? (await import("@effect/platform-node/NodeHttpClient")).layerUndici
    : (await import("@effect/platform/FetchHttpClient")).layer
  const runtime = ManagedRuntime.make(
    OpenAiFiles.layer.pipe(
      Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl: `${origin}/v1` })),
      Layer.provide(httpLayer)
    )
  )
  const decodeBatch = Schema.decodeUnknownSync(Batch.Batch)
  return (outputFileId, errorFileId) => {
    // A completed batch as `retrieveBatch` would return it, pointing at the server's generated files.
    const batch = decodeBatch({
      id: "batch_results_bench",
      object: "batch",
      endpoint: "/v1/chat/completions",
      errors: null,
      input_file_id: "file-input",
      completion_window: "24h",
      status: "completed",
      output_file_id: outputFileId,
      error_file_id: errorFileId ?? null,
      created_at: 1_760_000_000,
      completed_at: 1_760_003_600
    })
    return runtime.runPromise(
      Stream.runFold(BatchResults.stream(batch), emptyCounts(), (counts, result) => {
        counts.lines++
        if (result._tag === "Succeeded") counts.succeeded++
        else if (result._tag === "FailedResponse") counts.failed++
        else counts.errored++
        return counts
      })
    )
  }
}

interface RawLine {
  readonly response: { readonly status_code: number } | null
  readonly error: unknown
}

/** The body's chunks: undici's `request` (a Node Readable) or the global `fetch` (a web ReadableStream). */
type Open = (url: string, headers: Record<string, string>) => Promise<AsyncIterable<unknown>>

const undiciOpen = async (): Promise<Open> => {
  const { request } = await import("undici")
  return async (url, headers) => {
    const response = await request(url, { headers })
    if (response.statusCode !== 200) {
      throw new Error(`${url}: status ${response.statusCode}: ${await response.body.text()}`)
    }
    return response.body
  }
}

async function* webChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  for (;;) {
    const next = await reader.read()
    if (next.done) return
    yield next.value
  }
}

const fetchOpen: Open = async (url, headers) => {
  const response = await fetch(url, { headers })
  if (response.status !== 200 || response.body === null) {
    throw new Error(`${url}: status ${response.status}: ${await response.text()}`)
  }
  return webChunks(response.body)
}

const makeRawRead = async (origin: string, open: Open): Promise<Read> => {
  const headers = { authorization: `Bearer ${apiKey}` }
  const readFile = async (fileId: string, counts: Counts) => {
    const body = await open(`${origin}/v1/files/${fileId}/content`, headers)
    const decoder = new TextDecoder()
    let pending = ""
    const line = (text: string) => {
      if (text.length === 0) return
      const parsed: RawLine = JSON.parse(text)
      counts.lines++
      if (parsed.error !== null) counts.errored++
      else if (parsed.response !== null && parsed.response.status_code >= 200 && parsed.response.status_code < 300) {
        counts.succeeded++
      } else counts.failed++
    }
    for await (const chunk of body) {
      if (!(chunk instanceof Uint8Array)) throw new Error("a body chunk is not bytes")
      const text = pending + decoder.decode(chunk, { stream: true })
      let start = 0
      let newline = text.indexOf("\n")
      while (newline !== -1) {
        line(text.slice(start, newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline))
        start = newline + 1
        newline = text.indexOf("\n", start)
      }
      pending = text.slice(start)
    }
    line(pending + decoder.decode())
  }
  return async (outputFileId, errorFileId) => {
    const counts = emptyCounts()
    await readFile(outputFileId, counts)
    if (errorFileId !== undefined) await readFile(errorFileId, counts)
    return counts
  }
}

/**
 * The client child: `results <contender> <origin> <outputBytes> <errorBytes> <warmupBytes>`. Warms up on the small
 * output file, reports `ready` (with its RSS so far), waits for `go`, reads the measured files once, and reports
 * the counts, wall time, CPU and peak RSS.
 */
export const clientMain = async (args: ReadonlyArray<string>): Promise<void> => {
  const [name, origin, outputArg, errorArg, warmupArg] = args
  if (name === undefined || !isClient(name) || origin === undefined || outputArg === undefined) {
    throw new Error(`usage: results <${clients.join("|")}> <origin> <outputBytes> <errorBytes> <warmupBytes>`)
  }
  const read = await (
    name === "effect-lean"
      ? makeEffectRead(origin, "lean")
      : name === "effect-undici"
      ? makeEffectRead(origin, "undici")
      : name === "effect-fetch"
      ? makeEffectRead(origin, "fetch")
      : name === "undici-raw"
      ? makeRawRead(origin, await undiciOpen())
      : makeRawRead(origin, fetchOpen)
  )
  const peakRssAfterImportMiB = peakRssMiB()
  const warmup = await read(resultsFileId("output", Number(warmupArg ?? "2000000")), undefined)
  const errorBytes = Number(errorArg ?? "0")
  report({
    type: "ready",
    warmupLines: warmup.lines,
    peakRssAfterImportMiB,
    peakRssAfterWarmupMiB: peakRssMiB()
  })
  if (process.send !== undefined) await receive()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const counts = await read(
    resultsFileId("output", Number(outputArg)),
    errorBytes > 0 ? resultsFileId("error", errorBytes) : undefined
  )
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  report({ type: "result", ...counts, wallMs, cpuUs: cpu.user + cpu.system, peakRssMiB: peakRssMiB() })
  setTimeout(() => process.exit(0), 50)
}

// ---------------------------------------------------------------------------------------------------------------
// Compiling the clients
// ---------------------------------------------------------------------------------------------------------------

/** The bench modules a results client imports (worker.ts loads only the role it runs). */
// ---------------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------------------------

interface Sample {
  readonly mbPerSec: number
  readonly linesPerSec: number
  readonly cpuUsPerLine: number
  readonly cpuSecPerGb: number
  readonly peakRssMiB: number
  readonly importRssMiB: number
  readonly warmRssMiB: number
  readonly serverCpuShare: number
}

const mb = 1_000_000
/** The RSS goal, 150 MB, in MiB (the unit of every RSS figure here). */
const rssGoalMiB = (150 * mb) / (1024 * 1024)
/** The library on each transport, judged against the raw floor of its own kind (undici's `request`, `fetch`). */
const judged = [
  { name: "effect-lean", floor: "undici-raw" },
  { name: "effect-undici", floor: "undici-raw" },
  { name: "effect-fetch", floor: "fetch-raw" }
] as const
const floorName = "undici-raw"

export const suite: Suite = {
  name: "results",
  description: "stream a 20 MB and a 200 MB batch results file through BatchResults.stream (issue 5 item 7)",
  run: async ({ compiledWorker, log, options, origin, serverCpuUs }) => {
    const rounds = options.rounds ?? (options.quick ? 1 : 3)
    const sizes = options.quick ? [2 * mb, 20 * mb] : [20 * mb, 200 * mb]
    const warmupBytes = options.quick ? mb / 2 : 2 * mb
    // The "small second file": 1% of the output file.
    const errorBytesOf = (size: number) => size / 100

    const t0 = performance.now()
    generate("output", warmupBytes)
    const expected = new Map<number, FileSummary>()
    for (const size of sizes) {
      const output = generate("output", size)
      const error = generate("error", errorBytesOf(size))
      expected.set(size, {
        version: generatorVersion,
        bytes: output.bytes + error.bytes,
        lines: output.lines + error.lines,
        succeeded: output.succeeded + error.succeeded,
        failed: output.failed + error.failed,
        errored: output.errored + error.errored
      })
    }
    const expectedOf = (size: number): FileSummary => {
      const e = expected.get(size)
      if (e === undefined) throw new Error(`no data for size ${size}`)
      return e
    }
    log(
      `results: data files in ${resultsDir} (generated or reused in ${((performance.now() - t0) / 1000).toFixed(1)} s)`
    )
    for (const size of sizes) {
      const e = expectedOf(size)
      log(
        `  ${fmt(size / mb)} MB + ${fmt(errorBytesOf(size) / mb, 1)} MB error file: ${fmt(e.bytes)} bytes, ${
          fmt(e.lines)
        } lines (${fmt(e.succeeded)} succeeded, ${fmt(e.failed)} failed 400, ${fmt(e.errored)} errored), ${
          fmt(e.bytes / e.lines)
        } bytes/line`
      )
    }
    log(
      `results: ${rounds} rounds of ${contenders.length} contenders x sizes ${
        sizes.map((s) => `${fmt(s / mb)} MB`).join(", ")
      }; each run in a fresh \`node [flags] <compiled>/bench/worker.js\` after a warm-up read of ${
        fmt(warmupBytes / mb, 1)
      } MB`
    )

    const samples = new Map<string, Array<Sample>>()
    {
      let turn = 0
      for (let round = 0; round < rounds; round++) {
        for (const size of sizes) {
          for (const contender of rotate(contenders, turn++)) {
            const child = spawnWorker(
              "results",
              [contender.client, origin, String(size), String(errorBytesOf(size)), String(warmupBytes)],
              {
                compiledWorker,
                nodeArgs: contender.nodeArgs,
                profileName: options.profile
                  ? `results-${contender.name.replace(/[^\w-]+/g, "_")}-${size / mb}MB-r${round + 1}`
                  : undefined
              }
            )
            const ready = await child.next("ready")
            const server0 = await serverCpuUs()
            child.send({ type: "go" })
            const result = await child.next("result")
            const serverUs = (await serverCpuUs()) - server0
            await child.exited
            const e = expectedOf(size)
            for (const key of ["lines", "succeeded", "failed", "errored"] as const) {
              if (num(result, key) !== e[key]) {
                throw new Error(`${contender.name} ${size}: ${key} = ${num(result, key)}, expected ${e[key]}`)
              }
            }
            const wallSec = num(result, "wallMs") / 1000
            const key = `${size}|${contender.name}`
            const list = samples.get(key) ?? []
            list.push({
              mbPerSec: e.bytes / mb / wallSec,
              linesPerSec: e.lines / wallSec,
              cpuUsPerLine: num(result, "cpuUs") / e.lines,
              cpuSecPerGb: num(result, "cpuUs") / 1e6 / (e.bytes / 1e9),
              peakRssMiB: num(result, "peakRssMiB"),
              importRssMiB: num(ready, "peakRssAfterImportMiB"),
              warmRssMiB: num(ready, "peakRssAfterWarmupMiB"),
              serverCpuShare: serverUs / 1e6 / wallSec
            })
            samples.set(key, list)
          }
        }
        log(`  round ${round + 1}/${rounds} done`)
      }
    }

    const stat = (size: number, name: string) => {
      const list = samples.get(`${size}|${name}`) ?? []
      const pick = (f: (s: Sample) => number) => list.map(f)
      return {
        mbs: median(pick((s) => s.mbPerSec)),
        minMbs: min(pick((s) => s.mbPerSec)),
        maxMbs: max(pick((s) => s.mbPerSec)),
        lines: median(pick((s) => s.linesPerSec)),
        cpuLine: median(pick((s) => s.cpuUsPerLine)),
        cpuGb: median(pick((s) => s.cpuSecPerGb)),
        rss: median(pick((s) => s.peakRssMiB)),
        rssMax: max(pick((s) => s.peakRssMiB)),
        importRss: median(pick((s) => s.importRssMiB)),
        warmRss: median(pick((s) => s.warmRssMiB)),
        server: median(pick((s) => s.serverCpuShare))
      }
    }
    const verdicts: Array<string> = []
    for (const size of sizes) {
      const floor = stat(size, floorName)
      log()
      log(
        `results, ${fmt(size / mb)} MB output + ${
          fmt(errorBytesOf(size) / mb, 1)
        } MB error file (medians of ${rounds} rounds)`
      )
      log(table(
        [
          "contender",
          "MB/s",
          "min..max MB/s",
          "lines/s",
          "CPU us/line",
          "CPU s/GB",
          "vs floor",
          "CPU vs floor",
          "RSS import",
          "RSS warm",
          "peak RSS",
          "max peak",
          "server CPU"
        ],
        contenders.map(({ name }) => {
          const s = stat(size, name)
          return [
            name,
            fmt(s.mbs, 1),
            `${fmt(s.minMbs, 1)}..${fmt(s.maxMbs, 1)}`,
            fmt(s.lines),
            fmt(s.cpuLine, 2),
            fmt(s.cpuGb, 2),
            ratio(s.mbs / floor.mbs),
            ratio(s.cpuLine / floor.cpuLine),
            fmt(s.importRss, 1),
            fmt(s.warmRss, 1),
            fmt(s.rss, 1),
            fmt(s.rssMax, 1),
            `${fmt(s.server * 100)}%`
          ]
        })
      ))
      for (const { floor: floorOf, name } of judged) {
        const s = stat(size, name)
        const own = stat(size, floorOf)
        verdicts.push(
          verdict(
            s.mbs / own.mbs >= 0.8,
            `${fmt(size / mb)} MB: ${name} ${ratio(s.mbs / own.mbs)} ${floorOf}'s MB/s (goal >= 0.80x; by client CPU ${
              ratio(own.cpuLine / s.cpuLine)
            }, steadier under load)`
          )
        )
        if (size === sizes[sizes.length - 1]) {
          verdicts.push(
            verdict(
              s.rssMax < rssGoalMiB,
              `${fmt(size / mb)} MB: ${name} peak RSS ${fmt(s.rss, 1)} MiB median, ${
                fmt(s.rssMax, 1)
              } max (goal < 150 MB = ${fmt(rssGoalMiB, 1)} MiB, default Node flags)`
            )
          )
        }
      }
    }
    log()
    log("CPU vs floor: client CPU per line over the floor's. RSS columns in MiB: the process's peak RSS after")
    log(
      "importing its modules, after the warm-up read, at the end. Server CPU: the server's CPU time / the read's wall."
    )
    const [small, large] = sizes
    if (small !== undefined && large !== undefined) {
      for (const { name } of judged) {
        const growth = stat(large, name).rss / stat(small, name).rss
        verdicts.push(
          verdict(
            growth <= 1.1,
            `${name} peak RSS ${fmt(large / mb)} MB / ${fmt(small / mb)} MB = ${ratio(growth)} (flat: goal <= 1.10x)`
          )
        )
      }
    }
    log()
    log("results goals (judged with default Node flags; the flagged runs are information only)")
    for (const line of verdicts) log(`  ${line}`)
  }
}
