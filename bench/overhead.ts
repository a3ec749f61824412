/**
 * `npx tsx bench/overhead.ts`: where this library's own CPU goes, over an in-process fake transport (no network,
 * no server), so that only the library's layers are measured. A diagnostic for src/ work, not a suite.
 *
 * - retrieve: the fake transport alone, then adding parse + decode, the per-attempt timeout, the whole pipeline,
 *   and the whole operation.
 * - stream: JSON.parse of list pages, + the fast decode, `listBatches` page by page, `streamBatches`, and the
 *   Stream machinery alone.
 *
 * Medians of 5 runs; each block runs once unmeasured first (JIT warm-up, which otherwise favours later blocks).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Batch from "../src/Batch.js"
import { BatchApi, OpenAiConfig } from "../src/index.js"
import * as Decoder from "../src/internal/decoder.js"
import * as Http from "../src/internal/http/pipeline.js"
import * as Timeout from "../src/internal/http/timeout.js"
import { fixtureBody, listPage, retrieveBatchId } from "./servers.js"
import { median } from "./stats.js"

process.setSourceMapsEnabled(false)
const total = 20_000
const pageSize = 100
const baseUrl = "http://127.0.0.1:1/v1"

// Pages are generated once, so that the fake's own work is only wrapping a string in a Response.
const pageCache = new Map<string, string>()
const pageAfter = (after: string | null) => {
  const key = after ?? ""
  const cached = pageCache.get(key)
  if (cached !== undefined) return cached
  const generated = String(listPage(total, pageSize, after))
  pageCache.set(key, generated)
  return generated
}
const client = HttpClient.make((request, url) =>
  Effect.succeed(HttpClientResponse.fromWeb(
    request,
    new Response(
      url.pathname.endsWith("/batches")
        ? pageAfter(url.searchParams.get("after"))
        : fixtureBody.toString("utf8"),
      { status: 200 }
    )
  ))
)
const runtime = ManagedRuntime.make(
  BatchApi.layer.pipe(
    Layer.provideMerge(OpenAiConfig.layer({ apiKey: Redacted.make("sk-bench-not-a-real-key"), baseUrl })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
  )
)
const config = await runtime.runPromise(OpenAiConfig.OpenAiConfig)
const api = await runtime.runPromise(BatchApi.BatchApi)
const pipeline = Http.make(config, client, Option.none())
const decodeBatch = Decoder.make(Batch.Batch)
const decodePage = Decoder.make(Batch.BatchPage)

const measure = async (name: string, per: number, run: () => Promise<unknown>) => {
  await run()
  const samples: Array<number> = []
  for (let i = 0; i < 5; i++) {
    const start = process.cpuUsage()
    await run()
    const used = process.cpuUsage(start)
    samples.push((used.user + used.system) / per)
  }
  console.log(`${name.padEnd(52)} ${median(samples).toFixed(2).padStart(8)} us`)
}
const repeat = <A, E>(times: number, effect: Effect.Effect<A, E>) =>
  runtime.runPromise(Effect.forEach(Array.from({ length: times }), () => effect, { discard: true }))

console.log("retrieve: CPU per call over an in-process fake transport")
const calls = 20_000
const request = HttpClientRequest.get(`${baseUrl}/batches/${retrieveBatchId}`)
const executeText = Effect.flatMap(client.execute(request), (response) => response.text)
await measure("fake transport: execute + text", calls, () => repeat(calls, executeText))
await measure(
  "  + JSON.parse + fast decode",
  calls,
  () => repeat(calls, Effect.map(executeText, (text) => decodeBatch(JSON.parse(text))))
)
await measure(
  "  + the per-attempt timeout (live clock)",
  calls,
  () => repeat(calls, Timeout.timeoutFail(executeText, Duration.seconds(60), () => "timeout"))
)
await measure(
  "pipeline.request (all of the above, errors mapped)",
  calls,
  () =>
    repeat(
      calls,
      Effect.suspend(() =>
        pipeline.request(
          { operation: "retrieveBatch", method: "GET", path: `/batches/${retrieveBatchId}` },
          decodeBatch
        )
      )
    )
)
await measure(
  "BatchApi.retrieveBatch (span, id check, retry wrapper)",
  calls,
  () => repeat(calls, api.retrieveBatch(retrieveBatchId))
)

console.log(`\nstream: CPU per batch, ${total} batches in pages of ${pageSize}`)
const listRequest = HttpClientRequest.get(`${baseUrl}/batches?limit=100`)
await measure(
  "fake transport: execute + text of each page",
  total,
  () => repeat(total / pageSize, Effect.flatMap(client.execute(listRequest), (response) => response.text))
)
const page = String(listPage(total, pageSize, null))
const pages = total / pageSize
await measure("JSON.parse of the pages", total, async () => {
  for (let i = 0; i < pages; i++) JSON.parse(page)
})
await measure("  + fast decode of each page", total, async () => {
  for (let i = 0; i < pages; i++) decodePage(JSON.parse(page))
})
await measure("listBatches page by page (fake transport)", total, () =>
  runtime.runPromise(Effect.gen(function*() {
    let after: string | undefined
    for (;;) {
      const result = yield* api.listBatches(after === undefined ? { limit: pageSize } : { limit: pageSize, after })
      const last = result.data[result.data.length - 1]
      if (!result.has_more || last === undefined) return
      after = last.id
    }
  })))
await measure(
  "streamBatches, runFold (fake transport)",
  total,
  () => runtime.runPromise(Stream.runFold(BatchApi.streamBatches({ pageSize }), 0, (n) => n + 1))
)
await measure("the Stream machinery alone (chunks of 100, runFold)", total, () =>
  runtime.runPromise(Stream.runFold(
    Stream.fromIterable(
      Array.from({ length: pages }, () => Chunk.unsafeFromArray(Array.from({ length: pageSize }, (_, i) => i)))
    )
      .pipe(Stream.flattenChunks),
    0,
    (n) => n + 1
  )))
await runtime.dispose()
