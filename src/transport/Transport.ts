/**
 * The seam between the request pipeline and a transport: the library's own JSON calls (create, retrieve, list and
 * cancel a batch; retrieve and delete a file; the lookups behind a duplicate-free create or upload) as one exchange
 * of a plain request for its status, headers and whole body.
 *
 * Why it exists: through `@effect/platform`'s `HttpClient` interface, a call pays for an `HttpClientRequest` and its
 * `Headers` rebuilt at each step, a `URL` parsed, a response wrapper and a fiber for the timeout. For small JSON
 * calls that is most of what the library costs above the socket (see bench/RESULTS.md). A transport that can do
 * better provides this service beside the `HttpClient` it builds (`UndiciTransport`, `FetchTransport`).
 *
 * The pipeline owns the rules:
 * - it takes `exchange` only while the `HttpClient` in context is the transport's own `httpClient`: a client you
 *   wrapped (`HttpClient.mapRequest`, a tap, a recorder) is another object, so your wrapper always runs;
 * - uploads and downloads always go through the `HttpClient` (their bodies are streams);
 * - a download's body is left to the transport's own body timeout (`bodyIdleTimeout`) only on the same condition:
 *   through any other `HttpClient` (a wrapped one included: the pipeline cannot see what it does), and on a
 *   transport that declares none, the library bounds its pauses itself (`BatchSchedule.withIdleTimeout`);
 * - without a `Transport` in context, every request goes through the `HttpClient`, whichever it is (the platform's
 *   clients, the simulator, a test's fake).
 *
 * The attempt's timeout travels with the request (`timeoutMillis`) and the exchange enforces it: a transport that
 * talks to a real socket arms a timer of its own (its I/O runs in real time), where the `HttpClient` path times the
 * attempt on the fiber's `Clock` (so `TestClock` drives an in-memory client's timeouts).
 *
 * @since 0.3.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"

/**
 * One request of the library's JSON calls, fully built.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Request {
  readonly method: "GET" | "POST" | "DELETE"
  /** `https://host:port`. */
  readonly origin: string
  /** The path and query, escaped. */
  readonly path: string
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  /** A JSON body, already serialized. */
  readonly body: string | undefined
  /**
   * Fail with `reason: "Timeout"` unless the whole response (body included) has arrived within this many
   * milliseconds; `undefined`: no timeout.
   */
  readonly timeoutMillis: number | undefined
}

/**
 * A whole response.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Response {
  readonly status: number
  /** Lower-case names; repeated headers joined with `", "`. */
  readonly headers: Readonly<Record<string, string>>
  /** The body as UTF-8 text (a leading byte order mark dropped, invalid bytes as U+FFFD, as `Response.text()`). */
  readonly text: string
}

/**
 * Why an exchange got no whole response: no response head (`"Transport"`), a body that broke off after the head
 * (`"Body"`), the timeout (`"Timeout"`), or a request the transport refused to send (`"Encode"`: a header value it
 * cannot write, say). `cause` is the transport's own error. The pipeline turns it into a `BatchError.TransportError`.
 *
 * @since 0.3.0
 * @category Errors
 */
export class ExchangeError extends Data.TaggedError("ExchangeError")<{
  readonly reason: "Transport" | "Body" | "Timeout" | "Encode"
  readonly cause?: Error | undefined
}> {}

/**
 * What a transport provides.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Service {
  /** The `HttpClient` this transport provides: `exchange` is taken only while it is the one in context. */
  readonly httpClient: HttpClient.HttpClient
  /** Sends `request` and collects the whole response. Interrupting it aborts the request. */
  readonly exchange: (request: Request) => Effect.Effect<Response, ExchangeError>
  /**
   * True when a response body of `httpClient` already fails on its own once it goes silent for a while (undici's
   * `bodyTimeout`, 5 minutes by default): a download through it then needs no watchdog of the library's, and gets
   * none unless the region sets one (`BatchSchedule.withIdleTimeout`). False when a stalled body would wait forever:
   * the library then bounds each download's pauses itself (`BatchSchedule.timeoutDefaults.idle`), at a cost per
   * chunk.
   */
  readonly bodyIdleTimeout: boolean
}

/**
 * @since 0.3.0
 * @category Context
 */
export class Transport extends Context.Tag("effect-openai-batch/Transport")<Transport, Service>() {}

const contextOf = (service: Service): Context.Context<HttpClient.HttpClient | Transport> =>
  Context.make(HttpClient.HttpClient, service.httpClient).pipe(Context.add(Transport, service))

/**
 * The layer of a transport: its `HttpClient` and the `Transport` over it.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layer = <E, R>(
  make: Effect.Effect<Service, E, R>
): Layer.Layer<HttpClient.HttpClient | Transport, E, Exclude<R, Scope.Scope>> =>
  Layer.scopedContext(Effect.map(make, contextOf))
