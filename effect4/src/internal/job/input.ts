/**
 * Reading a job's input: an array or iterable, a `Stream`, or a JSONL file by path or `Blob`, as a stream of
 * unknown values (a file's lines parsed, nothing else touched), and the errors that name a line or a file.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as BatchError from "../../BatchError.js"
import type * as BatchLine from "../../BatchLine.js"
import { decodeLines, parseJson } from "../jsonl.js"
import { invalidRequest } from "../requestCheck.js"

/** A job's requests (`JobPlan.Input`). @internal */
export type Input<E = never, R = never> =
  | Iterable<BatchLine.BatchRequestInput>
  | Stream.Stream<BatchLine.BatchRequestInput, E, R>
  | { readonly path: string }
  | Blob

const isStream = <E, R>(input: Input<E, R>): input is Stream.Stream<BatchLine.BatchRequestInput, E, R> =>
  Stream.isStream(input)

/** A local file error of `action` on `path`. @internal */
export const localFile = (path: string, action: string) => (cause: unknown) =>
  new BatchError.LocalFileError({ path, action, cause })

/**
 * The longest line of an input file: the API's largest batch file (200 MB; a character is at least a byte), so no
 * batch could hold a longer request. Without a cap, a line past V8's longest string (a whole file written as one JSON
 * array, say) would end the read with a `RangeError` instead of an error naming the line. @internal
 */
export const maxLineLength = 200_000_000

/**
 * A request of a file read after blank lines, with its line: the planner counts a line per request, and a blank
 * line (skipped, no request) would put its count behind the line an editor shows. The other requests come bare.
 * @internal
 */
export class Numbered {
  constructor(readonly line: number, readonly value: unknown) {}
}

/** The line of `request`, the one after `previous` unless it says otherwise (`Numbered`). @internal */
export const lineOf = (request: unknown, previous: number): number =>
  request instanceof Numbered ? request.line : previous + 1

/** A request without its line. @internal */
export const valueOf = (request: unknown): unknown => request instanceof Numbered ? request.value : request

/** Requests as unknown values: a JSONL file is parsed, anything else taken as it is. @internal */
export const requestsOf = <E, R>(
  input: Input<E, R>,
  maxLength: number = maxLineLength
): Stream.Stream<
  unknown,
  E | BatchError.InvalidRequestError | BatchError.LocalFileError,
  R | FileSystem.FileSystem
> => {
  if (isStream(input)) return input
  const jsonl = (bytes: Stream.Stream<Uint8Array, BatchError.LocalFileError, FileSystem.FileSystem>) =>
    Stream.suspend(() => {
      // The line of the previous request: a request after blank lines carries its own (`Numbered`).
      let last = 0
      return decodeLines(
        (text: string, line: number) => {
          const parsed = parseJson(text)
          if (Result.isFailure(parsed)) {
            return Result.fail(invalidRequest(line, undefined, `not JSON (${parsed.failure})`))
          }
          const after = last
          last = line
          return Result.succeed(line === after + 1 ? parsed.success : new Numbered(line, parsed.success))
        },
        "fail",
        {
          maxLength,
          tooLong: (line) =>
            invalidRequest(line, undefined, `is longer than ${maxLength} characters: no batch file could hold it`)
        }
      )(bytes)
    })
  if (input instanceof Blob) {
    return jsonl(Stream.fromReadableStream({ evaluate: () => input.stream(), onError: localFile("<Blob>", "read") }))
  }
  if (Predicate.hasProperty(input, "path") && typeof input.path === "string" && !(Symbol.iterator in input)) {
    const path = input.path
    return jsonl(
      Stream.unwrap(
        Effect.map(
          Effect.service(FileSystem.FileSystem),
          (fs) => Stream.mapError(fs.stream(path), localFile(path, "read"))
        )
      )
    )
  }
  return Stream.fromIterable(input as Iterable<BatchLine.BatchRequestInput>)
}
