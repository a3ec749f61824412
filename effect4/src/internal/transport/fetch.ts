/**
 * The `Transport` exchange (../../transport/Transport.ts) over `fetch`, for runtimes without undici (browsers, Deno, Bun, edge
 * workers), honouring `effect/http`'s `FetchHttpClient.Fetch` (the fetch to call) and
 * `FetchHttpClient.RequestInit` (options merged into every request) as `FetchHttpClient.layer` does.
 *
 * Why: on Effect 3, `FetchHttpClient.layer` alone cost about twice a raw `fetch` + `text()` in-process (the root's
 * bench/RESULTS.md; this edition is not measured yet). Here a call is one `fetch` with a string URL and a plain
 * header record, one `text()`, an `AbortController` (the only way to stop a fetch: timeout and interruption) and a
 * `setTimeout`.
 *
 * The Effect 4 edition: `Fetch` and `RequestInit` are `Context.Reference`s, read from the fiber's context when it
 * holds them, else from the layer's.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Headers from "effect/http/Headers"
import * as Transport from "../../transport/Transport.js"

type Resume = (effect: Effect.Effect<Transport.Response, Transport.ExchangeError>) => void

const asError = (cause: unknown): Error => cause instanceof Error ? cause : new Error(String(cause))

const headersRecord = (headers: globalThis.Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  headers.forEach((value, key) => {
    out[key] = value
  })
  return out
}

class FetchExchange {
  readonly controller = new AbortController()
  timer: ReturnType<typeof setTimeout> | undefined = undefined

  constructor(private resume: Resume | undefined) {}

  settle(effect: Effect.Effect<Transport.Response, Transport.ExchangeError>): void {
    const resume = this.resume
    if (resume === undefined) return
    this.resume = undefined
    if (this.timer !== undefined) clearTimeout(this.timer)
    resume(effect)
  }

  timeout(): void {
    this.settle(Effect.fail(new Transport.ExchangeError({ reason: "Timeout" })))
    this.controller.abort()
  }

  cancel(): void {
    if (this.resume === undefined) return
    this.resume = undefined
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.controller.abort()
  }
}

/**
 * `built`: the context the layer was built in. Like `FetchHttpClient.layer`, the fiber's own context wins over it.
 *
 * @internal
 */
export const make = (
  built: Context.Context<never>
): (request: Transport.Request) => Effect.Effect<Transport.Response, Transport.ExchangeError> =>
(request) =>
  Effect.withFiber((fiber) => {
    const context = fiber.context
    const fetch = Context.getOrUndefined(context, FetchHttpClient.Fetch) ??
      Context.getOrUndefined(built, FetchHttpClient.Fetch) ?? globalThis.fetch
    const init = Context.getOrUndefined(context, FetchHttpClient.RequestInit) ??
      Context.getOrUndefined(built, FetchHttpClient.RequestInit)
    const headers = init?.headers === undefined
      ? request.headers
      : { ...Headers.fromInput(init.headers), ...request.headers }
    return Effect.callback<Transport.Response, Transport.ExchangeError>((resume) => {
      const exchange = new FetchExchange(resume)
      if (request.timeoutMillis !== undefined) {
        exchange.timer = setTimeout(() => exchange.timeout(), request.timeoutMillis)
      }
      let response: Response | undefined
      try {
        fetch(`${request.origin}${request.path}`, {
          ...init,
          // Not followed unless `RequestInit` asks for it, as on UndiciTransport: fetch drops `authorization` on a
          // redirect to another origin, but not Azure's `api-key`, which would go to whatever origin it names.
          redirect: init?.redirect ?? "manual",
          method: request.method,
          headers,
          body: request.body ?? null,
          signal: exchange.controller.signal
        }).then((answer) => {
          response = answer
          return answer.text()
        }).then(
          (text) => {
            if (response !== undefined) {
              exchange.settle(
                Effect.succeed({ status: response.status, headers: headersRecord(response.headers), text })
              )
            }
          },
          (cause: unknown) =>
            exchange.settle(
              Effect.fail(
                new Transport.ExchangeError({
                  reason: response === undefined ? "Transport" : "Body",
                  cause: asError(cause)
                })
              )
            )
        )
      } catch (cause) {
        // A fetch that throws instead of rejecting (an invalid URL in some runtimes).
        exchange.settle(Effect.fail(new Transport.ExchangeError({ reason: "Transport", cause: asError(cause) })))
      }
      return Effect.sync(() => exchange.cancel())
    })
  })

/**
 * The fetch of `FetchTransport`'s `HttpClient`: the one provided where the layer was built (else the global one, read
 * at each call, so a fetch patched later is the one called), with `redirect: "manual"` unless the request's options
 * name a `redirect` of their own (a `FetchHttpClient.RequestInit` that sets it wins).
 *
 * @internal
 */
export const manualRedirects = (built: Context.Context<never>): typeof globalThis.fetch => {
  const given = Context.getOrUndefined(built, FetchHttpClient.Fetch)
  return (input, init) =>
    (given ?? globalThis.fetch)(input, init?.redirect === undefined ? { ...init, redirect: "manual" } : init)
}
