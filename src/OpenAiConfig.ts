/**
 * Connection settings: the API key (always `Redacted`), base URL, organization, project, per-request timeout and
 * the default retry limits. Provide it with `layer(options)`, `layerConfig(configs)` or `layerFromEnv` (the
 * environment variables openai-node reads).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
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
 * - `maxRetries`: 2, as every official SDK.
 * - `maxRetryAfter`: 60 s. A `Retry-After` hint above it fails at once with the rate-limit error instead of
 *   retrying early (openai-node silently retries early; we surface it).
 * - `retryDeadline`: 2 minutes across all attempts of one call.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults = {
  timeout: Duration.seconds(60),
  maxRetries: 2,
  maxRetryAfter: Duration.seconds(60),
  retryDeadline: Duration.minutes(2)
} as const

/**
 * What `layer` and `make` accept.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly apiKey: Redacted.Redacted<string>
  /** Default `https://api.openai.com/v1`; a trailing slash is ignored. */
  readonly baseUrl?: string | undefined
  /** Sent as `OpenAI-Organization`. */
  readonly organization?: string | undefined
  /** Sent as `OpenAI-Project`. */
  readonly project?: string | undefined
  /** Per attempt. */
  readonly timeout?: Duration.DurationInput | undefined
  readonly maxRetries?: number | undefined
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  readonly retryDeadline?: Duration.DurationInput | undefined
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
  readonly maxRetries: number
  readonly maxRetryAfter: Duration.Duration
  readonly retryDeadline: Duration.Duration
  readonly httpSpans: boolean
}

/**
 * @since 0.1.0
 * @category Context
 */
export class OpenAiConfig extends Context.Tag("effect-openai-batch/OpenAiConfig")<OpenAiConfig, Service>() {}

const invalid = (path: string, message: string) => ConfigError.InvalidData([path], message)

/**
 * Checks and resolves options. Fails with a `ConfigError` for an empty key, a base URL that is not http(s) or holds
 * credentials, a timeout that is not positive (`Duration.infinity` means none), or a negative retry count.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<Service, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    if (Redacted.value(options.apiKey).trim().length === 0) {
      return yield* Effect.fail(invalid("OPENAI_API_KEY", "the OpenAI API key is empty: set OPENAI_API_KEY"))
    }
    const baseUrl = (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, "")
    const parsed = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined
    if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      return yield* Effect.fail(invalid("OPENAI_BASE_URL", `the base URL must be an http(s) URL, got ${baseUrl}`))
    }
    const maxRetries = options.maxRetries ?? defaults.maxRetries
    if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) {
      return yield* Effect.fail(invalid("maxRetries", `maxRetries must be a whole number >= 0, got ${maxRetries}`))
    }
    const timeout = Duration.decode(options.timeout ?? defaults.timeout)
    if (!Duration.greaterThan(timeout, Duration.zero)) {
      return yield* Effect.fail(invalid("timeout", `timeout must be positive, got ${Duration.format(timeout)}`))
    }
    if (parsed.username !== "" || parsed.password !== "") {
      // Credentials in the URL would be repeated in every error's url and message.
      return yield* Effect.fail(invalid("OPENAI_BASE_URL", "the base URL must not contain credentials (user:password@)"))
    }
    const nonEmpty = (value: string | undefined) => Option.filter(Option.fromNullable(value), (v) => v.length > 0)
    return {
      apiKey: options.apiKey,
      baseUrl,
      organization: nonEmpty(options.organization),
      project: nonEmpty(options.project),
      timeout,
      maxRetries,
      maxRetryAfter: Duration.decode(options.maxRetryAfter ?? defaults.maxRetryAfter),
      retryDeadline: Duration.decode(options.retryDeadline ?? defaults.retryDeadline),
      httpSpans: options.httpSpans ?? false
    }
  })

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<OpenAiConfig, ConfigError.ConfigError> =>
  Layer.effect(OpenAiConfig, make(options))

/**
 * Builds the settings from `Config`s, e.g. `{ apiKey: Config.redacted("MY_KEY") }`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (options: Config.Config.Wrap<Options>): Layer.Layer<OpenAiConfig, ConfigError.ConfigError> =>
  Layer.effect(OpenAiConfig, Effect.flatMap(Config.unwrap(options), make))

const optionalString = (name: string) => Config.string(name).pipe(Config.option, Config.map(Option.getOrUndefined))

/**
 * Reads `OPENAI_API_KEY` (required), `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`: the names
 * openai-node uses.
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
