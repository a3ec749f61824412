/**
 * Decoding a batch and its results file with the Effect 4 edition: the official Batch example and a few result
 * lines from the shared fixtures, no key and no network.
 *
 *   npx tsx examples/decode-results.ts        (from effect4/, on Node >= 22.19)
 */
import { Effect, Match, Schema } from "effect"
import { Batch, BatchLine } from "effect-openai-batch"
import { readFileSync } from "node:fs"

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), "utf8")

const describe = Match.type<BatchLine.BatchResult>().pipe(
  Match.tag("Succeeded", (r) => `${r.custom_id}: ok ${r.response.status_code}`),
  Match.tag("FailedResponse", (r) => `${r.custom_id}: failed ${r.response.status_code} ${r.error?.code ?? ""}`),
  Match.tag("Errored", (r) => `${r.custom_id}: ${BatchLine.neverRan(r) ? "never ran" : "errored"} (${r.error.code})`),
  Match.exhaustive
)

const program = Effect.gen(function*() {
  const batch = yield* Schema.decodeUnknownEffect(Batch.Batch)(JSON.parse(fixture("Batch.object.json")))
  yield* Effect.log(
    `${batch.id}: ${batch.status}, terminal: ${Batch.isTerminal(batch)}, results: ${Batch.hasResults(batch)}`
  )
  const decodeLine = Schema.decodeUnknownEffect(BatchLine.BatchResultFromLine)
  for (const line of fixture("batchResults.jsonl").split("\n").filter((text) => text.length > 0)) {
    yield* Effect.log(describe(yield* decodeLine(JSON.parse(line))))
  }
})

Effect.runPromise(program)
