/**
 * The layers that give a program everything this library runs on: `BatchApi` (the batch operations),
 * `OpenAiFiles` (files), `OpenAiUploads` (the Uploads API, since 0.3.0: a job sends its large parts through it) and
 * `JobBudget.Ledger` (the enqueued-limit ledger every job of the program shares), over
 * an `HttpClient` and an `OpenAiConfig` (or `Config`s, or the environment).
 *
 * One ledger per layer: jobs that share a layer share its ledger, as they share the organisation's limits. Build
 * the layer once per organisation (a program with two organisations has two layers, each its own `OpenAiConfig`).
 *
 * @since 4.0.0
 */
import type * as Config from "effect/Config"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as BatchApi from "./BatchApi.js"
import * as JobBudget from "./JobBudget.js"
import * as OpenAiConfig from "./OpenAiConfig.js"
import * as OpenAiFiles from "./OpenAiFiles.js"
import * as OpenAiUploads from "./OpenAiUploads.js"

/**
 * What the client layers provide.
 *
 * @since 4.0.0
 * @category Models
 */
export type Services = BatchApi.BatchApi | OpenAiFiles.OpenAiFiles | OpenAiUploads.OpenAiUploads | JobBudget.Ledger

/**
 * The services over the `HttpClient` and `OpenAiConfig` in context.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer: Layer.Layer<Services, never, OpenAiConfig.OpenAiConfig | HttpClient.HttpClient> = Layer.mergeAll(
  BatchApi.layer,
  OpenAiFiles.layer,
  OpenAiUploads.layer,
  JobBudget.layer
)

/**
 * `layer` configured from `Config`s (see `OpenAiConfig.layerConfig`); it still needs an `HttpClient`.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Wrap<OpenAiConfig.Options>
): Layer.Layer<Services, Config.ConfigError, HttpClient.HttpClient> =>
  layer.pipe(Layer.provide(OpenAiConfig.layerConfig(options)))

/**
 * `layer` configured from `OPENAI_API_KEY` and friends (see `OpenAiConfig.layerFromEnv`); it still needs an
 * `HttpClient`, e.g. `FetchTransport.layer` (`effect-openai-batch/transport/FetchTransport`) or `NodeHttpClient.layerUndici`.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { BatchClient } from "effect-openai-batch"
 *
 * // BatchApi, OpenAiFiles, OpenAiUploads and the shared ledger, configured from OPENAI_API_KEY and friends
 * const ClientLive = BatchClient.layerFromEnv.pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerFromEnv: Layer.Layer<Services, Config.ConfigError, HttpClient.HttpClient> = layer.pipe(
  Layer.provide(OpenAiConfig.layerFromEnv)
)
