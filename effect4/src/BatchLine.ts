/**
 * The lines of batch files: `BatchRequestInput` (one request of the input file) and `BatchRequestOutput` (one line
 * of the output or error file), and the tagged union a results line decodes to (`Succeeded`, `FailedResponse`,
 * `Errored`) so that a caller matches on what happened instead of probing nullable fields.
 *
 * Wire names stay snake_case. Request bodies of `/v1/chat/completions`, `/v1/embeddings` and `/v1/responses` are
 * typed loosely: the fields the API requires are checked, every other field is allowed and kept as it is. Any
 * other endpoint's body is a JSON object.
 *
 * @since 4.0.0
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import { optional } from "./internal/nullable.js"

// ---------------------------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------------------------

/** Extra fields are allowed and preserved (Schema drops unknown keys of a plain struct). */
const rest = [Schema.Record(Schema.String, Schema.Unknown)] as const

/** A struct that keeps the fields it does not name. */
const open = <const Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.StructWithRest(Schema.Struct(fields), rest)

/**
 * A JSON object: the body of a request to an endpoint without a typed body, and of every response. Checked as an
 * object and passed through as it is (a `Schema.Record` would copy every key of every line, which is most of the
 * cost of decoding a results file).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const JsonObject: Schema.Codec<{ readonly [key: string]: unknown }> = Schema.declare(
  (input: unknown): input is { readonly [key: string]: unknown } => Predicate.isObject(input),
  { identifier: "JsonObject", description: "a JSON object" }
)

/**
 * @since 4.0.0
 * @category Models
 */
export type JsonObject = typeof JsonObject.Type

/**
 * One message of a chat completion request. `content` stays JSON: it is a string or an array of parts whose kinds
 * the API keeps adding.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const ChatMessage = open({ role: Schema.String, content: Schema.optional(Schema.Unknown) })

/**
 * @since 4.0.0
 * @category Models
 */
export type ChatMessage = typeof ChatMessage.Type

/**
 * The body of a `/v1/chat/completions` request: `model` and `messages` are checked, anything else is kept.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const ChatCompletionBody = open({ model: Schema.String, messages: Schema.Array(ChatMessage) })

/**
 * @since 4.0.0
 * @category Models
 */
export type ChatCompletionBody = typeof ChatCompletionBody.Type

/**
 * The body of a `/v1/embeddings` request: `input` is a string, strings, or token arrays.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const EmbeddingBody = open({
  model: Schema.String,
  input: Schema.Union([
    Schema.String,
    Schema.Array(Schema.String),
    Schema.Array(Schema.Number),
    Schema.Array(Schema.Array(Schema.Number))
  ])
})

/**
 * @since 4.0.0
 * @category Models
 */
export type EmbeddingBody = typeof EmbeddingBody.Type

/**
 * The body of a `/v1/responses` request: `model` is checked; `input` (a string or items) stays JSON.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const ResponseBody = open({ model: Schema.String, input: Schema.optional(Schema.Unknown) })

/**
 * @since 4.0.0
 * @category Models
 */
export type ResponseBody = typeof ResponseBody.Type

// ---------------------------------------------------------------------------------------------------------------
// Input lines
// ---------------------------------------------------------------------------------------------------------------

const typedUrls: ReadonlySet<string> = new Set(["/v1/chat/completions", "/v1/embeddings", "/v1/responses"])

const CustomId = Schema.String.check(Schema.isMinLength(1, { message: "custom_id must not be empty" }))

/** A request line for one endpoint: its url is that endpoint, its body that endpoint's body. */
const requestLine = <const Url extends string, Body extends Schema.Top>(url: Url, body: Body) =>
  Schema.Struct({ custom_id: CustomId, method: Schema.Literal("POST"), url: Schema.Literal(url), body })

/**
 * A line of the input file for `/v1/chat/completions`.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const ChatCompletionRequest = requestLine("/v1/chat/completions", ChatCompletionBody)

/**
 * A line of the input file for `/v1/embeddings`.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const EmbeddingRequest = requestLine("/v1/embeddings", EmbeddingBody)

/**
 * A line of the input file for `/v1/responses`.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const ResponseRequest = requestLine("/v1/responses", ResponseBody)

/**
 * A line of the input file for any other endpoint: the body is a JSON object. A typed endpoint's url is refused
 * here, so a malformed chat body fails instead of passing as an untyped one.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const OtherRequest = Schema.Struct({
  custom_id: CustomId,
  method: Schema.Literal("POST"),
  url: Schema.String.check(
    Schema.makeFilter((url) => !typedUrls.has(url) || `${url} has a typed body; it did not match it`)
  ),
  body: JsonObject
})

/**
 * One request of a batch input file (`BatchRequestInput` in OpenAI's reference).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchRequestInput = Schema.Union([ChatCompletionRequest, EmbeddingRequest, ResponseRequest, OtherRequest])

/**
 * @since 4.0.0
 * @category Models
 */
export type BatchRequestInput = typeof BatchRequestInput.Type

/**
 * A `/v1/chat/completions` line.
 *
 * @example
 * ```ts
 * import { BatchLine } from "effect-openai-batch"
 *
 * const line = BatchLine.chatCompletion("question-1", {
 *   model: "gpt-4o-mini",
 *   messages: [{ role: "user", content: "What is 2 + 2?" }],
 *   max_tokens: 10 // fields the types do not name are kept
 * })
 * assert.strictEqual(line.url, "/v1/chat/completions")
 * assert.strictEqual(line.method, "POST")
 * ```
 *
 * @since 4.0.0
 * @category Constructors
 */
export const chatCompletion = (custom_id: string, body: ChatCompletionBody): typeof ChatCompletionRequest.Type => ({
  custom_id,
  method: "POST",
  url: "/v1/chat/completions",
  body
})

/**
 * A `/v1/embeddings` line.
 *
 * @example
 * ```ts
 * import { BatchLine } from "effect-openai-batch"
 *
 * const texts = ["a first document", "a second one"]
 * const lines = texts.map((input, i) => BatchLine.embedding(`doc-${i}`, { model: "text-embedding-3-small", input }))
 * assert.deepStrictEqual(lines.map((line) => line.custom_id), ["doc-0", "doc-1"])
 * ```
 *
 * @since 4.0.0
 * @category Constructors
 */
export const embedding = (custom_id: string, body: EmbeddingBody): typeof EmbeddingRequest.Type => ({
  custom_id,
  method: "POST",
  url: "/v1/embeddings",
  body
})

/**
 * A `/v1/responses` line.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const response = (custom_id: string, body: ResponseBody): typeof ResponseRequest.Type => ({
  custom_id,
  method: "POST",
  url: "/v1/responses",
  body
})

/**
 * A line for any endpoint, with a JSON body.
 *
 * @example
 * ```ts
 * import { BatchLine } from "effect-openai-batch"
 *
 * // any other endpoint the Batch API takes, with an untyped body
 * const line = BatchLine.request("mod-1", "/v1/moderations", { model: "omni-moderation-latest", input: "hello" })
 * assert.strictEqual(line.url, "/v1/moderations")
 * ```
 *
 * @since 4.0.0
 * @category Constructors
 */
export const request = (custom_id: string, url: string, body: JsonObject): BatchRequestInput => ({
  custom_id,
  method: "POST",
  url,
  body
})

// ---------------------------------------------------------------------------------------------------------------
// Output lines
// ---------------------------------------------------------------------------------------------------------------

/**
 * The `response` of a result.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const LineResponse = Schema.Struct({
  status_code: Schema.Number,
  request_id: Schema.optional(Schema.String),
  body: JsonObject
})

/**
 * @since 4.0.0
 * @category Models
 */
export type LineResponse = typeof LineResponse.Type

/**
 * The `error` of an `Errored` result: a failure that is not an HTTP response (the batch expired before the request
 * ran, ...).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const LineError = Schema.Struct({
  code: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
})

/**
 * @since 4.0.0
 * @category Models
 */
export type LineError = typeof LineError.Type

// The wire form accepts null or absent where the reference says string. It uses `optional(NullOr(...))`, not the
// null-dropping `optional` of the wire model: that one is a transformation (it tripled the decode time per line on
// Effect 3); `classify` drops the nulls instead.
const nullable = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * One line of an output or error file, as sent (`BatchRequestOutput` in OpenAI's reference).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchRequestOutput = Schema.Struct({
  id: Schema.String,
  custom_id: Schema.String,
  response: Schema.NullOr(Schema.Struct({
    status_code: Schema.Number,
    request_id: nullable(Schema.String),
    body: JsonObject
  })),
  error: Schema.NullOr(Schema.Struct({ code: nullable(Schema.String), message: nullable(Schema.String) }))
})

/**
 * @since 4.0.0
 * @category Models
 */
export type BatchRequestOutput = typeof BatchRequestOutput.Type

/**
 * OpenAI's error object (`{ message, type, param, code }`), read leniently.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const ApiErrorObject = Schema.Struct({
  message: optional(Schema.String),
  type: optional(Schema.String),
  param: optional(Schema.String),
  code: optional(Schema.Union([Schema.String, Schema.Number]))
})

/**
 * @since 4.0.0
 * @category Models
 */
export type ApiErrorObject = typeof ApiErrorObject.Type

/**
 * The request ran and the endpoint answered 2xx; `response.body` is its JSON answer.
 *
 * Results are tagged structs (plain objects), not classes: constructing a `Schema.Class` instance, even without
 * validation, was a large share of the time to decode a results line.
 *
 * @since 4.0.0
 * @category Results
 */
export const Succeeded = Schema.TaggedStruct("Succeeded", {
  id: Schema.String,
  custom_id: Schema.String,
  response: LineResponse
}).annotate({ identifier: "effect-openai-batch/BatchLine/Succeeded" })

/**
 * @since 4.0.0
 * @category Results
 */
export interface Succeeded extends Schema.Schema.Type<typeof Succeeded> {}

/**
 * The request ran and the endpoint answered non-2xx. `error` is OpenAI's error object, read from
 * `response.body.error` (where the API puts it, with the line's own `error` null: openai/openai-openapi#302);
 * absent when the body has no such envelope.
 *
 * @since 4.0.0
 * @category Results
 */
export const FailedResponse = Schema.TaggedStruct("FailedResponse", {
  id: Schema.String,
  custom_id: Schema.String,
  response: LineResponse,
  error: Schema.optional(ApiErrorObject)
}).annotate({ identifier: "effect-openai-batch/BatchLine/FailedResponse" })

/**
 * @since 4.0.0
 * @category Results
 */
export interface FailedResponse extends Schema.Schema.Type<typeof FailedResponse> {}

/**
 * The request did not produce a response: the line's `error` (e.g. `batch_expired`) says why.
 *
 * @since 4.0.0
 * @category Results
 */
export const Errored = Schema.TaggedStruct("Errored", {
  id: Schema.String,
  custom_id: Schema.String,
  error: LineError
}).annotate({ identifier: "effect-openai-batch/BatchLine/Errored" })

/**
 * @since 4.0.0
 * @category Results
 */
export interface Errored extends Schema.Schema.Type<typeof Errored> {}

/**
 * The union of the three results, as a schema.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchResult = Schema.Union([Succeeded, FailedResponse, Errored])

/**
 * What a results line means: match on `_tag` (`Match.tag`, `switch`) or use `isSucceeded`.
 *
 * @since 4.0.0
 * @category Results
 */
export type BatchResult = Succeeded | FailedResponse | Errored

/**
 * @since 4.0.0
 * @category Results
 */
export const isSucceeded = (result: BatchResult): result is Succeeded => result._tag === "Succeeded"

const notRunCodes: ReadonlySet<string> = new Set(["batch_expired", "batch_cancelled"])

/**
 * True for the error line of a request that never ran: its batch expired (`batch_expired`) or was cancelled
 * (`batch_cancelled`) first. Such a line is no result: the request can be sent again.
 *
 * @since 4.0.0
 * @category Results
 */
export const neverRan = (result: BatchResult): boolean =>
  result._tag === "Errored" && notRunCodes.has(result.error.code ?? "")

const decodeErrorObject = Schema.decodeUnknownResult(ApiErrorObject)

/**
 * Classifies a decoded line. A line with neither `response` nor `error` is refused (it says nothing).
 *
 * @since 4.0.0
 * @category Results
 */
export const classify = (line: BatchRequestOutput): Result.Result<BatchResult, string> => {
  if (line.error !== null) {
    const { code, message } = line.error
    const error = code == null
      ? (message == null ? {} : { message })
      : (message == null ? { code } : { code, message })
    return Result.succeed({ _tag: "Errored", id: line.id, custom_id: line.custom_id, error })
  }
  const wire = line.response
  if (wire === null) return Result.fail("the line has neither a response nor an error")
  // request_id: null or absent both become an absent key.
  const response: LineResponse = wire.request_id == null
    ? { status_code: wire.status_code, body: wire.body }
    : { status_code: wire.status_code, request_id: wire.request_id, body: wire.body }
  if (response.status_code >= 200 && response.status_code < 300) {
    return Result.succeed({ _tag: "Succeeded", id: line.id, custom_id: line.custom_id, response })
  }
  const envelope = response.body["error"]
  const error = envelope !== null && typeof envelope === "object" ? decodeErrorObject(envelope) : undefined
  return Result.succeed(
    error !== undefined && Result.isSuccess(error)
      ? { _tag: "FailedResponse", id: line.id, custom_id: line.custom_id, response, error: error.success }
      : { _tag: "FailedResponse", id: line.id, custom_id: line.custom_id, response }
  )
}

/**
 * A results line (its wire form) decoded into `Succeeded | FailedResponse | Errored`; encoding gives the wire form
 * back.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchResultFromLine: Schema.Codec<BatchResult, typeof BatchRequestOutput.Encoded> = BatchRequestOutput
  .pipe(Schema.decodeTo(Schema.toType(BatchResult), {
    decode: SchemaGetter.transformEffect((line: BatchRequestOutput) =>
      Result.match(classify(line), {
        onSuccess: Effect.succeed,
        onFailure: (message) => Effect.fail(new SchemaIssue.InvalidValue({ message }, line))
      })
    ),
    encode: SchemaGetter.transform((result: BatchResult): BatchRequestOutput =>
      result._tag === "Errored"
        ? { id: result.id, custom_id: result.custom_id, response: null, error: { ...result.error } }
        : { id: result.id, custom_id: result.custom_id, response: { ...result.response }, error: null }
    )
  }))
