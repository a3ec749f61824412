/**
 * Connection settings: the API key (always `Redacted`), base URL, organization, project and the per-attempt
 * timeout. Retries are a policy of their own (`BatchSchedule`). Provide it with `layer(options)`,
 * `layerConfig(configs)` or `layerFromEnv` (the environment variables openai-node reads); an invalid value is a
 * `ConfigError` at the option or config key it came from.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"

/**
 * The default base URL.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultBaseUrl = "https://api.openai.com/v1"

/**
 * Defaults, exported so they can be read and composed.
 *
 * - `timeout`: 60 s per attempt. Batch calls return small JSON documents; the official SDKs' 10 minutes only
 *   delays the retry of a stuck connection.
 *
 * Retries are not connection settings: see `BatchSchedule.defaultRetry`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults = {
  timeout: Duration.seconds(60)
} as const

/**
 * What `layer` and `make` accept.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The key, without surrounding whitespace (a key read from a file with its newline is refused, not trimmed). */
  readonly apiKey: Redacted.Redacted<string>
  /** Default `https://api.openai.com/v1`; a trailing slash is ignored. */
  readonly baseUrl?: string | undefined
  /** Sent as `OpenAI-Organization`. */
  readonly organization?: string | undefined
  /** Sent as `OpenAI-Project`. */
  readonly project?: string | undefined
  /** Per attempt, the body read included. `Duration.infinity` means none. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Also trace each HTTP attempt with `@effect/platform`'s `http.client` span (and send a `traceparent` header).
   * Default `false`: every operation already has its own span (`BatchApi.retrieveBatch`, ...) carrying the batch
   * id and the request id, and the per-attempt span costs about a tenth of a call's CPU.
   */
  readonly httpSpans?: boolean | undefined
}

/**
 * The resolved settings.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  readonly apiKey: Redacted.Redacted<string>
  /** Without a trailing slash. */
  readonly baseUrl: string
  readonly organization: Option.Option<string>
  readonly project: Option.Option<string>
  readonly timeout: Duration.Duration
  readonly httpSpans: boolean
}

/**
 * @since 0.1.0
 * @category Context
 */
export class OpenAiConfig extends Context.Tag("effect-openai-batch/OpenAiConfig")<OpenAiConfig, Service>() {}

/** Where each option came from, for error messages: the option's name, or the config key it was read from. */
type Sources = { readonly [K in keyof Options]-?: ReadonlyArray<string> }

const optionNames: Sources = {
  apiKey: ["apiKey"],
  baseUrl: ["baseUrl"],
  organization: ["organization"],
  project: ["project"],
  timeout: ["timeout"],
  httpSpans: ["httpSpans"]
}

const check = (options: Options, sources: Sources): Either.Either<Service, ConfigError.ConfigError> => {
  const invalid = (name: keyof Options, message: string) =>
    Either.left(ConfigError.InvalidData([...sources[name]], message))
  const key = Redacted.value(options.apiKey)
  if (key.length === 0) return invalid("apiKey", "the OpenAI API key is empty")
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(key)) {
    // A key read from a file keeps its newline; sent as it is, no request would ever leave (an invalid header).
    return invalid(
      "apiKey",
      "the OpenAI API key contains whitespace or a line break (read from a file with its newline?)"
    )
  }
  const baseUrl = (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, "")
  const parsed = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined
  if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    return invalid(
      "baseUrl",
      `the base URL must be an http(s) URL, got ${parsed === undefined ? "something else" : parsed.protocol}`
    )
  }
  if (parsed.username !== "" || parsed.password !== "") {
    // Credentials in the URL would be repeated in every error's url and message.
    return invalid("baseUrl", "the base URL must not contain credentials (user:password@)")
  }
  const timeout = Duration.decode(options.timeout ?? defaults.timeout)
  if (!Duration.greaterThan(timeout, Duration.zero)) {
    return invalid("timeout", `the timeout must be positive, got ${Duration.format(timeout)}`)
  }
  const nonEmpty = (value: string | undefined) => Option.filter(Option.fromNullable(value), (v) => v.length > 0)
  return Either.right({
    apiKey: options.apiKey,
    baseUrl,
    organization: nonEmpty(options.organization),
    project: nonEmpty(options.project),
    timeout,
    httpSpans: options.httpSpans ?? false
  })
}

/**
 * Checks and resolves options. Fails with a `ConfigError` naming the option for an empty key or one with
 * whitespace in it, a base URL that is not http(s) or holds credentials, or a timeout that is not positive.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<Service, ConfigError.ConfigError> =>
  Effect.suspend(() => check(options, optionNames))

/**
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { OpenAiConfig } from "effect-openai-batch"
 *
 * const ConfigLive = OpenAiConfig.layer({
 *   apiKey: Redacted.make("sk-..."),
 *   baseUrl: "https://my-proxy.example/v1",
 *   timeout: "30 seconds"
 * })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<OpenAiConfig, ConfigError.ConfigError> =>
  Layer.effect(OpenAiConfig, make(options))

/**
 * The config key a `Config` reads (`["MY_OPENAI_KEY"]` for `Config.redacted("MY_OPENAI_KEY")`), so that a value
 * that loads but is invalid is reported under the key the user set. Read from the config's structure (its
 * `Nested` names through maps, fallbacks and descriptions); `undefined` when it has none (`Config.succeed`).
 */
const keyOf = (config: unknown): ReadonlyArray<string> | undefined => {
  if (!Predicate.hasProperty(config, "_tag")) return undefined
  switch (config._tag) {
    case "Nested": {
      if (!Predicate.hasProperty(config, "name") || typeof config.name !== "string") return undefined
      const inner = Predicate.hasProperty(config, "config") ? keyOf(config.config) : undefined
      return [config.name, ...(inner ?? [])]
    }
    case "MapOrFail":
    case "Redacted":
      return Predicate.hasProperty(config, "original") ? keyOf(config.original) : undefined
    case "Described":
      return Predicate.hasProperty(config, "config") ? keyOf(config.config) : undefined
    case "Fallback":
      return Predicate.hasProperty(config, "first") ? keyOf(config.first) : undefined
    default:
      return undefined
  }
}

/**
 * Builds the settings from `Config`s, e.g. `{ apiKey: Config.redacted("MY_KEY") }`. A value that loads but is
 * invalid (a blank key, a base URL with credentials) is a `ConfigError` at the key it was read from.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { OpenAiConfig } from "effect-openai-batch"
 *
 * // the key from MY_OPENAI_KEY (a missing one is a ConfigError naming it), a fixed timeout
 * const ConfigLive = OpenAiConfig.layerConfig({
 *   apiKey: Config.redacted("MY_OPENAI_KEY"),
 *   timeout: Config.succeed("30 seconds")
 * })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<OpenAiConfig, ConfigError.ConfigError> => {
  const sourceOf = (name: keyof Options): ReadonlyArray<string> =>
    Config.isConfig(options) ? optionNames[name] : keyOf(options[name]) ?? optionNames[name]
  const sources: Sources = {
    apiKey: sourceOf("apiKey"),
    baseUrl: sourceOf("baseUrl"),
    organization: sourceOf("organization"),
    project: sourceOf("project"),
    timeout: sourceOf("timeout"),
    httpSpans: sourceOf("httpSpans")
  }
  return Layer.effect(OpenAiConfig, Effect.flatMap(Config.unwrap(options), (resolved) => check(resolved, sources)))
}

const optionalString = (name: string) => Config.string(name).pipe(Config.option, Config.map(Option.getOrUndefined))

/**
 * Reads `OPENAI_API_KEY` (required), `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`: the names
 * openai-node uses.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { BatchApi, OpenAiConfig } from "effect-openai-batch"
 *
 * // OPENAI_API_KEY, and OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID when set
 * const ApiLive = BatchApi.layer.pipe(
 *   Layer.provide(OpenAiConfig.layerFromEnv),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFromEnv: Layer.Layer<OpenAiConfig, ConfigError.ConfigError> = layerConfig({
  apiKey: Config.redacted("OPENAI_API_KEY").pipe(
    Config.orElse(() =>
      Config.fail("OPENAI_API_KEY is not set: export your OpenAI API key as OPENAI_API_KEY (or use OpenAiConfig.layer)")
    )
  ),
  baseUrl: optionalString("OPENAI_BASE_URL"),
  organization: optionalString("OPENAI_ORG_ID"),
  project: optionalString("OPENAI_PROJECT_ID")
})
