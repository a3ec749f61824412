/**
 * OpenAiConfig on Effect 4: the layers read what the Effect 3 edition's read, an invalid value is a `ConfigError`
 * under the option or config key it came from (`OpenAiConfig.pathOf`), and the key never shows in an error, a log
 * line or JSON.
 */
import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Layer, Logger, Option, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { userAgent } from "../src/internal/http/pipeline.js"
import { packageName, packageVersion } from "../src/internal/version.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"

const withEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

const fromEnv = (env: Record<string, string>) =>
  Effect.provide(Effect.service(OpenAiConfig.OpenAiConfig), Layer.fresh(OpenAiConfig.layerFromEnv)).pipe(withEnv(env))

const viaConfig = (options: Config.Wrap<OpenAiConfig.Options>, env: Record<string, string>) =>
  Effect.provide(Effect.service(OpenAiConfig.OpenAiConfig), Layer.fresh(OpenAiConfig.layerConfig(options))).pipe(
    withEnv(env)
  )

describe("OpenAiConfig", () => {
  it.effect("layerFromEnv reads the variables openai-node reads", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        OPENAI_API_KEY: "sk-env",
        OPENAI_BASE_URL: "http://127.0.0.1:4010/v1/",
        OPENAI_ORG_ID: "org-9",
        OPENAI_PROJECT_ID: "proj-9"
      })
      assert.strictEqual(Redacted.value(config.apiKey), "sk-env")
      assert.strictEqual(config.baseUrl, "http://127.0.0.1:4010/v1")
      assert.deepStrictEqual(config.organization, Option.some("org-9"))
      assert.deepStrictEqual(config.project, Option.some("proj-9"))
    }))

  it.effect("defaults", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({ OPENAI_API_KEY: "sk-env" })
      assert.strictEqual(config.baseUrl, "https://api.openai.com/v1")
      assert.isTrue(Option.isNone(config.organization))
      assert.isTrue(Option.isNone(config.project))
      assert.deepStrictEqual(config.query, {})
      assert.strictEqual(config.authentication, "bearer")
    }))

  it.effect("a missing key is one error at OPENAI_API_KEY, which prints no value", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fromEnv({ OPENAI_ORG_ID: "org-9" }))
      assert.deepStrictEqual(OpenAiConfig.pathOf(error), ["OPENAI_API_KEY"])
      assert.include(String(error), "OPENAI_API_KEY")
      assert.notInclude(String(error), "redacted")
    }))

  it.effect("an empty key and a bad base URL are config errors", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(fromEnv({ OPENAI_API_KEY: "" }))
      assert.deepStrictEqual(OpenAiConfig.pathOf(empty), ["OPENAI_API_KEY"])
      const badUrl = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "ftp://x" }))
      assert.include(String(badUrl), "http(s) URL")
      assert.deepStrictEqual(OpenAiConfig.pathOf(badUrl), ["baseUrl"])
    }))

  it.effect("a key with surrounding whitespace or a newline is refused when the layer is built, naming where it came from", () =>
    Effect.gen(function*() {
      for (const key of ["sk-abc\n", " sk-abc", "sk-abc\r\n", "sk a"]) {
        const fromFile = yield* Effect.flip(fromEnv({ OPENAI_API_KEY: key }))
        assert.deepStrictEqual(OpenAiConfig.pathOf(fromFile), ["OPENAI_API_KEY"], JSON.stringify(key))
        assert.include(String(fromFile), "whitespace or a line break")
        assert.notInclude(String(fromFile), "sk-abc")
      }
      const plain = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("sk-abc\n") }))
      assert.deepStrictEqual(OpenAiConfig.pathOf(plain), ["apiKey"])
    }))

  it.effect("a key, organization or project no HTTP header can carry is refused when the layer is built", () =>
    Effect.gen(function*() {
      const euro = yield* Effect.flip(fromEnv({ OPENAI_API_KEY: "sk-abc€def" }))
      assert.deepStrictEqual(OpenAiConfig.pathOf(euro), ["OPENAI_API_KEY"])
      assert.include(String(euro), "not visible ASCII")
      assert.notInclude(String(euro), "sk-abc")
      const control = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("sk-\u0007bell") }))
      assert.deepStrictEqual(OpenAiConfig.pathOf(control), ["apiKey"])
      const organization = yield* Effect.flip(
        OpenAiConfig.make({ apiKey: Redacted.make("sk-fine"), organization: "org-é" })
      )
      assert.deepStrictEqual(OpenAiConfig.pathOf(organization), ["organization"])
    }))

  it.effect("a ConfigError names the key the user configured, or the option a plain value was given as", () =>
    Effect.gen(function*() {
      const mine = yield* Effect.flip(
        viaConfig({ apiKey: Config.Redacted("MY_OPENAI_KEY") }, { MY_OPENAI_KEY: "  " })
      )
      assert.deepStrictEqual(OpenAiConfig.pathOf(mine), ["MY_OPENAI_KEY"])
      assert.notInclude(String(mine), "OPENAI_API_KEY")
      const nested = yield* Effect.flip(
        viaConfig({
          apiKey: Config.Redacted("KEY").pipe(Config.nested("openai")),
          baseUrl: Config.succeed("https://u:p@x/v1")
        }, { openai_KEY: "sk-fine" })
      )
      // The key is fine; the base URL was a plain value: it is reported under the option's name.
      assert.deepStrictEqual(OpenAiConfig.pathOf(nested), ["baseUrl"])
      assert.notInclude(String(nested), "u:p@")
      const badNested = yield* Effect.flip(
        viaConfig({ apiKey: Config.Redacted("KEY").pipe(Config.nested("openai")) }, { openai_KEY: "sk x" })
      )
      assert.deepStrictEqual(OpenAiConfig.pathOf(badNested), ["openai", "KEY"])
      assert.notInclude(String(badNested), "sk x")
    }))

  it.effect("credentials, a fragment or a resource's path in the base URL are config errors", () =>
    Effect.gen(function*() {
      const creds = yield* Effect.flip(
        OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "https://user:pw@proxy.test/v1" })
      )
      assert.include(String(creds), "credentials")
      assert.notInclude(String(creds), "pw@")
      const fragment = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "https://x/v1#a" }))
      assert.include(String(fragment), "fragment")
      // A resource's URL for the API's root would answer every call with a 404 that names no cause.
      const resource = yield* Effect.flip(
        OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "https://api.openai.com/v1/batches/" })
      )
      assert.include(String(resource), "must be the API's root (https://api.openai.com/v1), not its /batches")
      assert.deepStrictEqual(OpenAiConfig.pathOf(fragment), ["baseUrl"])
      // OpenAI's host without /v1 (OPENAI_BASE_URL=https://api.openai.com, as some tools take it): every call 404s.
      for (const baseUrl of ["https://api.openai.com", "https://api.openai.com/", "https://api.openai.com//"]) {
        const root = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl }))
        assert.include(String(root), "the baseUrl of OpenAI's API ends with /v1: https://api.openai.com/v1")
      }
      const versioned = yield* OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "https://api.openai.com/v1/" })
      assert.strictEqual(versioned.baseUrl, "https://api.openai.com/v1")
      // Any other host's root is its own business (a proxy may serve the API at its root).
      const proxy = yield* OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "https://proxy.test" })
      assert.strictEqual(proxy.baseUrl, "https://proxy.test")
    }))

  it.effect("the key never appears in the resolved config's JSON or string, nor in a log line that holds it", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({ OPENAI_API_KEY: "sk-SECRET", OPENAI_ORG_ID: "org-9" })
      assert.strictEqual(Redacted.value(config.apiKey), "sk-SECRET")
      assert.notInclude(JSON.stringify(config), "SECRET")
      assert.notInclude(String(config.apiKey), "SECRET")
      const lines: Array<string> = []
      const capture = Logger.map(Logger.formatJson, (line) => {
        lines.push(line)
      })
      yield* Effect.logInfo("config", config, { apiKey: config.apiKey }).pipe(
        Effect.provide(Logger.layer([capture]))
      )
      assert.strictEqual(lines.length, 1)
      assert.include(lines[0], "org-9")
      assert.notInclude(lines[0], "SECRET")
    }))

  it.effect("Azure OpenAI: the endpoint's /openai, the api-version on every request, the key as api-key", () =>
    Effect.gen(function*() {
      const azure = yield* OpenAiConfig.makeAzure({
        endpoint: "https://example-resource.openai.azure.com/",
        apiVersion: "2024-10-21",
        apiKey: Redacted.make("az-key"),
        deployment: "gpt-4o-mini"
      })
      assert.strictEqual(azure.baseUrl, "https://example-resource.openai.azure.com/openai")
      assert.deepStrictEqual(azure.query, { "api-version": "2024-10-21" })
      assert.strictEqual(azure.authentication, "api-key")
      assert.deepStrictEqual(azure.deployment, Option.some("gpt-4o-mini"))
      const query = yield* Effect.flip(
        OpenAiConfig.makeAzure({ endpoint: "https://x/?a=1", apiVersion: "1", apiKey: Redacted.make("k") })
      )
      assert.deepStrictEqual(OpenAiConfig.pathOf(query), ["endpoint"])
      const deployment = yield* Effect.flip(
        OpenAiConfig.makeAzure({
          endpoint: "https://x",
          apiVersion: "1",
          apiKey: Redacted.make("k"),
          deployment: "../x"
        })
      )
      assert.deepStrictEqual(OpenAiConfig.pathOf(deployment), ["deployment"])
      const env = yield* Effect.provide(Effect.service(OpenAiConfig.OpenAiConfig), OpenAiConfig.layerAzureFromEnv).pipe(
        withEnv({
          AZURE_OPENAI_ENDPOINT: "https://r.openai.azure.com",
          OPENAI_API_VERSION: "v",
          AZURE_OPENAI_API_KEY: "z"
        })
      )
      assert.strictEqual(env.baseUrl, "https://r.openai.azure.com/openai")
      assert.strictEqual(Redacted.value(env.apiKey), "z")
    }))

  it.effect("layer and layerConfig build the same service", () =>
    Effect.gen(function*() {
      const a = yield* Effect.provide(
        Effect.service(OpenAiConfig.OpenAiConfig),
        OpenAiConfig.layer({ apiKey: Redacted.make("k"), baseUrl: "https://proxy.test/v1?api-version=1" })
      )
      assert.strictEqual(a.baseUrl, "https://proxy.test/v1")
      assert.deepStrictEqual(a.query, { "api-version": "1" })
      const b = yield* viaConfig({
        apiKey: Config.succeed(Redacted.make("k")),
        baseUrl: Config.succeed("https://proxy.test/v1?api-version=1")
      }, {})
      assert.deepStrictEqual({ ...a, apiKey: undefined }, { ...b, apiKey: undefined })
    }))

  it("the User-Agent names this package and the version in package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      name: string
      version: string
    }
    assert.strictEqual(packageName, pkg.name)
    assert.strictEqual(packageVersion, pkg.version)
    assert.strictEqual(userAgent, `${pkg.name}/${pkg.version}`)
  })
})
