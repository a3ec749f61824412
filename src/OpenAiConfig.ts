/**
 * Connection settings only: the API key (always `Redacted`), the base URL (and the query every request carries,
 * such as Azure OpenAI's `api-version`), how the key is sent, organization and project. How requests are retried
 * and timed is a policy of its own (`BatchSchedule`). Provide it with `layer(options)`, `layerConfig(configs)` or
 * `layerFromEnv` (the environment variables openai-node reads), or for Azure OpenAI with `layerAzure`; an invalid
 * value is a `ConfigError` at the option or config key it came from, when the layer is built: nothing is sent.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as PathSegment from "./internal/pathSegment.js"

/**
 * The default base URL.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultBaseUrl = "https://api.openai.com/v1"

/**
 * What `layer` and `make` accept.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The key, visible ASCII only (a key read from a file with its newline is refused, not trimmed). */
  readonly apiKey: Redacted.Redacted<string>
  /**
   * Default `https://api.openai.com/v1`; a trailing slash is ignored. A query (`?api-version=...`) is sent with
   * every request; a fragment or credentials are refused, and so is OpenAI's host without `/v1`.
   */
  readonly baseUrl?: string | undefined
  /** Sent as `OpenAI-Organization`. */
  readonly organization?: string | undefined
  /** Sent as `OpenAI-Project`. */
  readonly project?: string | undefined
}

/**
 * What `layerAzure` accepts: Azure OpenAI's batch endpoints, as openai-node's `AzureOpenAI` reaches them.
 *
 * @since 0.3.0
 * @category Models
 */
export interface AzureOptions {
  /** The resource's endpoint, e.g. `https://example-resource.openai.azure.com` (requests go to `<endpoint>/openai`). */
  readonly endpoint: string
  /** Sent as the `api-version` query parameter of every request, e.g. `2024-10-21`. */
  readonly apiVersion: string
  /** Sent as the `api-key` header. */
  readonly apiKey: Redacted.Redacted<string>
  /** A model deployment: a create is then sent to `/deployments/<deployment>/batches`, as openai-node does. */
  readonly deployment?: string | undefined
}

/**
 * The resolved settings.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  readonly apiKey: Redacted.Redacted<string>
  /** Without a trailing slash, a query or a fragment. */
  readonly baseUrl: string
  /** Query parameters sent with every request (the base URL's query; Azure OpenAI's `api-version`). */
  readonly query: Readonly<Record<string, string>>
  /** How the key is sent: `Authorization: Bearer <key>` (OpenAI) or `api-key: <key>` (Azure OpenAI). */
  readonly authentication: "bearer" | "api-key"
  readonly organization: Option.Option<string>
  readonly project: Option.Option<string>
  /** Azure OpenAI's deployment a create is routed to. */
  readonly deployment: Option.Option<string>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class OpenAiConfig extends Context.Tag("effect-openai-batch/OpenAiConfig")<OpenAiConfig, Service>() {}

/** A value that can go into a header: visible ASCII. What it breaks, in words, or `undefined`. */
const headerIssue = (what: string, value: string): string | undefined => {
  if (value.length === 0) return `${what} is empty`
  // A key read from a file keeps its newline; sent as it is, no request would ever leave (an invalid header).
  if (/\s/.test(value)) return `${what} contains whitespace or a line break (read from a file with its newline?)`
  // A header carries visible ASCII only: `€` or a control character would fail every request before it is sent,
  // and a transport failure is retried: a wait would spin on it until its deadline, sending nothing.
  if (!/^[\x21-\x7e]+$/.test(value)) {
    return `${what} contains a character that is not visible ASCII (no HTTP header can carry it)`
  }
  return undefined
}

type Invalid = readonly [field: string, message: string]

const parseUrl = (
  field: string,
  url: string
): Either.Either<{ readonly url: URL; readonly query: Record<string, string> }, Invalid> => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    return Either.left([
      field,
      `the ${field} must be an http(s) URL, got ${parsed === undefined ? "something else" : parsed.protocol}`
    ])
  }
  if (parsed.username !== "" || parsed.password !== "") {
    // Credentials in the URL would be repeated in every error's url and message.
    return Either.left([field, `the ${field} must not contain credentials (user:password@)`])
  }
  if (parsed.hash !== "") return Either.left([field, `the ${field} must not contain a fragment (#...)`])
  // A resource's URL given for the API's root: every call would go to `…/batches/batches` and answer 404.
  const resource = /\/(batches|files|uploads)\/?$/.exec(parsed.pathname)?.[1]
  if (resource !== undefined) {
    return Either.left([field, `the ${field} must be the API's root (https://api.openai.com/v1), not its /${resource}`])
  }
  // OpenAI's own host without its version (as some tools take OPENAI_BASE_URL): every call would answer 404.
  if (parsed.hostname === "api.openai.com" && /^\/*$/.test(parsed.pathname)) {
    return Either.left([field, `the ${field} of OpenAI's API ends with /v1: ${defaultBaseUrl}`])
  }
  const query: Record<string, string> = {}
  parsed.searchParams.forEach((value, key) => {
    query[key] = value
  })
  parsed.search = ""
  parsed.pathname = parsed.pathname.replace(/\/+$/, "")
  return Either.right({ url: parsed, query })
}

const optionalHeader = (field: string, value: string | undefined): Either.Either<Option.Option<string>, Invalid> => {
  if (value === undefined || value.length === 0) return Either.right(Option.none())
  const issue = headerIssue(`the ${field}`, value)
  return issue === undefined ? Either.right(Option.some(value)) : Either.left([field, issue])
}

const checkKey = (field: string, apiKey: Redacted.Redacted<string>): Invalid | undefined => {
  const issue = headerIssue("the API key", Redacted.value(apiKey))
  return issue === undefined ? undefined : [field, issue]
}

const check = (options: Options): Either.Either<Service, Invalid> =>
  Either.gen(function*() {
    const key = checkKey("apiKey", options.apiKey)
    if (key !== undefined) return yield* Either.left(key)
    const base = yield* parseUrl("baseUrl", options.baseUrl ?? defaultBaseUrl)
    return {
      apiKey: options.apiKey,
      baseUrl: base.url.href.replace(/\/+$/, ""),
      query: base.query,
      authentication: "bearer" as const,
      organization: yield* optionalHeader("organization", options.organization),
      project: yield* optionalHeader("project", options.project),
      deployment: Option.none()
    }
  })

const checkAzure = (options: AzureOptions): Either.Either<Service, Invalid> =>
  Either.gen(function*() {
    const key = checkKey("apiKey", options.apiKey)
    if (key !== undefined) return yield* Either.left(key)
    const endpoint = yield* parseUrl("endpoint", options.endpoint)
    if (Object.keys(endpoint.query).length > 0) {
      return yield* Either.left(["endpoint", "the endpoint must not have a query (pass apiVersion)"] as const)
    }
    const version = headerIssue("the API version", options.apiVersion)
    if (version !== undefined) return yield* Either.left(["apiVersion", version] as const)
    const deployment = options.deployment === undefined ? undefined : PathSegment.issue(options.deployment)
    if (deployment !== undefined) return yield* Either.left(["deployment", `the deployment ${deployment}`] as const)
    return {
      apiKey: options.apiKey,
      baseUrl: `${endpoint.url.href.replace(/\/+$/, "")}/openai`,
      query: { "api-version": options.apiVersion },
      authentication: "api-key" as const,
      organization: Option.none(),
      project: Option.none(),
      deployment: Option.fromNullable(options.deployment)
    }
  })

const invalidAt = (path: ReadonlyArray<string>, message: string) => ConfigError.InvalidData([...path], message)

/**
 * Checks and resolves options. Fails with a `ConfigError` naming the option for an empty key or one with whitespace
 * or a character no header can carry, a base URL that is not http(s) or holds credentials or a fragment, or an
 * organization or project that no header can carry.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<Service, ConfigError.ConfigError> =>
  Effect.suspend(() => Either.mapLeft(check(options), ([field, message]) => invalidAt([field], message)))

/**
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { OpenAiConfig } from "effect-openai-batch"
 *
 * const ConfigLive = OpenAiConfig.layer({
 *   apiKey: Redacted.make("sk-..."),
 *   baseUrl: "https://my-proxy.example/v1"
 * })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<OpenAiConfig, ConfigError.ConfigError> =>
  Layer.effect(OpenAiConfig, make(options))

/**
 * Checks and resolves Azure OpenAI's settings: requests go to `<endpoint>/openai`, with the key in an `api-key`
 * header and `api-version` on every request.
 *
 * @since 0.3.0
 * @category Constructors
 */
export const makeAzure = (options: AzureOptions): Effect.Effect<Service, ConfigError.ConfigError> =>
  Effect.suspend(() => Either.mapLeft(checkAzure(options), ([field, message]) => invalidAt([field], message)))

/**
 * Azure OpenAI's batch endpoints, as openai-node's `AzureOpenAI` reaches them.
 *
 * @example
 * ```ts
 * import { Layer, Redacted } from "effect"
 * import { BatchApi, OpenAiConfig } from "effect-openai-batch"
 *
 * const AzureLive = BatchApi.layer.pipe(
 *   Layer.provide(OpenAiConfig.layerAzure({
 *     endpoint: "https://example-resource.openai.azure.com",
 *     apiVersion: "2024-10-21",
 *     apiKey: Redacted.make("...")
 *   }))
 * )
 * ```
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerAzure = (options: AzureOptions): Layer.Layer<OpenAiConfig, ConfigError.ConfigError> =>
  Layer.effect(OpenAiConfig, makeAzure(options))

/**
 * The config key a `Config` reads, found through the public API: the path it reports missing from an empty
 * provider (`["MY_OPENAI_KEY"]` for `Config.redacted("MY_OPENAI_KEY")`), so that a value that loads but is invalid
 * is reported under the key the user set; `undefined` for a config that reads no key (`Config.succeed`).
 */
const keyOf = (config: Config.Config<unknown>): Effect.Effect<ReadonlyArray<string> | undefined> => {
  const missing = (error: ConfigError.ConfigError): ReadonlyArray<string> | undefined => {
    switch (error._op) {
      case "MissingData":
        return error.path.length === 0 ? undefined : error.path
      case "And":
      case "Or":
        return missing(error.left) ?? missing(error.right)
      default:
        return undefined
    }
  }
  return Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map())).pipe(
    Effect.match({ onFailure: missing, onSuccess: () => undefined })
  )
}

/** Loads `options`, then checks them, reporting an invalid value under the key it was read from. */
const loadChecked = <O extends object>(
  options: Config.Config.Wrap<O>,
  checkOptions: (options: O) => Either.Either<Service, Invalid>
): Effect.Effect<Service, ConfigError.ConfigError> => {
  const config: Config.Config<O> = Config.unwrap(options)
  return Effect.flatMap(config, (loaded) =>
    Either.match(checkOptions(loaded), {
      onRight: Effect.succeed,
      onLeft: ([field, message]) => {
        const source: unknown = Config.isConfig(options) ? undefined : Reflect.get(options, field)
        const at = Config.isConfig(source) ? keyOf(source) : Effect.succeed(undefined)
        return Effect.flatMap(at, (path) => Effect.fail(invalidAt(path ?? [field], message)))
      }
    }))
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
 * // the key from MY_OPENAI_KEY (a missing one is a ConfigError naming it), a fixed base URL
 * const ConfigLive = OpenAiConfig.layerConfig({
 *   apiKey: Config.redacted("MY_OPENAI_KEY"),
 *   baseUrl: Config.succeed("https://my-proxy.example/v1")
 * })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<OpenAiConfig, ConfigError.ConfigError> => Layer.effect(OpenAiConfig, loadChecked(options, check))

/**
 * `layerAzure` from `Config`s.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerAzureConfig = (
  options: Config.Config.Wrap<AzureOptions>
): Layer.Layer<OpenAiConfig, ConfigError.ConfigError> => Layer.effect(OpenAiConfig, loadChecked(options, checkAzure))

const optionalString = (name: string) => Config.string(name).pipe(Config.option, Config.map(Option.getOrUndefined))

/**
 * A required secret read as a plain string and redacted once read: `Config.redacted` would also redact the message
 * of its "missing" error, which then reads `<redacted>` instead of saying what is missing.
 */
const secret = (name: string) => Config.map(Config.string(name), Redacted.make)

/**
 * Reads `OPENAI_API_KEY` (required: a missing one is one `ConfigError` naming it), `OPENAI_BASE_URL`,
 * `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`: the names openai-node uses.
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
  apiKey: secret("OPENAI_API_KEY"),
  baseUrl: optionalString("OPENAI_BASE_URL"),
  organization: optionalString("OPENAI_ORG_ID"),
  project: optionalString("OPENAI_PROJECT_ID")
})

/**
 * Azure OpenAI from `AZURE_OPENAI_ENDPOINT`, `OPENAI_API_VERSION` and `AZURE_OPENAI_API_KEY` (the names openai-node's
 * `AzureOpenAI` reads).
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerAzureFromEnv: Layer.Layer<OpenAiConfig, ConfigError.ConfigError> = layerAzureConfig({
  endpoint: Config.string("AZURE_OPENAI_ENDPOINT"),
  apiVersion: Config.string("OPENAI_API_VERSION"),
  apiKey: secret("AZURE_OPENAI_API_KEY")
})
