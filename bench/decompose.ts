/**
 * `npx tsx bench/decompose.ts [calls]`: where the per-call CPU of `retrieveBatch` goes, layer by layer, and what
 * Schema decoding of one Batch costs in different schema shapes. A diagnostic for src/ work, not a suite: each
 * variant runs sequential calls against the benchmark server (own process), interleaved over 5 rounds; the median
 * client CPU microseconds per call are printed.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import OpenAI from "openai"
import { request } from "undici"
import * as B from "../src/Batch.js"
import { BatchApi, BatchSchedule, OpenAiConfig } from "../src/index.js"
import * as Decoder from "../src/internal/decoder.js"
import * as Http from "../src/internal/http/pipeline.js"
import { num, spawnWorker } from "./child.js"
import { fixtureBody, retrieveBatchId } from "./servers.js"
import { median } from "./stats.js"

process.setSourceMapsEnabled(false)
const calls = Number(process.argv[2] ?? "1500")
const rounds = 5

const measure = async (variants: ReadonlyArray<readonly [string, () => Promise<unknown>]>, per: number) => {
  for (const [, run] of variants) await run()
  const samples = new Map<string, Array<number>>()
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of variants) {
      const cpu0 = process.cpuUsage()
      await run()
      const cpu = process.cpuUsage(cpu0)
      samples.set(name, [...(samples.get(name) ?? []), (cpu.user + cpu.system) / per])
    }
  }
  for (const [name, list] of samples) console.log(`${name.padEnd(66)} ${median(list).toFixed(1).padStart(7)} us`)
}

const server = spawnWorker("server", [])
const baseUrl = `http://127.0.0.1:${num(await server.next("listening"), "port")}/v1`
const url = `${baseUrl}/batches/${retrieveBatchId}`
const config = OpenAiConfig.layer({ apiKey: Redacted.make("sk-bench-not-a-real-key"), baseUrl })
const deps = Layer.merge(NodeHttpClient.layerUndici, config)
const runtime = ManagedRuntime.make(Layer.merge(deps, BatchApi.layer.pipe(Layer.provide(deps))))
const client = await runtime.runPromise(HttpClient.HttpClient)
const api = await runtime.runPromise(BatchApi.BatchApi)
const pipeline = Http.make(await runtime.runPromise(OpenAiConfig.OpenAiConfig), client, Option.none())
const decodeBatch = ParseResult.decodeUnknownEither(B.Batch)
const fastDecodeBatch = Decoder.make(B.Batch)
const sdk = new OpenAI({ apiKey: "sk-bench-not-a-real-key", baseURL: baseUrl, maxRetries: 0 })
const prebuilt = HttpClientRequest.get(url)
const effects = <A, E>(make: () => Effect.Effect<A, E>) => () =>
  runtime.runPromise(Effect.forEach(Array.from({ length: calls }), make, { discard: true }))
const promises = (make: () => Promise<unknown>) => async () => {
  for (let i = 0; i < calls; i++) await make()
}
const text = (response: { readonly text: Effect.Effect<string, unknown> }) => response.text

console.log(`client CPU us per retrieve call, medians of ${rounds} interleaved rounds of ${calls} sequential calls`)
await measure([
  ["undici request + JSON.parse (floor)", promises(async () => JSON.parse(await (await request(url)).body.text()))],
  [
    "undici request + JSON.parse + Schema decode Batch",
    promises(async () => decodeBatch(JSON.parse(await (await request(url)).body.text())))
  ],
  ["openai SDK batches.retrieve", promises(() => sdk.batches.retrieve(retrieveBatchId))],
  [
    "@effect/platform execute + text (NodeHttpClient.layerUndici)",
    effects(() => Effect.flatMap(client.execute(prebuilt), text))
  ],
  [
    "  + JSON.parse + Schema decode Batch",
    effects(() =>
      Effect.flatMap(client.execute(prebuilt), (r) => Effect.map(r.text, (t) => decodeBatch(JSON.parse(t))))
    )
  ],
  [
    "  + Effect.timeoutFail",
    effects(() =>
      Effect.timeoutFail(Effect.flatMap(client.execute(prebuilt), text), {
        duration: 60_000,
        onTimeout: () => "timeout"
      })
    )
  ],
  [
    "src pipeline.request(GET, Batch)",
    effects(() =>
      pipeline.request(
        { operation: "retrieveBatch", method: "GET", path: `/batches/${retrieveBatchId}` },
        fastDecodeBatch
      )
    )
  ],
  [
    "BatchApi.retrieveBatch, retry: noRetry",
    effects(() => api.retrieveBatch(retrieveBatchId).pipe(BatchSchedule.withRetry(BatchSchedule.noRetry)))
  ],
  ["BatchApi.retrieveBatch (default retry)", effects(() => api.retrieveBatch(retrieveBatchId))]
], calls)

const fixture: unknown = JSON.parse(fixtureBody.toString("utf8"))
const nullable = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))
const PlainBatch = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("batch"),
  endpoint: B.BatchEndpoint,
  model: nullable(Schema.String),
  errors: nullable(Schema.Struct({
    object: nullable(Schema.String),
    data: nullable(Schema.Array(Schema.Struct({
      code: nullable(Schema.String),
      message: nullable(Schema.String),
      param: nullable(Schema.String),
      line: nullable(Schema.Number)
    })))
  })),
  input_file_id: Schema.String,
  completion_window: Schema.String,
  status: B.BatchStatus,
  output_file_id: nullable(Schema.String),
  error_file_id: nullable(Schema.String),
  created_at: Schema.Number,
  in_progress_at: nullable(Schema.Number),
  expires_at: nullable(Schema.Number),
  finalizing_at: nullable(Schema.Number),
  completed_at: nullable(Schema.Number),
  failed_at: nullable(Schema.Number),
  expired_at: nullable(Schema.Number),
  cancelling_at: nullable(Schema.Number),
  cancelled_at: nullable(Schema.Number),
  request_counts: nullable(Schema.Struct({ total: Schema.Number, completed: Schema.Number, failed: Schema.Number })),
  usage: nullable(Schema.Struct({
    input_tokens: Schema.Number,
    input_tokens_details: Schema.Struct({ cached_tokens: Schema.Number }),
    output_tokens: Schema.Number,
    output_tokens_details: Schema.Struct({ reasoning_tokens: Schema.Number }),
    total_tokens: Schema.Number
  })),
  metadata: nullable(Schema.Record({ key: Schema.String, value: Schema.String }))
})
const decodes = 50_000
const loop = (decode: (u: unknown) => unknown) => async () => {
  for (let i = 0; i < decodes; i++) decode(fixture)
}
console.log()
console.log(`CPU us per decode of the fixture Batch (already parsed), medians of ${rounds} rounds of ${decodes}`)
await measure([
  ["src Batch (Schema.Class, optionalWith nullable)", loop(ParseResult.decodeUnknownEither(B.Batch))],
  ["Schema.Struct(Batch.fields) (no class)", loop(ParseResult.decodeUnknownEither(Schema.Struct(B.Batch.fields)))],
  ["Struct with optional(NullOr(..)) (no transformations)", loop(ParseResult.decodeUnknownEither(PlainBatch))],
  ["Schema.is(that Struct) (validate only)", loop(Schema.is(PlainBatch))]
], decodes)

await runtime.dispose()
server.send({ type: "exit" })
await server.exited
