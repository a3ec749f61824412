/**
 * Money, not only tokens: a job given a price table reports what each batch, each part and the whole job cost (the
 * Batch API's 50% discount applied), shows the running cost in its progress view, and lists the models the table
 * does not price with their tokens instead of guessing.
 *
 *   npx tsx examples/costs.ts                 # chat completions on the embedded simulator
 *   OPENAI_API_KEY=sk-... npx tsx examples/costs.ts --live
 *
 * The prices below are an example, not OpenAI's current ones: copy yours from the pricing page.
 */
import { Console, Effect } from "effect"
import { BatchLine, Job, JobProgress, type Pricing } from "effect-openai-batch"
import { run } from "./support/run.js"

const pricing: Pricing.Pricing = {
  // USD per 1M tokens at the standard (not batch) prices; a dated snapshot (gpt-4o-mini-2024-07-18) finds its alias.
  prices: { "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 } },
  batchDiscount: 0.5 // the default: the Batch API bills half
}

const questions = Array.from({ length: 40 }, (_, i) => `In one sentence: what is ${i} squared?`)
const requests = [
  ...questions.map((question, i) =>
    BatchLine.chatCompletion(`q-${i}`, { model: "gpt-4o-mini", messages: [{ role: "user", content: question }] })
  ),
  // A model the table has no price for: its tokens are reported, its cost is not guessed.
  BatchLine.chatCompletion("other", { model: "gpt-4.1-nano", messages: [{ role: "user", content: "Hello" }] })
]

const program = Effect.scoped(Effect.gen(function*() {
  const view = yield* JobProgress.view(process.stdout, { interval: "2 seconds" })
  const summary = yield* Job.run(requests, {
    jobId: `costs-example-${Date.now()}`,
    endpoint: "/v1/chat/completions",
    plan: { maxRequestsPerPart: 20 },
    pricing,
    onEvent: view.onEvent
  })
  for (const part of summary.parts) {
    const cost = part.cost === undefined ? "no price" : `$${part.cost.total.toFixed(6)}`
    yield* Console.log(`part ${part.part} (${part.model}): ${part.usage.total_tokens} tokens, ${cost}`)
  }
  yield* Console.log(`job: $${summary.cost?.total.toFixed(6)} for the priced models`)
  for (const { model, usage } of summary.unpriced ?? []) {
    yield* Console.log(`no price for ${model}: ${usage.input_tokens} input, ${usage.output_tokens} output tokens`)
  }
}))

run(program)
