/**
 * The `Transport` exchange (../../../transport/Transport.ts) over undici's dispatch handler API: a request
 * dispatched as it is, its body collected, the attempt's timeout a `setTimeout` of the exchange's own, interruption
 * an abort through the dispatch controller.
 *
 * What it saves against the `HttpClient` path (an `HttpClientRequest` and `Headers` per step, a `URL` per request, a
 * response wrapper, the timeout as a forked fiber) is measured in bench/RESULTS.md.
 *
 * The Effect 4 edition: `Effect.callback` for Effect 3's `Effect.async`; the rest is the root's.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Undici from "undici"
import { errors } from "undici"
import * as Transport from "../../../transport/Transport.js"
import { decodeUtf8 } from "./exchange.js"

type Resume = (effect: Effect.Effect<Transport.Response, Transport.ExchangeError>) => void

const flatten = (headers: Record<string, string | Array<string> | undefined>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key in headers) {
    const value = headers[key]
    if (value !== undefined) out[key] = typeof value === "string" ? value : value.join(", ")
  }
  return out
}

/** undici refuses a request it cannot write (an invalid header value) with this code, before sending anything. */
const isInvalidArgument = (error: Error): boolean =>
  error instanceof errors.InvalidArgumentError || ("code" in error && error.code === "UND_ERR_INVALID_ARG")

class TextExchange implements Undici.Dispatcher.DispatchHandler {
  private controller: Undici.Dispatcher.DispatchController | undefined = undefined
  private abortReason: Error | undefined = undefined
  private status = 0
  private headers: Record<string, string> = {}
  private chunks: Array<Uint8Array> = []
  timer: ReturnType<typeof setTimeout> | undefined = undefined

  constructor(private resume: Resume | undefined) {}

  private settle(effect: Effect.Effect<Transport.Response, Transport.ExchangeError>): void {
    const resume = this.resume
    if (resume === undefined) return
    this.resume = undefined
    if (this.timer !== undefined) clearTimeout(this.timer)
    resume(effect)
  }

  /** Stops the request, and answers nothing more (interruption: the caller is gone). */
  cancel(): void {
    if (this.resume === undefined) return
    this.resume = undefined
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.stop()
  }

  timeout(): void {
    this.settle(Effect.fail(new Transport.ExchangeError({ reason: "Timeout" })))
    this.stop()
  }

  private stop(): void {
    const reason = new errors.RequestAbortedError()
    if (this.controller === undefined) this.abortReason = reason
    else this.controller.abort(reason)
  }

  onRequestStart(controller: Undici.Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.abortReason !== undefined) controller.abort(this.abortReason)
  }

  onResponseStart(
    _controller: Undici.Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | Array<string> | undefined>
  ): void {
    // 1xx informational heads are followed by the real one.
    if (statusCode < 200) return
    this.status = statusCode
    this.headers = flatten(headers)
  }

  onResponseData(_controller: Undici.Dispatcher.DispatchController, chunk: Uint8Array): void {
    this.chunks.push(chunk)
  }

  onResponseEnd(): void {
    if (this.resume === undefined) return
    const text = decodeUtf8(this.chunks)
    this.chunks = []
    this.settle(Effect.succeed({ status: this.status, headers: this.headers, text }))
  }

  onResponseError(_controller: Undici.Dispatcher.DispatchController | undefined, error: Error): void {
    const reason = this.status !== 0 ? "Body" : isInvalidArgument(error) ? "Encode" : "Transport"
    this.settle(Effect.fail(new Transport.ExchangeError({ reason, cause: error })))
  }
}

/** undici's per-request timeouts as dispatch options (absent: the dispatcher's own). @internal */
export interface DispatchTimeouts {
  readonly headersTimeout?: number | undefined
  readonly bodyTimeout?: number | undefined
}

/** @internal */
export const make = (
  dispatcher: Undici.Dispatcher,
  timeouts: DispatchTimeouts
): (request: Transport.Request) => Effect.Effect<Transport.Response, Transport.ExchangeError> => {
  const options = {
    ...(timeouts.headersTimeout === undefined ? {} : { headersTimeout: timeouts.headersTimeout }),
    ...(timeouts.bodyTimeout === undefined ? {} : { bodyTimeout: timeouts.bodyTimeout })
  }
  return (request) =>
    Effect.callback<Transport.Response, Transport.ExchangeError>((resume) => {
      const exchange = new TextExchange(resume)
      if (request.timeoutMillis !== undefined) {
        exchange.timer = setTimeout(() => exchange.timeout(), request.timeoutMillis)
      }
      try {
        dispatcher.dispatch({
          origin: request.origin,
          path: request.path,
          method: request.method,
          headers: request.headers,
          body: request.body ?? null,
          ...options
        }, exchange)
      } catch (cause) {
        exchange.onResponseError(undefined, cause instanceof Error ? cause : new Error(String(cause)))
      }
      return Effect.sync(() => exchange.cancel())
    })
}
