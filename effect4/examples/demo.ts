/**
 * The Effect 4 edition's demo (`npm run demo:effect4` at the root, or `npx tsx examples/demo.ts` inside effect4/ on
 * Node >= 22.19): the root's examples/demo.ts on Effect 4, the same program line for line (only support/run.ts,
 * which provides the layers and the clock, differs). A whole batch job on the embedded Batch API simulator, with no
 * key and no network. Batch time runs 600x faster than real time (a simulated minute every 100 ms).
 *
 *   1. build and upload a JSONL file of typed chat requests (checked before upload)
 *   2. create three batches from it
 *   3. stream every batch of the account, page by page
 *   4. await one with a live progress line driven by watchBatch
 *   5. cancel one and wait out its cancel window
 *   6. read the typed results of the finished one, joined to the requests by custom_id
 *   7. print a summary table
 *   8. a job of many batches: 3,000 embedding requests in parts of at most 500, under an enqueued-token budget
 *      that parts are sized to fill (three at a time), with a live multi-line progress view
 *
 * With OPENAI_API_KEY set and `--live`, the same program runs against the real API (it creates three small
 * gpt-4o-mini batches: a few cents).
 */
import { Console, Effect, Option, Stream } from "effect"
import {
  type Batch,
  BatchApi,
  BatchInput,
  BatchLine,
  BatchResults,
  BatchWait,
  Job,
  JobProgress
} from "effect-openai-batch"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import { isLive, run } from "./support/run.js"

const questions = [
  "What is 2 + 2?",
  "Name a prime number above 100.",
  "What colour is the sky on a clear day?",
  "Translate 'thank you' into French.",
  "How many legs does a spider have?",
  "What is the boiling point of water at sea level in Celsius?",
  "Spell 'batch' backwards.",
  "What is the capital of Japan?"
]

const requests = questions.map((question, i) =>
  BatchLine.chatCompletion(`question-${i + 1}`, {
    model: "gpt-4o-mini",
    messages: [{ role: "system", content: "Answer in a few words." }, { role: "user", content: question }],
    max_tokens: 30
  })
)

const tty = process.stdout.isTTY === true

/** A progress line that rewrites itself on a terminal, and prints one line per change elsewhere. */
const progressLine = (label: string) => (b: Batch.Batch) => {
  const c = b.request_counts
  const total = c?.total ?? 0
  const done = (c?.completed ?? 0) + (c?.failed ?? 0)
  const width = 24
  const filled = total === 0 ? 0 : Math.round((done / total) * width)
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`
  const line = `  ${label} ${bar} ${String(done).padStart(3)}/${total} ${b.status}`
  return tty ? Effect.sync(() => process.stdout.write(`\r${line.padEnd(70)}`)) : Console.log(line)
}
const endProgress = tty ? Effect.sync(() => process.stdout.write("\n")) : Effect.void

/** Scripts the simulator's next batches (a no-op against the real API). */
const script = (...scripts: ReadonlyArray<BatchApiSimulator.Script>) =>
  Effect.serviceOption(BatchApiSimulator.BatchApiSimulator).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.void,
      onSome: (simulator) => Effect.forEach(scripts, (s) => simulator.scriptNext(s), { discard: true })
    }))
  )

const minutes = (from: number | undefined, to: number | undefined) =>
  from === undefined || to === undefined ? "" : `${((to - from) / 60).toFixed(1)} min`

const program = Effect.gen(function*() {
  yield* Console.log(
    isLive ? "Running against the real OpenAI API.\n" : "Running on the embedded simulator (600x time).\n"
  )

  yield* Console.log("1. upload the requests")
  const uploaded = yield* BatchInput.upload(requests, { endpoint: "/v1/chat/completions", filename: "demo.jsonl" })
  yield* Console.log(`   ${uploaded.file.id}: ${uploaded.lines} lines, ${uploaded.bytes} bytes`)

  yield* Console.log("2. create three batches")
  yield* script(
    { inProgress: "12 minutes", finalizing: "2 minutes" },
    { inProgress: "40 minutes", cancelling: "8 minutes" },
    { inProgress: "20 minutes" }
  )
  const create = (name: string) =>
    BatchApi.createBatch({
      input_file_id: uploaded.file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      metadata: { demo: name }
    })
  const [awaited, cancelled, background] = yield* Effect.all([create("await"), create("cancel"), create("background")])
  for (const b of [awaited, cancelled, background]) {
    yield* Console.log(`   ${b.id} ${b.metadata?.["demo"]}: ${b.status}`)
  }

  yield* Console.log("3. stream every batch (pages of 100, fetched as they are pulled)")
  const all = yield* BatchApi.streamBatches().pipe(Stream.runCollect)
  yield* Console.log(`   ${all.length} batches: ${[...all].map((b) => `${b.id} (${b.status})`).join(", ")}`)

  yield* Console.log(`4. await ${awaited.id}`)
  const finished = yield* BatchWait.watchBatch(awaited.id).pipe(
    Stream.tap(progressLine("await ")),
    Stream.runLast,
    Effect.map(Option.getOrElse(() => awaited))
  )
  yield* endProgress

  yield* Console.log(`5. cancel ${cancelled.id} and wait out the cancel window`)
  const afterCancel = yield* BatchWait.cancelBatchAndWait(cancelled.id, { onProgress: progressLine("cancel") })
  yield* endProgress
  const partial = yield* BatchResults.stream(afterCancel).pipe(Stream.runCount)
  yield* Console.log(
    `   ${afterCancel.status}; ${partial} partial results kept in ${afterCancel.output_file_id ?? "(none)"}`
  )

  yield* Console.log(`6. results of ${finished.id}, joined to the requests by custom_id`)
  const joined = yield* BatchResults.stream(finished).pipe(BatchResults.join(requests))
  for (const { input, result } of joined.matched.slice(0, 4)) {
    const question = input.body.messages[1]?.content
    yield* Console.log(`   ${result.custom_id} ${String(question).padEnd(40)} -> ${answer(result)}`)
  }
  yield* Console.log(
    `   ... ${joined.matched.length} results, ${joined.missing.length} missing, ${joined.unmatched.length} unmatched`
  )

  const backgroundNow = yield* BatchApi.retrieveBatch(background.id)
  yield* Console.log("\n7. summary")
  yield* Console.log(
    `   ${"batch".padEnd(22)} ${"role".padEnd(11)} ${"status".padEnd(11)} ${"done".padEnd(7)} ${
      "took".padEnd(9)
    } output`
  )
  for (const [role, b] of [["await", finished], ["cancel", afterCancel], ["background", backgroundNow]] as const) {
    const c = b.request_counts
    const took = minutes(b.created_at, b.completed_at ?? b.cancelled_at)
    yield* Console.log(
      `   ${b.id.padEnd(22)} ${role.padEnd(11)} ${b.status.padEnd(11)} ${
        `${c?.completed ?? 0}/${c?.total ?? 0}`.padEnd(7)
      } ${took.padEnd(9)} ${b.output_file_id ?? "-"}`
    )
  }
  if (isLive && !["completed", "failed", "expired", "cancelled"].includes(backgroundNow.status)) {
    yield* Console.log(
      `\n(${background.id} is still running; cancel it with examples/cancel-and-wait.ts --live --batch ${background.id})`
    )
  }

  yield* Console.log(
    "\n8. a job of many batches: 3,000 requests, parts sized so that three fill the enqueued-token budget"
  )
  const texts = Array.from(
    { length: 3_000 },
    (_, i) =>
      BatchLine.embedding(`text-${i}`, {
        model: "text-embedding-3-small",
        input: `Sentence number ${i} of the demo job.`
      })
  )
  // A live view: redrawn in place on a terminal, a line every 3 minutes of (simulated) time in a log.
  const summary = yield* Effect.scoped(Effect.gen(function*() {
    const view = yield* JobProgress.view(process.stdout, { prefix: "   ", maxParts: 6, interval: "3 minutes" })
    return yield* Job.run(texts, {
      jobId: `demo-${Date.now()}`,
      endpoint: "/v1/embeddings",
      // Each request is estimated at about 15 tokens (TokenEstimate.estimateTokens): two parts of 500 would leave
      // about 1,500 of the usable 16,150 idle; the plan cuts parts of about 5,380 tokens (367 requests) instead,
      // three of them fill it.
      budget: { limits: { tokens: 17_000 } },
      plan: { partFraction: 0.5, maxRequestsPerPart: 500 },
      onEvent: view.onEvent
    })
  }))
  yield* Console.log(
    `   ${summary.parts.length} parts, ${summary.batches} batches: ${summary.succeeded}/${summary.requests} succeeded, ` +
      `${summary.missing} missing, ${summary.usage.total_tokens} tokens`
  )
})

/** The assistant's text of a chat completion result, or why there is none. */
const answer = (result: BatchLine.BatchResult): string => {
  if (result._tag === "Errored") return `error: ${result.error.message ?? result.error.code ?? "?"}`
  if (result._tag === "FailedResponse") return `HTTP ${result.response.status_code}: ${result.error?.message ?? ""}`
  const choices = result.response.body["choices"]
  const first = Array.isArray(choices) ? choices[0] : undefined
  const content = typeof first === "object" && first !== null
    ? Reflect.get(Object(Reflect.get(first, "message")), "content")
    : undefined
  return typeof content === "string" ? content : "(no text)"
}

run(program, { simulator: { requireInputFile: true } })
