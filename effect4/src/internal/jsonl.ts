/**
 * Incremental JSONL decoding with line numbers: bytes in, decoded values out, one pass per chunk.
 *
 * Effect's own splitting (`Stream.decodeText` then `Stream.splitLines`, or the NDJSON codecs) does the splitting and
 * parsing, but its errors carry no line number and a parse error loses the good lines of the same chunk; this does
 * both in one loop per chunk.
 *
 * The Effect 4 edition: the same loop as the Effect 3 edition's, driven by pulls (`Stream.transformPull`) instead of a
 * reading `Channel`; a line decodes to a `Result` instead of an `Either`.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
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
 * of elements overflows the stack of some stream operators (`Stream.runFold` over 60,000 results did on Effect 3).
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
  decodeLine: (text: string, lineNumber: number) => Result.Result<A, E1>,
  onMalformed: OnMalformed<E1> = "fail",
  cap?: LineCap<E1>
) =>
<E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<A, E | E1, R> =>
  Stream.transformPull(bytes, (upstream) =>
    Effect.sync(() => {
      const decoder = new TextDecoder("utf-8")
      let pending = ""
      let lineNumber = 0
      let out: Array<A> = []
      let skipped: Array<E1> = []
      /** The decode failure that ends the stream, once the lines before it are out. */
      let failure: { readonly error: E1 } | undefined
      let ended = false
      const maxLength = cap?.maxLength ?? Infinity
      /** Inside a line over the cap that was skipped: its rest is read past, up to its newline. */
      let discarding = false
      /** Decoded lines, cut to at most `maxChunk`, waiting to be pulled. */
      const ready: Array<Arr.NonEmptyReadonlyArray<A>> = []

      /** Hands a bad line's error over; returns false when the stream must stop. */
      const malformed = (error: E1): boolean => {
        if (onMalformed === "fail") {
          failure = { error }
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
        if (Result.isSuccess(decoded)) {
          out.push(decoded.success)
          return true
        }
        return malformed(decoded.failure)
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

      /** Moves `out` into `ready`, in chunks of at most `maxChunk`. */
      const flush = (): void => {
        for (let i = 0; i < out.length; i += maxChunk) {
          const [first, ...rest] = out.slice(i, i + maxChunk)
          if (first !== undefined) ready.push([first, ...rest])
        }
        out = []
      }

      const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<A>, E | E1, void> = Effect.suspend(() => {
        const next = ready.shift()
        if (next !== undefined) return Effect.succeed(next)
        if (failure !== undefined) return Effect.fail(failure.error)
        if (skipped.length > 0 && onMalformed !== "fail") {
          // The bad lines of the chunk, after its good ones went out.
          const bad = skipped
          skipped = []
          return Effect.andThen(Effect.forEach(bad, onMalformed, { discard: true }), pull)
        }
        if (ended) return Cause.done()
        return Pull.matchEffect(upstream, {
          onSuccess: (chunk) => {
            for (const bytes of chunk) {
              feed(decoder.decode(bytes, { stream: true }))
              if (failure !== undefined) break
            }
            flush()
            return pull
          },
          onFailure: Effect.failCause,
          onDone: () => {
            ended = true
            const tail = decoder.decode()
            const rest = discarding ? "" : pending + tail
            pending = ""
            // The last line may have no newline; a trailing "\r" alone is not content.
            const last = rest.endsWith("\r") ? rest.slice(0, -1) : rest
            if (last.length > 0) line(last)
            flush()
            return pull
          }
        })
      })
      return pull
    }))

/**
 * `JSON.parse` without throwing.
 *
 * @internal
 */
export const parseJson = (text: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(text))
  } catch (error) {
    return Result.fail(error instanceof Error ? error.message : String(error))
  }
}
