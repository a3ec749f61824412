/**
 * Whether a value is a valid request line: the answer `Schema.is(BatchLine.BatchRequestInput)` gives, without
 * building the decoded copy the Schema's parser builds on the way (every body key copied into a new object); and
 * `checkRequest`, the check every input path uses (this first, the Schema for the message).
 *
 * Written by hand for one measured reason: planning a job checks every request, and the Schema's decode was a
 * quarter of planning's CPU (a 300,000-request plan: 0.9 s of 3.6 s in `ParseResult`, 2026-11-30). The Schema
 * stays the contract: a value this refuses is decoded by the Schema for its error message, and
 * test/job/requestCheck.test.ts holds the two to the same answer on generated valid lines (`Arbitrary`) and on
 * every way a line can be wrong.
 *
 * The Effect 4 edition: `checkRequest` and `checkLine` answer a `Result` (Effect 3: an `Either`).
 */
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as SchemaParser from "effect/SchemaParser"
import * as BatchError from "../BatchError.js"
import * as BatchLine from "../BatchLine.js"
import * as Params from "./params.js"

type Body = { readonly [key: string]: unknown }

const isString = (value: unknown): value is string => typeof value === "string"
const isNumber = (value: unknown): value is number => typeof value === "number"
/** By index, as the Schema reads an array: `Array.prototype.every` would skip the holes of a sparse array. */
const every = (value: unknown, item: (value: unknown) => boolean): boolean => {
  if (!Array.isArray(value)) return false
  for (let i = 0; i < value.length; i++) if (!item(value[i])) return false
  return true
}

const isChatBody = (body: Body): boolean =>
  isString(body["model"]) &&
  every(body["messages"], (message) => Predicate.isObject(message) && isString(message["role"]))

const isEmbeddingBody = (body: Body): boolean => {
  if (!isString(body["model"])) return false
  const input = body["input"]
  return isString(input) || every(input, isString) || every(input, isNumber) ||
    every(input, (item) => every(item, isNumber))
}

const isResponseBody = (body: Body): boolean => isString(body["model"])

/**
 * `true` exactly when `BatchLine.BatchRequestInput` accepts `value`.
 *
 * @internal
 */
export const isRequest = (value: unknown): value is BatchLine.BatchRequestInput => {
  if (!Predicate.isObject(value)) return false
  const customId = value["custom_id"]
  const body = value["body"]
  if (!isString(customId) || customId.length === 0 || value["method"] !== "POST" || !Predicate.isObject(body)) {
    return false
  }
  switch (value["url"]) {
    case "/v1/chat/completions":
      return isChatBody(body)
    case "/v1/embeddings":
      return isEmbeddingBody(body)
    case "/v1/responses":
      return isResponseBody(body)
    default:
      return isString(value["url"])
  }
}

const decodeRequest = SchemaParser.decodeUnknownResult(BatchLine.BatchRequestInput)

const index = (value: unknown, item: (value: unknown) => boolean): number => {
  if (!Array.isArray(value)) return -1
  for (let i = 0; i < value.length; i++) if (!item(value[i])) return i
  return -1
}

/**
 * Why a value is not a request line, as one line naming the field and the rule: never the value (a prompt may be
 * private), never a dump of the schema. The rules are `isRequest`'s, in its order; `undefined` when it is one.
 */
const explain = (value: unknown): string | undefined => {
  if (!Predicate.isObject(value)) return "must be a JSON object"
  const customId = value["custom_id"]
  if (!isString(customId) || customId.length === 0) return "custom_id must be a non-empty string"
  if (value["method"] !== "POST") return "method must be \"POST\""
  if (!isString(value["url"])) return "url must be a string"
  const body = value["body"]
  if (!Predicate.isObject(body)) return "body must be an object"
  switch (value["url"]) {
    case "/v1/chat/completions": {
      if (!isString(body["model"])) return "body.model must be a string"
      if (!Array.isArray(body["messages"])) return "body.messages must be an array of messages"
      const bad = index(body["messages"], (message) => Predicate.isObject(message) && isString(message["role"]))
      return bad < 0 ? undefined : `body.messages[${bad}] must be an object with a string role`
    }
    case "/v1/embeddings": {
      if (!isString(body["model"])) return "body.model must be a string"
      return isEmbeddingBody(body)
        ? undefined
        : "body.input must be a string, an array of strings, an array of token ids or an array of arrays of token ids"
    }
    case "/v1/responses":
      return isString(body["model"]) ? undefined : "body.model must be a string"
    default:
      return undefined
  }
}

/**
 * A request line, or why it is not one (the Schema's message). Never throws: a value that makes the Schema's parser
 * throw (effect 3.22's union parser called `String()` on a discriminating field, which throws for an object without
 * a usable `toString`, such as the valid JSON line `{"method": {"toString": {}}}`) is an invalid line here, not a
 * defect.
 *
 * @internal
 */
export const checkRequest = (value: unknown): Result.Result<BatchLine.BatchRequestInput, string> => {
  if (isRequest(value)) return Result.succeed(value)
  const why = explain(value)
  if (why !== undefined) return Result.fail(why)
  // Unreachable while `isRequest` and `explain` agree (the tests hold them to the Schema); the Schema decides then.
  try {
    return Result.mapError(decodeRequest(value), (issue) => {
      const described = Params.describe(issue)
      return described.field === undefined ? described.issue : `${described.field} ${described.issue}`
    })
  } catch {
    return Result.fail("cannot be read as a request line")
  }
}

/** The error for request `line` that is not a valid input line, naming its `custom_id` when it has one. @internal */
export const invalidRequest = (line: number, request: unknown, issue: string): BatchError.InvalidRequestError => {
  const customId = customIdOf(request)
  return new BatchError.InvalidRequestError({
    line,
    issue,
    message: `request ${line}${customId === undefined ? "" : ` (${customId})`} is not a valid input line: ${issue}`,
    ...(customId === undefined ? {} : { customId })
  })
}

/** The `custom_id` of a value that may be a request, if it has a string one. @internal */
export const customIdOf = (request: unknown): string | undefined =>
  Predicate.hasProperty(request, "custom_id") && typeof request.custom_id === "string" ? request.custom_id : undefined

const encoder = new TextEncoder()

/** UTF-8 length without encoding: ASCII is one byte per code unit; the rest is measured. @internal */
export const utf8Length = (text: string): number =>
  // eslint-disable-next-line no-control-regex
  /^[\u0000-\u007f]*$/.test(text) ? text.length : encoder.encode(text).length

/** One input line, checked: the request, its JSONL line (with the newline) and the line's bytes. @internal */
export interface CheckedLine {
  readonly request: BatchLine.BatchRequestInput
  readonly text: string
  readonly bytes: number
}

/**
 * The check every input line goes through, in a batch's input file (`BatchInput`) and in a job's parts (the
 * planner): a valid request line, for `endpoint`, that can be written as JSON. The caller's object is written, not
 * a decoded copy: every field it holds is sent as it is.
 *
 * @internal
 */
export const checkLine = (
  raw: unknown,
  line: number,
  endpoint: string,
  scope: "batch" | "job"
): Result.Result<CheckedLine, BatchError.InvalidRequestError | BatchError.EndpointMismatchError> => {
  const checked = checkRequest(raw)
  if (Result.isFailure(checked)) return Result.fail(invalidRequest(line, raw, checked.failure))
  const request = checked.success
  if (request.url !== endpoint) {
    return Result.fail(
      new BatchError.EndpointMismatchError({
        line,
        customId: request.custom_id,
        url: request.url,
        endpoint,
        message:
          `request ${line} (${request.custom_id}) is for ${request.url}, but the ${scope}'s endpoint is ${endpoint}`
      })
    )
  }
  let text: string
  try {
    text = `${JSON.stringify(raw)}\n`
  } catch (error) {
    return Result.fail(
      invalidRequest(line, raw, `cannot be written as JSON (${error instanceof Error ? error.name : "unwritable"})`)
    )
  }
  return Result.succeed({ request, text, bytes: utf8Length(text) })
}

/**
 * The embedding inputs of a `/v1/embeddings` request (what the API's cap of 50,000 per batch counts): a string is
 * one, an array of strings one per item, an array of token arrays one per inner array, one array of token ids one.
 *
 * @internal
 */
export const embeddingInputs = (request: BatchLine.BatchRequestInput): number => {
  const input = request.body["input"]
  if (!Array.isArray(input)) return 1
  return input.length > 0 && input.every(isNumber) ? 1 : input.length
}
