/**
 * Incremental JSONL decoding with line numbers: bytes in, decoded values out, one pass per chunk.
 *
 * `@effect/platform/Ndjson` (unpack/unpackSchema with `ignoreEmptyLines`) does the splitting and parsing, but its
 * errors carry no line number and a parse error loses the good lines of the same chunk; this does both in one
 * loop per chunk (see the report's micro-benchmark for the cost of each option).
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"

/** @internal */
export type OnMalformed<E> = "fail" | ((error: E) => Effect.Effect<void>)

/**
 * The longest line to read, in characters, and the error for a longer one (given its 1-based line number and its
 * start). Without a cap, a line is held whole however long it grows, and past V8's longest string (2^29 − 24
 * characters) its decoding dies with a RangeError.
 *
 * @internal
 */
export interface LineCap<E> {
  readonly maxLength: number
  readonly tooLong: (lineNumber: number, head: string) => E
}

/**
 * The most lines emitted in one chunk: a transport may deliver megabytes at once, and a chunk of tens of thousands
 * of elements overflows the stack of some stream operators (`Stream.runFold` over 60,000 results did).
 */
const maxChunk = 4096

const isBlank = (text: string): boolean => {
  // Fast path: a JSON object line starts with "{".
  if (text.charCodeAt(0) === 123) return false
  return text.trim().length === 0
}

/**
 * Splits a byte stream into lines (LF or CRLF; the last line may lack its newline; a UTF-8 character may straddle
 * two chunks), skips blank lines, and decodes each line with `decodeLine`, which receives the 1-based physical
 * line number. A decode failure fails the stream (after emitting the lines before it) or, with a callback, is
 * handed to it and skipped. With a `cap`, a line longer than it is such a failure too, found as soon as the line
 * outgrows it (the rest of a skipped one is read past, never held).
 *
 * @internal
 */
export const decodeLines = <A, E1>(
  decodeLine: (text: string, lineNumber: number) => Either.Either<A, E1>,
  onMalformed: OnMalformed<E1> = "fail",
  cap?: LineCap<E1>
) =>
<E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<A, E | E1, R> => {
  const channel = Channel.suspend(() => {
    const decoder = new TextDecoder("utf-8")
    let pending = ""
    let lineNumber = 0
    let out: Array<A> = []
    let skipped: Array<E1> = []
    let failure: E1 | undefined
    let failed = false
    const maxLength = cap?.maxLength ?? Infinity
    /** Inside a line over the cap that was skipped: its rest is read past, up to its newline. */
    let discarding = false

    /** Hands a bad line's error over; returns false when the stream must stop. */
    const malformed = (error: E1): boolean => {
      if (onMalformed === "fail") {
        failure = error
        failed = true
        return false
      }
      skipped.push(error)
      return true
    }

    /** Decodes one line into `out`; returns false when the stream must stop. */
    const line = (text: string): boolean => {
      lineNumber++
      if (text.length === 0 || isBlank(text)) return true
      if (text.length > maxLength && cap !== undefined) return malformed(cap.tooLong(lineNumber, text.slice(0, 1000)))
      const decoded = decodeLine(text, lineNumber)
      if (Either.isRight(decoded)) {
        out.push(decoded.right)
        return true
      }
      return malformed(decoded.left)
    }

    const feed = (chunk: string): void => {
      let text = chunk
      if (discarding) {
        const newline = chunk.indexOf("\n")
        if (newline === -1) return
        discarding = false
        text = chunk.slice(newline + 1)
      } else if (pending.length > 0) {
        text = pending + chunk
      }
      let start = 0
      let newline = text.indexOf("\n")
      while (newline !== -1) {
        const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline
        if (!line(text.slice(start, end))) return
        start = newline + 1
        newline = text.indexOf("\n", start)
      }
      pending = text.slice(start)
      // A trailing "\r" may be the CR of a CRLF whose LF is in the next chunk: not counted, as the line would not count it.
      if (pending.length - (pending.endsWith("\r") ? 1 : 0) > maxLength && cap !== undefined) {
        // Known too long before its end: reported now, and not held any longer.
        const head = pending.slice(0, 1000)
        pending = ""
        lineNumber++
        discarding = malformed(cap.tooLong(lineNumber, head))
      }
    }

    const flush = () => {
      const batch = out
      const bad = skipped
      out = []
      skipped = []
      const write = batch.length === 0
        ? Channel.void
        : batch.length <= maxChunk
        ? Channel.write(Chunk.unsafeFromArray(batch))
        : Channel.writeAll(...Array.from(
          { length: Math.ceil(batch.length / maxChunk) },
          (_, i) => Chunk.unsafeFromArray(batch.slice(i * maxChunk, (i + 1) * maxChunk))
        ))
      if (failed) return Channel.zipRight(write, Channel.fail(failure as E1))
      if (bad.length === 0 || onMalformed === "fail") return write
      return Channel.zipRight(write, Channel.fromEffect(Effect.forEach(bad, onMalformed, { discard: true })))
    }

    const loop: Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<Uint8Array>, E | E1, E, unknown, unknown> = Channel
      .readWithCause({
        onInput: (input: Chunk.Chunk<Uint8Array>) => {
          for (const bytes of input) {
            feed(decoder.decode(bytes, { stream: true }))
            if (failed) break
          }
          return Channel.zipRight(flush(), loop)
        },
        onFailure: Channel.failCause,
        onDone: () => {
          const tail = decoder.decode()
          const rest = discarding ? "" : pending + tail
          pending = ""
          // The last line may have no newline; a trailing "\r" alone is not content.
          const last = rest.endsWith("\r") ? rest.slice(0, -1) : rest
          if (last.length > 0) line(last)
          return flush()
        }
      })
    return loop
  })
  return Stream.pipeThroughChannel(bytes, channel)
}

/**
 * `JSON.parse` without throwing.
 *
 * @internal
 */
export const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : String(error))
  }
}
