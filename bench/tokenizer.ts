/**
 * `npx tsx bench/tokenizer.ts`: what the exact token count (`effect-openai-batch/tokenizer`, on `gpt-tokenizer`)
 * costs beside the default estimate (`TokenEstimate.estimateTokens`): the time and memory to load it, and the time per
 * request of each on 1 KB chat requests. Figures go to bench/RESULTS.md.
 */
import { performance } from "node:perf_hooks"
import * as BatchLine from "../src/BatchLine.js"
import * as TokenEstimate from "../src/TokenEstimate.js"

const words = "the quick brown fox jumps over the lazy dog while the batch runs overnight and costs half ".split(" ")
const text = (i: number) => {
  let out = `${i} `
  while (out.length < 1000) out += words[(out.length * 7 + i) % words.length] + " "
  return out.slice(0, 1000)
}
const requests = Array.from({ length: 5_000 }, (_, i) =>
  BatchLine.chatCompletion(`q-${i}`, {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: text(i) }],
    max_tokens: 100
  }))

const perRequest = (estimate: (request: BatchLine.BatchRequestInput) => number) => {
  for (let i = 0; i < 500; i++) estimate(requests[i]!) // warm-up
  const rounds: Array<number> = []
  for (let round = 0; round < 5; round++) {
    const start = performance.now()
    for (const request of requests) estimate(request)
    rounds.push(((performance.now() - start) * 1000) / requests.length)
  }
  rounds.sort((a, b) => a - b)
  return rounds[2]!
}

const rss = () => process.memoryUsage().rss / 1024 / 1024
const defaultMicros = perRequest((request) => TokenEstimate.estimateTokens(request))
global.gc?.()
const before = rss()
const loadStart = performance.now()
const Tokenizer = await import("../src/tokenizer/index.js")
const exact = Tokenizer.estimator()
exact(requests[0]!) // the first count loads the encoding's tables
const loadMs = performance.now() - loadStart
const after = rss()
const exactMicros = perRequest(exact)
console.log(`default estimate: ${defaultMicros.toFixed(2)} µs per 1 KB chat request (median of 5 rounds of 5,000)`)
console.log(`tokenizer: loaded in ${loadMs.toFixed(0)} ms, RSS +${(after - before).toFixed(1)} MiB`)
console.log(
  `tokenizer: ${exactMicros.toFixed(2)} µs per 1 KB chat request, ${
    (exactMicros / defaultMicros).toFixed(1)
  }x the default`
)
