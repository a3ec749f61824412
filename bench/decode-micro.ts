/**
 * `npx tsx bench/decode-micro.ts [n]`: CPU µs per decode of the retrieve fixture and per batch of a 100-batch page,
 * with this checkout's decoder (src/internal/decoder.ts) and Schema's own; the inputs are parsed once.
 */
import * as ParseResult from "effect/ParseResult"
import * as Batch from "../src/Batch.js"
import * as Decoder from "../src/internal/decoder.js"
import { fixtureBody, listPage } from "./servers.js"
import { median } from "./stats.js"

process.setSourceMapsEnabled(false)
const n = Number(process.argv[2] ?? "200000")
const fixture: unknown = JSON.parse(fixtureBody.toString("utf8"))
const page: unknown = JSON.parse(String(listPage(100, 100, null)))
const fastBatch = Decoder.make(Batch.Batch)
const fastPage = Decoder.make(Batch.BatchPage)
const schemaBatch = ParseResult.decodeUnknownEither(Batch.Batch, { onExcessProperty: "preserve" })
const run = (name: string, per: number, times: number, f: () => unknown) => {
  for (let i = 0; i < times / 10; i++) f()
  const samples: Array<number> = []
  for (let r = 0; r < 5; r++) {
    const t0 = process.cpuUsage()
    for (let i = 0; i < times; i++) f()
    const t = process.cpuUsage(t0)
    samples.push((t.user + t.system) / (times * per))
  }
  console.log(`${name.padEnd(40)} ${median(samples).toFixed(3)} µs`)
}
run("Batch, compiled decoder", 1, n, () => fastBatch(fixture))
run("Batch page (per batch), compiled decoder", 100, n / 100, () => fastPage(page))
run("Batch, Schema's decodeUnknownEither", 1, n / 10, () => schemaBatch(fixture))
