/**
 * A second door into a transport, for the library's own JSON calls: one exchange of a fully built request for its
 * status, headers and whole body text, with the per-attempt timeout taken by the transport itself.
 *
 * Why: through the `HttpClient` interface a call pays for an `HttpClientRequest` and its `Headers` rebuilt at each
 * step, a `URL` parsed per request, a response wrapper, and (for the timeout) a forked fiber. Over an in-process
 * transport (bench/inprocess.ts) that was most of what `retrieveBatch` cost above the transport itself. A transport
 * that can do better (`UndiciHttpClient`) attaches this capability to the `HttpClient` it builds; the request
 * pipeline (./http.ts) uses it when it finds it on the client it was given, and the `HttpClient` otherwise. A client
 * wrapped by the user (`HttpClient.mapRequest`, ...) is a new object without it, so their wrapper always runs.
 *
 * Nothing here imports a transport: the pipeline stays free of optional peers.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Effect from "effect/Effect"

const TypeId: unique symbol = Symbol.for("effect-openai-batch/DirectTransport")

/** @internal */
export interface Request {
  readonly method: "GET" | "POST" | "DELETE"
  /** `http://host:port`. */
  readonly origin: string
  /** Path and query, escaped. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
  /** Fail with `Failure` kind `"Timeout"` unless the whole body has arrived within this many milliseconds. */
  readonly timeoutMillis: number | undefined
}

/** @internal */
export interface Response {
  readonly status: number
  /** Lower-case names; repeated headers joined with `", "`. */
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

/**
 * Why an exchange got no whole response: no response head (`Transport`), a body that broke off after it (`Body`),
 * or the timeout. `cause` is the transport's own error.
 *
 * @internal
 */
export class Failure {
  constructor(readonly kind: "Transport" | "Body" | "Timeout", readonly cause?: Error) {}
}

/** @internal */
export interface Direct {
  readonly exchange: (request: Request) => Effect.Effect<Response, Failure>
}

/** The capability of `client`, if its transport attached one. @internal */
export const get = (client: HttpClient.HttpClient): Direct | undefined => {
  if (!(TypeId in client)) return undefined
  const direct = client[TypeId]
  return isDirect(direct) ? direct : undefined
}

const isDirect = (value: unknown): value is Direct =>
  typeof value === "object" && value !== null && "exchange" in value && typeof value.exchange === "function"

/** Attaches the capability to a client built by a transport (not enumerable, not copied by wrappers). @internal */
export const attach = <C extends HttpClient.HttpClient>(client: C, direct: Direct): C =>
  Object.defineProperty(client, TypeId, { value: direct, enumerable: false })
