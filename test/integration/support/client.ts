/**
 * The library as users run it over real HTTP: `BatchApi.layer` on `OpenAiConfig.layer` on a real transport layer,
 * optionally with the transport wrapped so a test can see every request that left and every response (status and
 * headers) that came back.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as UrlParams from "@effect/platform/UrlParams"
import type { Duration } from "effect"
import { Effect, Layer, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { inspect } from "node:util"
import * as BatchApi from "../../../src/BatchApi.js"
import * as BatchSchedule from "../../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../../src/OpenAiConfig.js"
import * as FetchTransport from "../../../src/transport/FetchTransport.js"
import * as UndiciTransport from "../../../src/transport/UndiciTransport.js"

/** A fake key that no real server knows and that no error text could contain by accident. */
export const apiKey = "sk-integration-NEVER-LEAK-7f3a9c41d2"

/** The package version, read from package.json: the User-Agent must carry it. */
export const packageVersion: string = (() => {
  const parsed: unknown = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"))
  const version = typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : undefined
  if (typeof version !== "string") throw new Error("package.json has no version")
  return version
})()

export interface Transport {
  readonly name: string
  readonly layer: Layer.Layer<HttpClient.HttpClient>
}

/** The transports users pick from. */
export const transports: ReadonlyArray<Transport> = [
  { name: "UndiciTransport.layer", layer: UndiciTransport.layer },
  { name: "NodeHttpClient.layerUndici", layer: NodeHttpClient.layerUndici },
  { name: "NodeHttpClient.layer (node:http)", layer: NodeHttpClient.layer },
  { name: "FetchHttpClient.layer", layer: FetchHttpClient.layer },
  { name: "FetchTransport.layer (fetch, Transport exchange)", layer: FetchTransport.layer }
]

export interface LibraryOptions {
  readonly baseUrl: string
  readonly transport?: Layer.Layer<HttpClient.HttpClient> | undefined
  readonly timeout?: Duration.DurationInput | undefined
  /** The retry policy (default `BatchSchedule.defaultRetry`); `maxRetries` is a shortcut for the default with that count. */
  readonly maxRetries?: number | undefined
  readonly retry?: BatchSchedule.RetrySchedule | undefined
  readonly organization?: string | undefined
  readonly project?: string | undefined
  /** Wraps the transport's client (e.g. to record traffic). */
  readonly wrap?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

/** `BatchApi` over a real transport. */
export const library = (options: LibraryOptions): Layer.Layer<BatchApi.BatchApi> => {
  const transport = options.transport ?? NodeHttpClient.layerUndici
  const wrap = options.wrap
  const client = wrap === undefined
    ? transport
    : Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, wrap)).pipe(Layer.provide(transport))
  const config = OpenAiConfig.layer({
    apiKey: Redacted.make(apiKey),
    baseUrl: options.baseUrl,
    ...(options.organization === undefined ? {} : { organization: options.organization }),
    ...(options.project === undefined ? {} : { project: options.project })
  })
  const retry = options.retry ??
    (options.maxRetries === undefined ? undefined : BatchSchedule.retry({ maxRetries: options.maxRetries }))
  return BatchApi.layer.pipe(
    Layer.provideMerge(retry === undefined ? Layer.empty : BatchSchedule.layerRetry(retry)),
    Layer.provideMerge(options.timeout === undefined ? Layer.empty : BatchSchedule.layerTimeout(options.timeout)),
    Layer.provide(config),
    Layer.provide(client),
    // The config is built from literals that are valid: a ConfigError here is a bug in the test.
    Layer.orDie
  )
}

/** What the wrapped transport saw: a request that left, and the response to it when one came. */
export interface Exchange {
  readonly method: string
  readonly url: string
  readonly query: string
  readonly requestHeaders: Readonly<Record<string, string>>
  readonly body: unknown
  readonly status?: number
  readonly responseHeaders?: Readonly<Record<string, string>>
}

const decoder = new TextDecoder()

const describe = (request: HttpClientRequest.HttpClientRequest): Exchange => ({
  method: request.method,
  url: request.url,
  query: UrlParams.toString(request.urlParams),
  requestHeaders: request.headers,
  body: request.body._tag === "Uint8Array" ? JSON.parse(decoder.decode(request.body.body)) : undefined
})

/**
 * A wrapper for `LibraryOptions.wrap` that records every exchange, in order. The library maps its requests (base
 * URL, auth, identification headers) on top of the transport it is given, after this wrapper's `tapRequest` runs:
 * so a request is counted when it is handed over, and recorded as sent (final URL and headers) from the response.
 */
export const recorder = () => {
  const exchanges: Array<Exchange> = []
  const wrap = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
    client.pipe(
      HttpClient.tapRequest((request) => Effect.sync(() => exchanges.push(describe(request)))),
      HttpClient.tap((response) =>
        Effect.sync(() => {
          // Requests are sequential in these tests: the response belongs to the last request handed over.
          const index = exchanges.length - 1
          if (index >= 0) {
            exchanges[index] = {
              ...describe(response.request),
              status: response.status,
              responseHeaders: response.headers
            }
          }
        })
      )
    )
  return { wrap, exchanges: (): ReadonlyArray<Exchange> => [...exchanges] }
}

/** Every way an error could be printed or shipped, so a test can check that none holds the key. */
export const renderings = (error: unknown): ReadonlyArray<string> => {
  const out = [String(error), JSON.stringify(error), inspect(error, { depth: 10 })]
  if (error instanceof Error) out.push(error.message, error.stack ?? "")
  return out
}
