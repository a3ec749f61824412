/**
 * A results line, decoded from its wire form, classified into `Succeeded | FailedResponse | Errored`: the step
 * `BatchLine.BatchResultFromLine` and `BatchResults` (after its generated decoder) share.
 *
 * @internal
 */
import type * as Either from "effect/Either"
import type * as BatchLine from "../BatchLine.js"

/**
 * The classifier, given the decoder of an error envelope (`BatchLine.ApiErrorObject`'s: the schema lives in the
 * public module). It answers the result, or why the line is refused: a line with neither `response` nor `error`
 * says nothing.
 *
 * @internal
 */
export const make = (
  decodeErrorObject: (u: unknown) => Either.Either<BatchLine.ApiErrorObject, unknown>
) =>
(line: BatchLine.BatchRequestOutput): BatchLine.BatchResult | string => {
  if (line.error !== null) {
    const { code, message } = line.error
    const error = code == null
      ? (message == null ? {} : { message })
      : (message == null ? { code } : { code, message })
    return { _tag: "Errored", id: line.id, custom_id: line.custom_id, error }
  }
  const wire = line.response
  if (wire === null) return "the line has neither a response nor an error"
  // request_id: null or absent both become an absent key.
  const response: BatchLine.LineResponse = wire.request_id == null
    ? { status_code: wire.status_code, body: wire.body }
    : { status_code: wire.status_code, request_id: wire.request_id, body: wire.body }
  if (response.status_code >= 200 && response.status_code < 300) {
    return { _tag: "Succeeded", id: line.id, custom_id: line.custom_id, response }
  }
  const envelope = response.body["error"]
  const error = envelope !== null && typeof envelope === "object" ? decodeErrorObject(envelope) : undefined
  return error !== undefined && error._tag === "Right"
    ? { _tag: "FailedResponse", id: line.id, custom_id: line.custom_id, response, error: error.right }
    : { _tag: "FailedResponse", id: line.id, custom_id: line.custom_id, response }
}
