/**
 * Structured answers: ask for JSON of a schema in every request, run the batch, and decode each result's answer
 * with the same Effect Schema: a typed value per line, or a typed failure per line naming the line and the field.
 *
 *   npx tsx examples/structured-output.ts          # on the embedded simulator (its answers are scripted below)
 *   OPENAI_API_KEY=sk-... npx tsx examples/structured-output.ts --live
 */
import { Console, Effect, Result, Schema, Stream } from "effect"
import { BatchLine, BatchResults, Job, StructuredOutput } from "effect-openai-batch"
import type { BatchApiSimulator } from "effect-openai-batch/testing"
import { run } from "./support/run.js"

/** The answer each request asks for, and what each result is decoded with. */
const Capital = Schema.Struct({
  country: Schema.String,
  capital: Schema.String,
  population: Schema.Number
})

// The JSON Schema the API constrains the model with (strict mode: every key required, no other key), made from the
// same Schema (Effect 3: `JSONSchema.make`).
const jsonSchema = Schema.toJsonSchemaDocument(Capital, { onExcessProperty: "error" }).schema

const countries = ["France", "Japan", "Peru", "Atlantis"]

const requests = countries.map((country) =>
  BatchLine.chatCompletion(`capital-${country.toLowerCase()}`, {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: `What is the capital of ${country}, and its population?` }],
    response_format: { type: "json_schema", json_schema: { name: "capital", strict: true, schema: jsonSchema } }
  })
)

const program = Effect.gen(function*() {
  const { batch } = yield* Job.runBatch(requests, { endpoint: "/v1/chat/completions", timeout: "26 hours" })
  yield* Console.log(`${batch.id} ended ${batch.status}`)

  // Each result line's answer, decoded as it streams: a bad answer is a Failure, and the stream goes on.
  const { failed, parsed } = yield* BatchResults.stream(batch).pipe(
    StructuredOutput.outcomes(Capital),
    Stream.tap(Result.match({
      onSuccess: ({ customId, value }) =>
        Console.log(`  ok   ${customId}: ${value.capital} (${value.population.toLocaleString("en")} people)`),
      onFailure: (error) => Console.log(`  fail ${error.reason}: ${error.message}`)
    })),
    StructuredOutput.partition
  )
  const tokens = parsed.reduce((sum, p) => sum + (p.usage?.totalTokens ?? 0), 0)
  yield* Console.log(`${parsed.length} answers (${tokens} tokens), ${failed.length} lines without one`)
})

// ---------------------------------------------------------------------------------------------------------------
// On the simulator, the "model" answers from this table: two good answers, one of the wrong shape, one refusal.
// ---------------------------------------------------------------------------------------------------------------

const scripted: Record<string, unknown> = {
  France: { country: "France", capital: "Paris", population: 68_400_000 },
  Japan: { country: "Japan", capital: "Tokyo", population: 124_000_000 },
  Peru: { country: "Peru", capital: "Lima", population: "about 34 million" }
}

const responder: BatchApiSimulator.Responder = (line) => {
  const country = countries.find((name) => line.custom_id === `capital-${name.toLowerCase()}`) ?? ""
  const answer = scripted[country]
  const message = answer === undefined
    ? { role: "assistant", content: null, refusal: "I can't find a country by that name." }
    : { role: "assistant", content: JSON.stringify(answer), refusal: null }
  return {
    status_code: 200,
    body: {
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [{ index: 0, message, finish_reason: "stop" }],
      usage: { prompt_tokens: 20, completion_tokens: 15, total_tokens: 35 }
    }
  }
}

run(program, { simulator: { responder } })
