/**
 * The transport for runtimes without undici (browsers, Deno, Bun, edge workers), and for Node when undici is not
 * installed: `FetchHttpClient.layer` of `@effect/platform` as the `HttpClient`, and the library's `Transport` over
 * `fetch` itself.
 *
 * The `HttpClient` it provides is the platform's fetch client over a fetch that does not follow redirects: every
 * request made through it (an upload, a download, your own calls, a client you wrap) behaves as on
 * `FetchHttpClient.layer`, except that a 3xx is answered as it comes (as on `UndiciTransport`), since fetch drops
 * `authorization` on a redirect to another origin but not Azure's `api-key`, and an upload would carry its file there
 * too. A `FetchHttpClient.RequestInit` that names its own `redirect` wins; so does a `FetchHttpClient.Fetch` you
 * provide to the calling fiber (the platform's client prefers the fiber's), while one provided to this layer is the
 * fetch it wraps. The library's JSON calls take the `Transport` exchange while the client is unwrapped: one `fetch`
 * with a string URL and a plain header record, one `text()`, the attempt's timeout an `AbortController` and a
 * `setTimeout` of the call's own; it does not follow redirects either. `FetchHttpClient.Fetch` (the fetch to call) and
 * `FetchHttpClient.RequestInit` (options merged into each request) are honoured on both paths. Figures are in
 * bench/RESULTS.md.
 *
 * A download's body is left to fetch's own body timeout (`bodyIdleTimeout: true`): Node's global fetch is undici,
 * whose `bodyTimeout` (5 minutes) fails a body that sends no byte for that long, so the library adds no watchdog of
 * its own unless the region sets one. On a runtime whose fetch has no such timeout (a browser, a
 * `FetchHttpClient.Fetch` of your own), set `BatchSchedule.layerIdleTimeout` for stalled downloads to be broken off
 * and resumed.
 *
 * @since 0.3.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fetch from "../internal/transport/fetch.js"
import * as Transport from "./Transport.js"

/**
 * The platform's fetch client and the `Transport` over `fetch`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { BatchApi } from "effect-openai-batch"
 * import * as FetchTransport from "effect-openai-batch/transport/FetchTransport"
 *
 * const MainLive = BatchApi.layerFromEnv.pipe(Layer.provide(FetchTransport.layer))
 * ```
 *
 * @since 0.3.0
 * @category Layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient | Transport.Transport> = Transport.layer(
  Effect.flatMap(Effect.context<never>(), (built) =>
    Effect.map(
      Effect.provide(
        HttpClient.HttpClient,
        Layer.provide(FetchHttpClient.layer, Layer.succeed(FetchHttpClient.Fetch, Fetch.manualRedirects(built)))
      ),
      (httpClient): Transport.Service => ({ httpClient, exchange: Fetch.make(built), bodyIdleTimeout: true })
    ))
)
