/**
 * `FetchHttpClient.layer` of @effect/platform, with a faster path for this library's own JSON calls: the transport
 * for runtimes without undici (browsers, Deno, Bun, edge workers), and for Node when undici is not installed.
 *
 * The `HttpClient` it provides IS the platform's fetch client: every request made through it (an upload, a
 * download, your own calls, a client you wrap) behaves exactly as on `FetchHttpClient.layer`. Only `BatchApi` and
 * `OpenAiFiles` JSON calls (create, retrieve, list, cancel; retrieve and delete a file), when they find the client
 * unwrapped, go straight to `fetch`: a string URL, a plain header record, one `text()`, the per-attempt timeout as
 * an `AbortController` and a `setTimeout` of the call's own. `FetchHttpClient.Fetch` (the fetch to call) and
 * `FetchHttpClient.RequestInit` (options merged into each request) are honoured on both paths.
 *
 * Client CPU per sequential `retrieveBatch` over loopback (`npm run bench`, 2026-11-30 04:09 UTC, the
 * `effect-fetch-lean` contender): 379 µs, against 520 on `FetchHttpClient.layer` and 266 for a raw `fetch` +
 * `text()` + `JSON.parse` without validation (1.43x); see bench/RESULTS.md.
 *
 * @since 0.2.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Direct from "./internal/directTransport.js"
import * as FetchDirect from "./internal/fetchDirect.js"

/**
 * The platform's fetch client, with the direct exchange attached.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.effect(
  HttpClient.HttpClient,
  // A fresh client object per build (the platform's layer makes one), so attaching to it touches nothing shared.
  Effect.flatMap(Effect.context<never>(), (built) =>
    Effect.map(
      Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer),
      (client) => Direct.attach(client, FetchDirect.make(built))
    ))
)
