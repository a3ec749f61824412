/**
 * From requests to results in one call: typed request lines in, upload, create, wait with progress, and typed
 * results out, joined to their requests by custom_id.
 *
 *   npx tsx examples/run-batch.ts                 # embeddings on the embedded simulator
 *   OPENAI_API_KEY=sk-... npx tsx examples/run-batch.ts --live
 */
import { Console, Effect, Schema } from "effect"
import { BatchLine, Job } from "effect-openai-batch"
import { run } from "./support/run.js"

const sentences = [
  "The batch API halves the price of asynchronous work.",
  "Effect programs describe what to do; runtimes do it.",
  "A schedule decides when to try again.",
  "Streams pull one page at a time.",
  "Every wait needs a deadline."
]

// Typed request lines: a wrong body shape is a compile error, a duplicate custom_id a typed error before upload.
const requests = sentences.map((input, i) =>
  BatchLine.embedding(`sentence-${i}`, { model: "text-embedding-3-small", input })
)

/** The part of an embeddings response this program reads; decode only what you use. */
const EmbeddingResponse = Schema.Struct({
  data: Schema.NonEmptyArray(Schema.Struct({ embedding: Schema.Array(Schema.Number) }))
})

const program = Effect.gen(function*() {
  const run = yield* Job.runBatch(requests, {
    endpoint: "/v1/embeddings",
    metadata: { example: "run-batch" },
    onCreated: (batch) => Console.log(`created ${batch.id}; uploaded ${batch.input_file_id}`),
    onProgress: (b) =>
      Console.log(`  ${b.status.padEnd(11)} ${b.request_counts?.completed ?? 0}/${b.request_counts?.total ?? "?"}`),
    timeout: "26 hours"
  })

  yield* Console.log(
    `${run.batch.id} ended ${run.batch.status}: ${run.matched.length} results, ${run.missing.length} missing`
  )
  for (const { input, result } of run.matched) {
    const text = input.body["input"]
    switch (result._tag) {
      case "Succeeded": {
        const decoded = Schema.decodeUnknownOption(EmbeddingResponse)(result.response.body)
        const dims = decoded._tag === "Some" ? decoded.value.data[0].embedding.length : "?"
        yield* Console.log(`  ok    ${result.custom_id}: ${dims}-dim embedding of "${String(text).slice(0, 40)}"`)
        break
      }
      case "FailedResponse":
        yield* Console.log(`  http  ${result.custom_id}: ${result.response.status_code} ${result.error?.message ?? ""}`)
        break
      case "Errored":
        yield* Console.log(`  error ${result.custom_id}: ${result.error.code ?? ""} ${result.error.message ?? ""}`)
    }
  }
}).pipe(
  Effect.catchTags({
    DuplicateCustomIdError: (e) => Console.error(e.message),
    BatchFailedError: (e) => Console.error(`the batch failed validation: ${e.message}`)
  })
)

run(program)
