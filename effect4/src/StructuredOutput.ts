/**
 * The model's answer in a result line, decoded against your own `Schema`: a typed value per line, or a typed
 * failure per line (`BatchError.StructuredOutputError`) that names the line (`customId`) and what went wrong, down
 * to the field of the answer.
 *
 * The answer is `choices[0].message.content` of a chat completion (`choices[0].text` of a legacy completion), or
 * the text of a Responses API response: the `output_text` parts of its `message` items, concatenated. It is parsed
 * as JSON and decoded with the schema, unless the schema's encoded side is a string (`Schema.String`, a literal, a
 * template literal, `Schema.fromJsonString(...)`): such a schema takes the text as it is. So plain-text answers
 * work with `Schema.String`, and `Schema.fromJsonString(X)` is the same as `X` (a JSON error is then a schema
 * mismatch).
 *
 * A line has no value when its request failed (an error line, a non-2xx), the model did not answer (a refusal, a
 * tool call, no choices, the content filter), its answer was cut off (`finish_reason: "length"`, a Responses
 * `incomplete` answer: its JSON would be cut too), is not JSON, or does not match the schema. The error says which
 * (`reason`), and never holds the answer: a refusal's and a non-JSON answer's first characters, the fields at fault
 * and the rules they broke, never the values (an answer may be long or private).
 *
 * The same schema gives the JSON Schema the API constrains the model with: `Schema.toJsonSchemaDocument(schema)`
 * (its `schema` is what `response_format.json_schema.schema` takes).
 *
 * The same decoder serves every source of results, each as Effect has it:
 *
 * - one line: `decode(schema)(result)` (an `Effect`) or `decodeResult(schema)(result)` (a `Result`);
 * - a stream of lines (`BatchResults.stream`, `Job.stream`): `outcomes(schema)` maps each line to a `Result` and
 *   never fails on a bad answer; `values(schema)` fails at the first; `partition` collects `outcomes`;
 * - a job's sink (`Job.run`): `jobSink(schema, ...)` gives an Effect `Sink` of outcomes per delivery,
 *   `forEach(schema, f)` a function.
 *
 * The Effect 4 edition: one line's outcome is a `Result` (Effect 3: an `Either`), so `decodeResult` is Effect 3's
 * `decodeEither`.
 *
 * Why `Result` and not a tagged union of its own: `Stream.partition`-style collectors, `Result.match`,
 * `Effect.result` and `Stream.mapEffect` already work with it. Why no span per line: decoding is pure CPU work
 * measured in microseconds; the stream combinators have one span for the whole stream.
 *
 * @since 4.0.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import type * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as BatchError from "./BatchError.js"
import type * as BatchLine from "./BatchLine.js"
import * as Answer from "./internal/answer.js"
import * as Operation from "./internal/http/operation.js"
import * as Internal from "./internal/structuredOutput.js"
import type * as Job from "./Job.js"
import * as JobSink from "./JobSink.js"

/**
 * What the decoder takes: a result line (`BatchResults.stream`, `Job.runBatch`'s `matched[i].result`), or a
 * job's result tagged with its delivery (`Job.stream`).
 *
 * @since 4.0.0
 * @category Models
 */
export type Input = BatchLine.BatchResult | Job.TaggedResult

/**
 * The tokens an answer cost: `prompt_tokens`/`completion_tokens` of chat and completions, `input_tokens`/
 * `output_tokens` of the Responses API.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Usage extends Answer.Usage {}

/**
 * A line whose answer decoded: `value` is of your schema's type, `result` the line it came from.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Parsed<A> {
  readonly customId: string
  readonly value: A
  readonly result: BatchLine.Succeeded
  /** The body's `usage`, when it has one. */
  readonly usage?: Usage | undefined
  /** Which job, part, attempt and batch the line came from, when it came from a job. */
  readonly delivery?: JobSink.Delivery | undefined
}

/**
 * One line's outcome: its value, or why it has none.
 *
 * @since 4.0.0
 * @category Models
 */
export type Outcome<A> = Result.Result<Parsed<A>, BatchError.StructuredOutputError>

interface Line {
  readonly result: BatchLine.BatchResult
  readonly delivery: JobSink.Delivery | undefined
}

const lineOf = (input: Input): Line =>
  "_tag" in input
    ? { result: input, delivery: undefined }
    : {
      result: input.result,
      delivery: { jobId: input.jobId, part: input.part, attempt: input.attempt, batchId: input.batchId }
    }

type ErrorFields = Omit<
  ConstructorParameters<typeof BatchError.StructuredOutputError>[0],
  "customId" | "lineId" | "delivery" | "usage"
>

const fail = (line: Line, fields: ErrorFields, usage: Usage | undefined): BatchError.StructuredOutputError => {
  const { delivery, result } = line
  return new BatchError.StructuredOutputError({
    ...fields,
    customId: result.custom_id,
    lineId: result.id,
    ...(usage === undefined ? {} : { usage }),
    ...(delivery === undefined ? {} : { delivery })
  })
}

/** The answer of a line, ready for the schema: parsed JSON, the text itself, or the line's error. */
const prepare = (
  line: Line,
  asText: boolean
): Result.Result<
  { readonly input: unknown; readonly result: BatchLine.Succeeded; readonly usage: Usage | undefined },
  BatchError.StructuredOutputError
> => {
  const { result } = line
  if (result._tag !== "Succeeded") return Result.fail(fail(line, Answer.requestFailure(result), undefined))
  const body = result.response.body
  const usage = Answer.usageOf(body)
  const answer = Answer.answerOf(body)
  if (answer._tag === "NoText") return Result.fail(fail(line, answer.failure, usage))
  if (asText) return Result.succeed({ input: answer.text, result, usage })
  try {
    return Result.succeed({ input: JSON.parse(answer.text), result, usage })
  } catch {
    return Result.fail(fail(line, {
      reason: "NotJson",
      issue: answer.text.trim().length === 0 ? "the answer is empty, not JSON" : "the answer is not JSON",
      excerpt: Answer.excerpt(answer.text)
    }, usage))
  }
}

const mismatch = (line: Line, issue: SchemaIssue.Issue, input: unknown, usage: Usage | undefined) => {
  const issues = Internal.issuesOf(issue, input)
  const first = issues[0]
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""
  const rule = first === undefined ? "" : `${first.path === undefined ? "" : `${first.path} `}${first.issue}${more}`
  return fail(line, {
    reason: "SchemaMismatch",
    issue: `the answer does not match the schema: ${rule}`,
    issues,
    ...(first?.path === undefined ? {} : { path: first.path })
  }, usage)
}

const parsed = <A>(
  line: Line,
  value: A,
  result: BatchLine.Succeeded,
  usage: Usage | undefined
): Parsed<A> => ({
  customId: result.custom_id,
  value,
  result,
  ...(usage === undefined ? {} : { usage }),
  ...(line.delivery === undefined ? {} : { delivery: line.delivery })
})

/**
 * Decodes one line's answer with `schema`, synchronously (the schema needs no services and runs no effects). The
 * Effect 3 edition's `decodeEither`.
 *
 * @example
 * ```ts
 * import { Result, Schema } from "effect"
 * import { StructuredOutput } from "effect-openai-batch"
 *
 * const Sentiment = Schema.Struct({ label: Schema.Literals(["positive", "negative"]), score: Schema.Number })
 * const toSentiment = StructuredOutput.decodeResult(Sentiment)
 *
 * const outcome = toSentiment({
 *   _tag: "Succeeded",
 *   id: "batch_req_1",
 *   custom_id: "review-1",
 *   response: {
 *     status_code: 200,
 *     body: { choices: [{ finish_reason: "stop", message: { content: "{\"label\":\"positive\",\"score\":0.9}" } }] }
 *   }
 * })
 * assert.deepStrictEqual(Result.getOrThrow(outcome).value, { label: "positive", score: 0.9 })
 * ```
 *
 * @since 4.0.0
 * @category Decoding
 */
export const decodeResult = <A>(schema: Schema.Decoder<A>): (input: Input) => Outcome<A> => {
  const asText = Internal.takesText(schema.ast)
  const decodeValue = SchemaParser.decodeUnknownResult(schema, Internal.parseOptions)
  return (input) => {
    const line = lineOf(input)
    const prepared = prepare(line, asText)
    if (Result.isFailure(prepared)) return Result.fail(prepared.failure)
    const { result, usage } = prepared.success
    const value = decodeValue(prepared.success.input)
    return Result.isFailure(value)
      ? Result.fail(mismatch(line, value.failure, prepared.success.input, usage))
      : Result.succeed(parsed(line, value.success, result, usage))
  }
}

/**
 * Decodes one line's answer with `schema`, as an `Effect` (the schema may need services or run effects). It fails
 * with the line's `StructuredOutputError`: use `Effect.result` to keep going.
 *
 * @since 4.0.0
 * @category Decoding
 */
export const decode = <A, RD>(
  schema: Schema.Decoder<A, RD>
): (input: Input) => Effect.Effect<Parsed<A>, BatchError.StructuredOutputError, RD> => {
  const asText = Internal.takesText(schema.ast)
  const decodeValue = SchemaParser.decodeUnknownEffect(schema, Internal.parseOptions)
  return (input) =>
    Effect.suspend(() => {
      const line = lineOf(input)
      const prepared = prepare(line, asText)
      if (Result.isFailure(prepared)) return Effect.fail(prepared.failure)
      const { input: answer, result, usage } = prepared.success
      return Effect.mapBoth(decodeValue(answer), {
        onFailure: (issue) => mismatch(line, issue, answer, usage),
        onSuccess: (value) => parsed(line, value, result, usage)
      })
    })
}

/**
 * Maps a stream of results (`BatchResults.stream`, `Job.stream`) to each line's outcome. A bad answer is an outcome, not a
 * failure: the stream goes on, and fails only with its own errors.
 *
 * It runs an `Effect` per line, so that any schema works (one that needs services, or runs effects). For a schema
 * that needs neither, `Stream.map(StructuredOutput.decodeResult(schema))` gives the same outcomes with less work
 * per line.
 *
 * @example
 * ```ts
 * import { Effect, Result, Schema, Stream } from "effect"
 * import { type Batch, BatchResults, StructuredOutput } from "effect-openai-batch"
 *
 * const Answer = Schema.Struct({ city: Schema.String, population: Schema.Number })
 *
 * const answers = (batch: Batch.Batch) =>
 *   BatchResults.stream(batch).pipe(
 *     StructuredOutput.outcomes(Answer),
 *     Stream.runForEach(Result.match({
 *       onFailure: (error) => Effect.logWarning(error.message), // names the line and the field
 *       onSuccess: ({ customId, value }) => Effect.log(`${customId}: ${value.city} has ${value.population}`)
 *     }))
 *   )
 * ```
 *
 * @since 4.0.0
 * @category Streams
 */
export const outcomes = <A, RD>(schema: Schema.Decoder<A, RD>) => {
  const decodeOne = decode(schema)
  return <In extends Input, E, R>(results: Stream.Stream<In, E, R>): Stream.Stream<Outcome<A>, E, R | RD> =>
    results.pipe(
      Stream.mapEffect((input) => Effect.result(decodeOne(input))),
      Operation.streamSpan("StructuredOutput.outcomes", undefined)
    )
}

/**
 * Maps a stream of results to the values of their answers, failing with the first line that has none.
 *
 * @since 4.0.0
 * @category Streams
 */
export const values = <A, RD>(schema: Schema.Decoder<A, RD>) => {
  const decodeOne = decode(schema)
  return <In extends Input, E, R>(
    results: Stream.Stream<In, E, R>
  ): Stream.Stream<Parsed<A>, E | BatchError.StructuredOutputError, R | RD> =>
    results.pipe(Stream.mapEffect(decodeOne), Operation.streamSpan("StructuredOutput.values", undefined))
}

/**
 * The outcomes of a stream collected in memory: the values, and the lines without one (both in stream order).
 *
 * @since 4.0.0
 * @category Collecting
 */
export const partition = <A, E, R>(
  outcomes: Stream.Stream<Outcome<A>, E, R>
): Effect.Effect<
  { readonly parsed: ReadonlyArray<Parsed<A>>; readonly failed: ReadonlyArray<BatchError.StructuredOutputError> },
  E,
  R
> =>
  Effect.suspend(() => {
    const parsed: Array<Parsed<A>> = []
    const failed: Array<BatchError.StructuredOutputError> = []
    return Stream.runForEachArray(outcomes, (outcomes) =>
      Effect.sync(() => {
        for (const outcome of outcomes) {
          if (Result.isSuccess(outcome)) parsed.push(outcome.success)
          else failed.push(outcome.failure)
        }
      })).pipe(
        Effect.as({ parsed, failed }),
        Effect.withSpan("StructuredOutput.partition")
      )
  })

/**
 * A job sink (`Job.run`'s `delivery.sink`) whose `Sink`s receive each line's outcome instead of the raw line: make
 * one per delivery with `sink`. A bad answer reaches the sink as a failed `Result`; a sink that fails on it fails
 * the job.
 *
 * @example
 * ```ts
 * import { Effect, Result, Schema, Sink } from "effect"
 * import { StructuredOutput } from "effect-openai-batch"
 *
 * const Answer = Schema.Struct({ category: Schema.String })
 *
 * // One sink per delivery (a part's batch): counts the values and logs the lines without one.
 * const sink = StructuredOutput.jobSink(Answer, (delivery) =>
 *   Sink.fold(() => 0, () => true, (count, outcome: StructuredOutput.Outcome<typeof Answer.Type>) =>
 *     Result.isSuccess(outcome)
 *       ? Effect.succeed(count + 1)
 *       : Effect.as(Effect.logWarning(`${delivery.batchId} ${outcome.failure.message}`), count)))
 * ```
 *
 * @since 4.0.0
 * @category Sinks
 */
export const jobSink = <A, RS, E, R>(
  schema: Schema.Decoder<A, RS>,
  sink: (delivery: JobSink.Delivery) => Sink.Sink<unknown, Outcome<A>, unknown, E, R>,
  options: { readonly stored?: ((delivery: JobSink.Delivery) => Effect.Effect<boolean, E, R>) | undefined } = {}
): JobSink.JobSink<E, R | RS> => {
  const decodeOne = decode(schema)
  return JobSink.make(
    (delivery) =>
      Sink.mapInputEffect(
        sink(delivery),
        (result: BatchLine.BatchResult) => Effect.result(decodeOne({ ...delivery, result }))
      ),
    options
  )
}

/**
 * A job sink that calls `f` with each line's outcome and its delivery.
 *
 * @since 4.0.0
 * @category Sinks
 */
export const forEach = <A, RS, E, R>(
  schema: Schema.Decoder<A, RS>,
  f: (outcome: Outcome<A>, delivery: JobSink.Delivery) => Effect.Effect<void, E, R>
): JobSink.JobSink<E, R | RS> => jobSink(schema, (delivery) => Sink.forEach((outcome) => f(outcome, delivery)))
