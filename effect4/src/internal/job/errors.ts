/**
 * The job engine's errors, worded as the Effect 3 edition words them. This edition's errors carry their `message`
 * as a field (the Effect 3 edition derives it from the other fields): the engine builds each one here, so that
 * every place that raises it says the same thing.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import type * as Batch from "../../Batch.js"
import * as BatchError from "../../BatchError.js"

const causeMessage = (cause: unknown): string | undefined =>
  typeof cause === "string"
    ? cause
    : Predicate.hasProperty(cause, "message") && typeof cause.message === "string"
    ? cause.message
    : undefined

/** `operation: text`, when the public operation is known. @internal */
export const inOperation = (operation: string | undefined, text: string): string =>
  operation === undefined ? text : `${operation}: ${text}`

const requestAt = (line: number, customId: string | undefined) =>
  `request ${line}${customId === undefined ? "" : ` (${customId})`}`

/** A local file that could not be read, written, created, ... @internal */
export const localFile = (path: string, action: string) => (cause: unknown): BatchError.LocalFileError => {
  const detail = causeMessage(cause)
  return new BatchError.LocalFileError({
    message: `could not ${action} ${path}${detail === undefined ? "" : `: ${detail}`}`,
    path,
    action,
    cause
  })
}

/** A request too large for any part. @internal */
export const requestTooLarge = (fields: {
  readonly line: number
  readonly customId: string
  readonly limit: "bytes" | "tokens" | "requests" | "inputs"
  readonly value: number
  readonly max: number
  readonly operation?: string | undefined
}): BatchError.RequestTooLargeError => {
  const { operation, ...rest } = fields
  return new BatchError.RequestTooLargeError({
    ...rest,
    message: inOperation(
      operation,
      `${
        requestAt(fields.line, fields.customId)
      } is too large for any part: ${fields.value} ${fields.limit}, over the most a part may hold (${fields.max})`
    )
  })
}

/** A `custom_id` used twice in a job. @internal */
export const duplicate = (
  line: number,
  customId: string,
  firstLine: number,
  operation: string | undefined
): BatchError.DuplicateCustomIdError =>
  new BatchError.DuplicateCustomIdError({
    line,
    customId,
    firstLine,
    message: inOperation(operation, `request ${line} repeats custom_id ${customId} of request ${firstLine}`)
  })

/** A request that is not a valid line for the job. @internal */
export const invalidRequest = (
  line: number,
  customId: string | undefined,
  issue: string,
  operation: string | undefined
): BatchError.InvalidRequestError =>
  new BatchError.InvalidRequestError({
    line,
    issue,
    ...(customId === undefined ? {} : { customId }),
    message: inOperation(operation, `${requestAt(line, customId)} is not a valid input line: ${issue}`)
  })

/** An input error of the request check, named after the public operation it was given to. @internal */
export const named = <E extends BatchError.InvalidRequestError | BatchError.EndpointMismatchError>(
  error: E,
  operation: string | undefined
): E => {
  if (operation === undefined) return error
  return (error._tag === "InvalidRequestError"
    ? new BatchError.InvalidRequestError({
      line: error.line,
      issue: error.issue,
      ...(error.customId === undefined ? {} : { customId: error.customId }),
      message: inOperation(operation, error.message)
    })
    : new BatchError.EndpointMismatchError({
      line: error.line,
      customId: error.customId,
      url: error.url,
      endpoint: error.endpoint,
      message: inOperation(operation, error.message)
    })) as E
}

/** More requests than one batch may hold (a one-batch run). @internal */
export const tooManyLines = (line: number, maxLines: number, operation: string | undefined) =>
  new BatchError.TooManyLinesError({
    line,
    maxLines,
    message: inOperation(operation, `request ${line} is over the limit of ${maxLines} requests per batch`)
  })

/** More bytes than one batch's file may hold (a one-batch run). @internal */
export const inputTooLarge = (line: number, bytes: number, maxBytes: number, operation: string | undefined) =>
  new BatchError.InputTooLargeError({
    line,
    bytes,
    maxBytes,
    message: inOperation(
      operation,
      `request ${line} takes the input file to ${bytes} bytes, over the limit of ${maxBytes}`
    )
  })

/** No request at all. @internal */
export const emptyInput = (): BatchError.EmptyInputError =>
  new BatchError.EmptyInputError({ message: "the input has no requests: a batch needs at least one" })

const lineError = (item: Batch.BatchErrorItem) =>
  `${item.code ?? "error"}${item.message === undefined ? "" : `: ${item.message}`}${
    item.line === undefined ? "" : ` (line ${item.line} of its input file)`
  }`

/** The fields of a part's failure. @internal */
export interface PartFailure {
  readonly jobId: string
  readonly part: number
  readonly reason: "failed" | "limits" | "rejected" | "delivery"
  readonly batch?: Batch.Batch | undefined
  readonly errors: ReadonlyArray<Batch.BatchErrorItem>
  readonly inputLines?: ReadonlyArray<number | null> | undefined
  readonly fileId?: string | undefined
  readonly cause?: unknown
}

const partFailure = (error: PartFailure): string => {
  switch (error.reason) {
    case "failed": {
      const first = error.errors[0]
      const inputLine = error.inputLines?.find((line) => line !== null)
      return `batch ${error.batch?.id ?? "(unknown)"} failed${first === undefined ? "" : `: ${lineError(first)}`}${
        inputLine === undefined || inputLine === null ? "" : ` (input line ${inputLine})`
      }`
    }
    case "limits":
      return `its batches kept failing with ${error.errors[0]?.code ?? "an enqueued limit"} after every re-send allowed`
    case "rejected": {
      const detail = causeMessage(error.cause)
      return `the API refused its batch${detail === undefined ? "" : `: ${detail}`}`
    }
    case "delivery": {
      const detail = causeMessage(error.cause)
      return `the results file ${error.fileId ?? "(unknown)"}${
        error.batch === undefined ? "" : ` of batch ${error.batch.id}`
      } could not be read after every retry${detail === undefined ? "" : ` (${detail})`}`
    }
  }
}

/** A part that could not be completed. @internal */
export const partFailed = (fields: PartFailure): BatchError.PartFailedError =>
  new BatchError.PartFailedError({
    ...fields,
    message: `job ${fields.jobId}, part ${fields.part}: ${partFailure(fields)}`
  })

/** A re-run that found a batch made from other requests than the part has now. @internal */
export const inputChanged = (fields: {
  readonly jobId: string
  readonly part: number
  readonly batchId: string
  readonly expected: string
  readonly found: string
}): BatchError.JobInputChangedError =>
  new BatchError.JobInputChangedError({
    ...fields,
    message:
      `job ${fields.jobId}: batch ${fields.batchId} of part ${fields.part} was made from other requests than the part has now (the input or the options that split it changed)`
  })
