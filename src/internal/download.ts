/**
 * A file's content that survives faults: a download that fails, to connect or in the middle of its body, is sent
 * again under the retry policy in effect and resumes where it stopped, so the consumer sees every byte once.
 *
 * The retry asks for the rest (`Range: bytes=N-`, N the bytes already delivered). A `206` from N is the rest; a `200`
 * (a server that ignores ranges) is the whole file again, whose first N bytes are dropped; a `416` after N bytes
 * means there is nothing after them (the body broke off after its last byte). One schedule driver counts the
 * failures, reset whenever an attempt delivered new bytes: a long download that breaks now and then goes on, one
 * that keeps failing without progress stops when the policy does, with the typed error of the last failure.
 *
 * A body that stalls (its head arrived, then no byte for the idle timeout) is one more such failure. The idle timeout
 * is `BatchSchedule.currentIdleTimeout` when set; unset, none where the transport cuts a silent body itself (the
 * pipeline's `bodyIdleTimeout`: a `Transport` declaring it, on its own `HttpClient`; undici's `bodyTimeout` then
 * fails the body, resumed like any break) and `timeoutDefaults.idle` everywhere else (node:http has no body timeout
 * at all). A finite one bounds each pull of the next chunk (so the consumer's own time between pulls never counts),
 * at the cost of a timer raced against every pull; when it fires the attempt ends with a `TransportError` of reason
 * `"Timeout"` and `bodyBrokenOff`, resumed like a body cut by the network.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as BatchError from "../BatchError.js"
import * as BatchSchedule from "../BatchSchedule.js"
import type * as Http from "./http/pipeline.js"
import * as Timeout from "./http/timeout.js"

/** `bytes 100-199/200` -> 100; `undefined` for anything else. */
const rangeStart = (contentRange: string | undefined): number | undefined => {
  const match = contentRange === undefined ? null : /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(contentRange.trim())
  return match === null ? undefined : Number(match[1])
}

/** `stream` without its first `count` bytes. */
const dropBytes = <E>(stream: Stream.Stream<Uint8Array, E>, count: number): Stream.Stream<Uint8Array, E> =>
  count === 0 ? stream : Stream.suspend(() => {
    let remaining = count
    return Stream.filterMap(stream, (chunk) => {
      if (remaining === 0) return Option.some(chunk)
      if (remaining >= chunk.length) {
        remaining -= chunk.length
        return Option.none()
      }
      const rest = chunk.subarray(remaining)
      remaining = 0
      return Option.some(rest)
    })
  })

/** `body`, failing with `stalled` when one pull waits `idle` for its next chunk (unbounded for an infinite `idle`). */
const idleBounded = <E>(
  body: Stream.Stream<Uint8Array, E>,
  idle: Duration.Duration,
  stalled: () => E
): Stream.Stream<Uint8Array, E> =>
  Timeout.timerMillis(idle) === undefined ? body : Stream.timeoutFail(body, stalled, idle)

/** @internal */
export const download = (
  pipeline: Http.Pipeline,
  path: string,
  span: Tracer.Span
): Stream.Stream<Uint8Array, BatchError.RequestError> =>
  Stream.unwrap(Effect.gen(function*() {
    const driver = yield* Schedule.driver(yield* FiberRef.get(BatchSchedule.currentRetry))
    // Unset: none where the transport cuts a silent body itself, the default watchdog everywhere else.
    const idle = Option.getOrElse(
      yield* FiberRef.get(BatchSchedule.currentIdleTimeout),
      () => pipeline.bodyIdleTimeout ? Duration.infinity : BatchSchedule.timeoutDefaults.idle
    )
    let delivered = 0

    /** The body from `from` on, as this attempt's response gives it. */
    const rest = (opened: Http.Opened, from: number): Stream.Stream<Uint8Array, BatchError.RequestError> => {
      const body = idleBounded(Stream.mapError(opened.response.stream, opened.brokenOff), idle, () =>
        opened.stalled(idle))
      if (from === 0 || opened.response.status !== 206) {
        return dropBytes(body, from)
      }
      const start = rangeStart(opened.response.headers["content-range"])
      // A 206 that starts earlier than asked is trimmed; one that starts later, or says nothing, cannot be used.
      if (start !== undefined && start <= from) {
        return dropBytes(body, from - start)
      }
      return Stream.fail(opened.unusable(`the 206 for bytes=${from}- does not start at or before byte ${from}`))
    }

    const attempt = (): Stream.Stream<Uint8Array, BatchError.RequestError> => {
      const from = delivered
      const opened = pipeline.open({
        operation: "downloadFile",
        method: "GET",
        path,
        // Bytes as stored: a resumed range counts the bytes delivered, which a compressed body would not match.
        headers: from === 0
          ? { "accept-encoding": "identity" }
          : { "accept-encoding": "identity", range: `bytes=${from}-` },
        span
      })
      return Stream.unwrap(Effect.map(opened, (response) =>
        rest(response, from))).pipe(
          Stream.tap((chunk) =>
            Effect.sync(() => (delivered += chunk.length))
          ),
          Stream.catchAll((error) => {
            // Asked for the bytes after the last one: there are none, the file is whole.
            if (from > 0 && error._tag === "ApiError" && error.status === 416) return Stream.empty
            const progress = delivered > from ? driver.reset : Effect.void
            return Stream.unwrap(
              progress.pipe(
                Effect.zipRight(driver.next(error)),
                Effect.mapError(() => error),
                Effect.zipRight(
                  Effect.logDebug(`effect-openai-batch: ${error.message}; resuming at byte ${delivered}`)
                ),
                Effect.as(Stream.suspend(attempt))
              )
            )
          })
        )
    }
    return attempt()
  }))
