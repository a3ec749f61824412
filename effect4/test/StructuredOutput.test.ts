/**
 * StructuredOutput (ported from the root's test/StructuredOutput.test.ts): the answer of one line, in chat,
 * Responses and legacy completions; every way a line has no value; the errors never hold the answer; the stream
 * combinators and the job sinks.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Result, Schema, SchemaGetter, SchemaIssue, Sink, Stream } from "effect"
import * as BatchError from "../src/BatchError.js"
import type * as BatchLine from "../src/BatchLine.js"
import type * as JobSink from "../src/JobSink.js"
import * as StructuredOutput from "../src/StructuredOutput.js"

const Answer = Schema.Struct({
  city: Schema.String,
  steps: Schema.Array(Schema.Struct({ explanation: Schema.String, answer: Schema.Number }))
})
const toAnswer = StructuredOutput.decodeResult(Answer)

const good = { city: "Lyon", steps: [{ explanation: "add", answer: 4 }] }

const succeeded = (body: Record<string, unknown>, custom_id = "q-1"): BatchLine.Succeeded => ({
  _tag: "Succeeded",
  id: `batch_req_${custom_id}`,
  custom_id,
  response: { status_code: 200, request_id: "req_1", body }
})

const chat = (
  message: Record<string, unknown>,
  finish_reason = "stop",
  extra: Record<string, unknown> = {}
): Record<string, unknown> => ({
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", refusal: null, ...message }, finish_reason }],
  usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
  ...extra
})

const responses = (output: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  object: "response",
  status: "completed",
  output,
  usage: { input_tokens: 7, output_tokens: 9, total_tokens: 16 },
  ...extra
})

const outputText = (...texts: ReadonlyArray<string>) => ({
  type: "message",
  role: "assistant",
  content: texts.map((text) => ({ type: "output_text", text, annotations: [] }))
})

const failure = <A>(outcome: StructuredOutput.Outcome<A>): BatchError.StructuredOutputError => {
  if (Result.isSuccess(outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.success.value)}`)
  return outcome.failure
}

const value = <A>(outcome: StructuredOutput.Outcome<A>): StructuredOutput.Parsed<A> => {
  if (Result.isFailure(outcome)) throw new Error(`expected a value, got ${outcome.failure.message}`)
  return outcome.success
}

class Cities extends Context.Service<Cities, ReadonlySet<string>>()("test/Cities") {}

describe("StructuredOutput: the answer of one line", () => {
  it("a chat completion's content, parsed as JSON and decoded: the value, the line and its usage", () => {
    const line = succeeded(chat({ content: JSON.stringify(good) }))
    const parsed = value(toAnswer(line))
    assert.deepStrictEqual(parsed.value, good)
    assert.strictEqual(parsed.customId, "q-1")
    assert.strictEqual(parsed.result, line)
    assert.deepStrictEqual(parsed.usage, { inputTokens: 12, outputTokens: 30, totalTokens: 42 })
    assert.isUndefined(parsed.delivery)
  })

  it("a Responses API answer: the output_text parts of its message items, concatenated, other items skipped", () => {
    const text = JSON.stringify(good)
    const line = succeeded(responses([
      { type: "reasoning", summary: [] },
      { type: "web_search_call", status: "completed" },
      outputText(text.slice(0, 10), text.slice(10))
    ]))
    const parsed = value(toAnswer(line))
    assert.deepStrictEqual(parsed.value, good)
    assert.deepStrictEqual(parsed.usage, { inputTokens: 7, outputTokens: 9, totalTokens: 16 })
  })

  it("a legacy completion's choices[0].text", () => {
    const line = succeeded({
      object: "text_completion",
      choices: [{ text: JSON.stringify(good), finish_reason: "stop" }]
    })
    assert.deepStrictEqual(value(toAnswer(line)).value, good)
  })

  it("a transformation's message that quotes what it could not decode is replaced by the rule; Effect's own say the rule", () => {
    const marker = "SECRET-4711"
    const line = (answer: unknown) => succeeded(chat({ content: JSON.stringify(answer) }))
    // A transformation of the schema author's that quotes its input, as Effect 3's NumberFromString, BigInt, URL
    // and parseJson did: its message is dropped for what the schema expects.
    const Quoting = Schema.String.pipe(Schema.decodeTo(Schema.Number, {
      decode: SchemaGetter.transformEffect((s: string) =>
        Effect.fail(new SchemaIssue.InvalidValue({ message: `cannot read "${s}" as a number` }, s))
      ),
      encode: SchemaGetter.transform((n: number) => String(n))
    }))
    const quoted = failure(StructuredOutput.decodeResult(Schema.Struct({ n: Quoting }))(line({ n: marker })))
    assert.deepStrictEqual(quoted.issues, [{ path: "n", issue: "must be a number" }])
    // Effect 4's own transformations say what they expected.
    const errors = [
      quoted,
      failure(StructuredOutput.decodeResult(Schema.Struct({ n: Schema.FiniteFromString }))(line({ n: marker }))),
      failure(StructuredOutput.decodeResult(Schema.Struct({ n: Schema.BigIntFromString }))(line({ n: marker }))),
      failure(StructuredOutput.decodeResult(Schema.Struct({ u: Schema.URLFromString }))(line({ u: marker }))),
      failure(
        StructuredOutput.decodeResult(Schema.Struct({ j: Schema.fromJsonString(Schema.Struct({ a: Schema.Number })) }))(
          line({ j: `${marker}, not JSON` })
        )
      )
    ]
    for (const error of errors) {
      assert.strictEqual(error.reason, "SchemaMismatch")
      assert.notInclude(error.message, marker)
      assert.notInclude(JSON.stringify(error), marker)
      assert.isTrue((error.issues ?? []).every((i) => i.issue.startsWith("must be")), JSON.stringify(error.issues))
    }
    // A message that does not quote the value is the rule, in its words.
    const Worded = Schema.String.pipe(Schema.decodeTo(Schema.Number, {
      decode: SchemaGetter.transformEffect((s: string) =>
        Effect.fail(new SchemaIssue.InvalidValue({ message: "must be written in digits" }, s))
      ),
      encode: SchemaGetter.transform((n: number) => String(n))
    }))
    const worded = failure(StructuredOutput.decodeResult(Schema.Struct({ n: Worded }))(line({ n: marker })))
    assert.deepStrictEqual(worded.issues, [{ path: "n", issue: "must be written in digits" }])
  })

  it("a schema that does not match names every field at fault and the rule, never the value found there", () => {
    const secret = "a private sentence the model wrote"
    const line = succeeded(chat({
      content: JSON.stringify({
        city: 98765,
        steps: [{ explanation: "ok", answer: 1 }, { explanation: "x", answer: secret }, {}]
      })
    }))
    const error = failure(toAnswer(line))
    assert.strictEqual(error.reason, "SchemaMismatch")
    assert.strictEqual(error.customId, "q-1")
    assert.strictEqual(error.lineId, "batch_req_q-1")
    assert.strictEqual(error.path, "city")
    assert.deepStrictEqual(error.issues, [
      { path: "city", issue: "must be a string" },
      { path: "steps[1].answer", issue: "must be a number" },
      { path: "steps[2].explanation", issue: "is required" },
      { path: "steps[2].answer", issue: "is required" }
    ])
    assert.strictEqual(error.message, "q-1: the answer does not match the schema: city must be a string (and 3 more)")
    assert.notInclude(JSON.stringify(error), secret)
    assert.notInclude(JSON.stringify(error), "98765")
    assert.deepStrictEqual(error.usage, { inputTokens: 12, outputTokens: 30, totalTokens: 42 })
  })

  it("at most 10 issues are listed", () => {
    const Many = Schema.Array(Schema.Number)
    const error = failure(
      StructuredOutput.decodeResult(Many)(succeeded(chat({ content: JSON.stringify(Array(25).fill("x")) })))
    )
    assert.strictEqual(error.issues?.length, 10)
    assert.strictEqual(error.issues?.[9]?.path, "[9]")
  })

  it("a schema's own message annotation is the rule", () => {
    const Scored = Schema.Struct({
      score: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }, { message: "must be between 0 and 1" }))
    })
    const error = failure(StructuredOutput.decodeResult(Scored)(succeeded(chat({ content: "{\"score\":7}" }))))
    assert.deepStrictEqual(error.issues, [{ path: "score", issue: "must be between 0 and 1" }])
    assert.notInclude(error.message, "7")
  })

  it("an answer that is not JSON: a short excerpt, never the whole answer", () => {
    const text = `Sure! Here is the JSON you asked for: ${"x".repeat(2000)}`
    const error = failure(toAnswer(succeeded(chat({ content: text }))))
    assert.strictEqual(error.reason, "NotJson")
    assert.strictEqual(error.issue, "the answer is not JSON")
    assert.isTrue(error.excerpt?.startsWith("Sure! Here is the JSON"))
    assert.isAtMost(error.excerpt?.length ?? Infinity, 81)
    assert.isBelow(error.message.length, 100)
    const empty = failure(toAnswer(succeeded(chat({ content: "" }))))
    assert.strictEqual(empty.issue, "the answer is empty, not JSON")
  })

  it("a refusal, in chat and in the Responses API, is no answer and carries the refusal's start", () => {
    const fromChat = failure(toAnswer(succeeded(chat({ content: null, refusal: "I can't help with that." }))))
    assert.strictEqual(fromChat.reason, "NoAnswer")
    assert.strictEqual(fromChat.refusal, "I can't help with that.")
    assert.strictEqual(fromChat.message, "q-1: the model refused")
    const fromResponses = failure(toAnswer(succeeded(responses([{
      type: "message",
      content: [{ type: "refusal", refusal: "I won't." }]
    }]))))
    assert.strictEqual(fromResponses.reason, "NoAnswer")
    assert.strictEqual(fromResponses.refusal, "I won't.")
  })

  it("a tool call instead of content, empty choices, no output text: no answer, each said", () => {
    const tool = failure(toAnswer(succeeded(chat({
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup_city", arguments: "{}" } }]
    }, "tool_calls"))))
    assert.strictEqual(tool.reason, "NoAnswer")
    assert.strictEqual(tool.issue, "the model called lookup_city instead of answering")
    assert.strictEqual(tool.finishReason, "tool_calls")
    const noChoices = failure(toAnswer(succeeded({ object: "chat.completion", choices: [] })))
    assert.strictEqual(noChoices.issue, "the completion has no choices")
    const call = failure(toAnswer(succeeded(responses([{ type: "function_call", name: "lookup", arguments: "{}" }]))))
    assert.strictEqual(call.issue, "the model called lookup instead of answering")
    const nothing = failure(toAnswer(succeeded(responses([{ type: "reasoning", summary: [] }]))))
    assert.strictEqual(nothing.issue, "the response has no output text")
    const filtered = failure(toAnswer(succeeded(chat({ content: "{\"city\"" }, "content_filter"))))
    assert.strictEqual(filtered.reason, "NoAnswer")
    assert.strictEqual(filtered.finishReason, "content_filter")
    const embedding = failure(toAnswer(succeeded({ object: "list", data: [{ embedding: [0.1] }] })))
    assert.strictEqual(embedding.issue, "the body is neither a chat completion nor a response")
  })

  it("an answer cut off: finish_reason \"length\", a Responses answer incomplete at max_output_tokens", () => {
    const chatCut = failure(toAnswer(succeeded(chat({ content: "{\"city\": \"Ly" }, "length"))))
    assert.strictEqual(chatCut.reason, "Truncated")
    assert.strictEqual(chatCut.finishReason, "length")
    assert.deepStrictEqual(chatCut.usage, { inputTokens: 12, outputTokens: 30, totalTokens: 42 })
    const responsesCut = failure(toAnswer(succeeded(responses([outputText("{\"city\": \"Ly")], {
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" }
    }))))
    assert.strictEqual(responsesCut.reason, "Truncated")
    assert.strictEqual(responsesCut.finishReason, "max_output_tokens")
    assert.strictEqual(responsesCut.issue, "the response is incomplete (max_output_tokens)")
  })

  it("a request that failed: the API's status and code, an error line's code, a failed response's error", () => {
    const http: BatchLine.FailedResponse = {
      _tag: "FailedResponse",
      id: "batch_req_2",
      custom_id: "q-2",
      response: { status_code: 429, body: { error: { message: "Rate limit reached", code: "rate_limit_exceeded" } } },
      error: { message: "Rate limit reached", code: "rate_limit_exceeded" }
    }
    const fromHttp = failure(toAnswer(http))
    assert.strictEqual(fromHttp.reason, "RequestFailed")
    assert.strictEqual(fromHttp.status, 429)
    assert.strictEqual(fromHttp.code, "rate_limit_exceeded")
    assert.strictEqual(fromHttp.message, "q-2: the request failed with 429 (rate_limit_exceeded): Rate limit reached")
    const expired: BatchLine.Errored = {
      _tag: "Errored",
      id: "batch_req_3",
      custom_id: "q-3",
      error: { code: "batch_expired", message: "This request could not be executed before the completion window" }
    }
    const fromLine = failure(toAnswer(expired))
    assert.strictEqual(fromLine.reason, "RequestFailed")
    assert.strictEqual(fromLine.code, "batch_expired")
    assert.isUndefined(fromLine.status)
    const failed = failure(toAnswer(succeeded(responses([], {
      status: "failed",
      error: { code: "server_error", message: "The model failed" }
    }))))
    assert.strictEqual(failed.reason, "RequestFailed")
    assert.strictEqual(failed.code, "server_error")
  })

  it("a schema whose encoded side is a string takes the text as it is; Schema.fromJsonString parses it itself", () => {
    const line = succeeded(chat({ content: "Paris" }))
    assert.strictEqual(value(StructuredOutput.decodeResult(Schema.String)(line)).value, "Paris")
    const label = StructuredOutput.decodeResult(Schema.Literals(["yes", "no"]))
    assert.strictEqual(value(label(succeeded(chat({ content: "yes" })))).value, "yes")
    assert.strictEqual(failure(label(succeeded(chat({ content: "maybe" })))).reason, "SchemaMismatch")
    const viaParseJson = StructuredOutput.decodeResult(Schema.fromJsonString(Answer))
    assert.deepStrictEqual(value(viaParseJson(succeeded(chat({ content: JSON.stringify(good) })))).value, good)
    assert.strictEqual(failure(viaParseJson(succeeded(chat({ content: "not json" })))).reason, "SchemaMismatch")
    // A string schema does not parse JSON: the quotes stay.
    assert.strictEqual(
      value(StructuredOutput.decodeResult(Schema.String)(succeeded(chat({ content: "\"x\"" })))).value,
      "\"x\""
    )
  })

  it("a schema's transformations apply: the value is the decoded type", () => {
    const Dated = Schema.Struct({ when: Schema.DateFromString, count: Schema.NumberFromString })
    const parsed = value(
      StructuredOutput.decodeResult(Dated)(succeeded(chat({
        content: "{\"when\":\"2026-01-02T00:00:00.000Z\",\"count\":\"3\"}"
      })))
    )
    assert.isTrue(parsed.value.when instanceof Date)
    assert.strictEqual(parsed.value.count, 3)
  })

  it("a job's tagged result: the failure and the value name the delivery", () => {
    const delivery: JobSink.Delivery = { jobId: "job-1", part: 2, attempt: 1, batchId: "batch_9" }
    const ok = value(toAnswer({ ...delivery, result: succeeded(chat({ content: JSON.stringify(good) })) }))
    assert.deepStrictEqual(ok.delivery, delivery)
    const bad = failure(toAnswer({ ...delivery, result: succeeded(chat({ content: "{}" })) }))
    assert.deepStrictEqual(bad.delivery, delivery)
  })

  it("the failure is one of the library's errors: it round-trips through the BatchError schema", () => {
    const error = failure(toAnswer(succeeded(chat({ content: "{\"city\":1}" }))))
    assert.isTrue(BatchError.isBatchError(error))
    const json: unknown = JSON.parse(JSON.stringify(Schema.encodeSync(BatchError.BatchError)(error)))
    const decoded = Schema.decodeUnknownSync(BatchError.BatchError)(json)
    assert.instanceOf(decoded, BatchError.StructuredOutputError)
    assert.deepStrictEqual(decoded, error)
  })

  it.effect("decode: a schema that needs a service, as an Effect", () =>
    Effect.gen(function*() {
      const KnownCity = Schema.String.pipe(Schema.decode({
        decode: SchemaGetter.checkEffect((city: string) =>
          Effect.map(Effect.service(Cities), (known) => known.has(city) || "must be a known city")
        ),
        encode: SchemaGetter.passthrough()
      }))
      const Located = Schema.Struct({ city: KnownCity })
      const decodeLocated = StructuredOutput.decode(Located)
      const ok = yield* decodeLocated(succeeded(chat({ content: "{\"city\":\"Lyon\"}" })))
      assert.strictEqual(ok.value.city, "Lyon")
      const error = yield* Effect.flip(decodeLocated(succeeded(chat({ content: "{\"city\":\"Atlantis\"}" }))))
      assert.deepStrictEqual(error.issues, [{ path: "city", issue: "must be a known city" }])
      const notRun = yield* Effect.flip(decodeLocated({ _tag: "Errored", id: "r", custom_id: "q", error: {} }))
      assert.strictEqual(notRun.reason, "RequestFailed")
    }).pipe(Effect.provideService(Cities, new Set(["Lyon"]))))
})

describe("StructuredOutput: streams and sinks", () => {
  const lines: ReadonlyArray<BatchLine.BatchResult> = [
    succeeded(chat({ content: JSON.stringify(good) }), "a"),
    succeeded(chat({ content: "{\"city\":\"Nice\"}" }), "b"),
    succeeded(chat({ content: JSON.stringify({ ...good, city: "Nice" }) }), "c")
  ]

  it.effect("outcomes: every line, a bad answer as a Left, the stream goes on", () =>
    Effect.gen(function*() {
      const out = yield* Stream.runCollect(Stream.fromIterable(lines).pipe(StructuredOutput.outcomes(Answer)))
      assert.deepStrictEqual(out.map((o) => Result.isSuccess(o) ? o.success.customId : o.failure.customId), [
        "a",
        "b",
        "c"
      ])
      assert.deepStrictEqual(out.map(Result.isSuccess), [true, false, true])
    }))

  it.effect("Stream.map(decodeResult) gives the same outcomes as outcomes (the sync path the docs point to)", () =>
    Effect.gen(function*() {
      const viaEffect = yield* Stream.runCollect(Stream.fromIterable(lines).pipe(StructuredOutput.outcomes(Answer)))
      const viaSync = yield* Stream.runCollect(Stream.fromIterable(lines).pipe(Stream.map(toAnswer)))
      const plain = (outcomes: Iterable<unknown>): unknown => JSON.parse(JSON.stringify([...outcomes]))
      assert.deepStrictEqual(plain(viaSync), plain(viaEffect))
      assert.include(JSON.stringify(plain(viaSync)), "\"reason\":\"SchemaMismatch\"")
    }))

  it.effect("values: fails with the first line that has no value, after the lines before it", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const error = yield* Effect.flip(
        Stream.fromIterable(lines).pipe(
          StructuredOutput.values(Answer),
          Stream.runForEach((parsed) => Effect.sync(() => seen.push(parsed.customId)))
        )
      )
      assert.deepStrictEqual(seen, ["a"])
      assert.strictEqual(error._tag, "StructuredOutputError")
      if (error._tag === "StructuredOutputError") assert.strictEqual(error.customId, "b")
    }))

  it.effect("partition: the values and the failures, in stream order; the stream's own error still fails it", () =>
    Effect.gen(function*() {
      const { failed, parsed } = yield* StructuredOutput.partition(
        Stream.fromIterable(lines).pipe(StructuredOutput.outcomes(Answer))
      )
      assert.deepStrictEqual(parsed.map((p) => p.customId), ["a", "c"])
      assert.deepStrictEqual(failed.map((f) => [f.customId, f.path]), [["b", "steps"]])
      const broken = yield* Effect.flip(StructuredOutput.partition(
        Stream.concat(Stream.fromIterable(lines), Stream.fail("download failed")).pipe(
          StructuredOutput.outcomes(Answer)
        )
      ))
      assert.strictEqual(broken, "download failed")
    }))

  it.effect("jobSink: each delivery's Sink receives outcomes tagged with the delivery", () =>
    Effect.gen(function*() {
      const delivery: JobSink.Delivery = { jobId: "j", part: 1, attempt: 1, batchId: "batch_1" }
      const received: Array<StructuredOutput.Outcome<typeof Answer.Type>> = []
      const sink = StructuredOutput.jobSink(
        Answer,
        () =>
          Sink.forEach((outcome: StructuredOutput.Outcome<typeof Answer.Type>) =>
            Effect.sync(() => received.push(outcome))
          )
      )
      yield* Stream.run(Stream.fromIterable(lines), sink.sink(delivery))
      assert.deepStrictEqual(received.map(Result.isSuccess), [true, false, true])
      for (const outcome of received) {
        assert.deepStrictEqual(
          Result.isSuccess(outcome) ? outcome.success.delivery : outcome.failure.delivery,
          delivery
        )
      }
      // forEach: a function of the outcome; a failing one fails the sink (and so the job).
      const strict = StructuredOutput.forEach(Answer, (outcome) =>
        Result.isFailure(outcome) ? Effect.fail(outcome.failure) : Effect.void)
      const error = yield* Effect.flip(Stream.run(Stream.fromIterable(lines), strict.sink(delivery)))
      assert.strictEqual(error.customId, "b")
    }))
})

describe("StructuredOutput: the JSON Schema of the same schema", () => {
  it("Schema.toJsonSchemaDocument gives the object OpenAI's strict mode takes: every key required, no other key", () => {
    const Capital = Schema.Struct({
      country: Schema.String,
      population: Schema.Finite,
      size: Schema.Literals(["big", "small"])
    })
    const { schema } = Schema.toJsonSchemaDocument(Capital, { onExcessProperty: "error" })
    assert.deepStrictEqual(schema, {
      type: "object",
      properties: {
        country: { type: "string" },
        population: { type: "number" },
        size: { type: "string", enum: ["big", "small"] }
      },
      required: ["country", "population", "size"],
      additionalProperties: false
    })
    // The answer the model gives under it decodes with the same schema.
    const answer = { country: "France", population: 68_400_000, size: "big" }
    const outcome = StructuredOutput.decodeResult(Capital)(succeeded(chat({ content: JSON.stringify(answer) })))
    assert.deepStrictEqual(value(outcome).value, answer)
  })
})
