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
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as BatchError from "../BatchError.js"
import * as BatchLine from "../BatchLine.js"

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
  every(body["messages"], (message) => Predicate.isRecord(message) && isString(message["role"]))

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
  if (!Predicate.isRecord(value)) return false
  const customId = value["custom_id"]
  const body = value["body"]
  if (!isString(customId) || customId.length === 0 || value["method"] !== "POST" || !Predicate.isRecord(body)) {
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

const decodeRequest = ParseResult.decodeUnknownEither(BatchLine.BatchRequestInput)

/**
 * A request line, or why it is not one (the Schema's message). Never throws: effect 3.22's union parser calls
 * `String()` on a discriminating field, which throws for an object without a usable `toString` (the line
 * `{"method": {"toString": {}}}` is valid JSON); that is an invalid line here, not a defect.
 *
 * @internal
 */
export const checkRequest = (value: unknown): Either.Either<BatchLine.BatchRequestInput, string> => {
  if (isRequest(value)) return Either.right(value)
  try {
    return Either.mapLeft(decodeRequest(value), (issue) => ParseResult.TreeFormatter.formatIssueSync(issue))
  } catch (error) {
    return Either.left(`cannot be read as a request line (${error instanceof Error ? error.message : "unreadable"})`)
  }
}

/** The `custom_id` of a value that may be a request, if it has a string one. @internal */
export const customIdOf = (request: unknown): string | undefined =>
  Predicate.hasProperty(request, "custom_id") && typeof request.custom_id === "string" ? request.custom_id : undefined

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
