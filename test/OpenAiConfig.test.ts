import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Duration, Effect, Layer, Option, Redacted } from "effect"
import { readFileSync } from "node:fs"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import { userAgent } from "../src/internal/http.js"
import { packageName, packageVersion } from "../src/internal/version.js"

const fromEnv = (env: Record<string, string>) =>
  Effect.flatMap(OpenAiConfig.OpenAiConfig, Effect.succeed).pipe(
    Effect.provide(OpenAiConfig.layerFromEnv),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
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
      assert.isTrue(Duration.equals(config.timeout, Duration.seconds(60)))
      assert.strictEqual(config.maxRetries, 2)
    }))

  it.effect("a missing key is a clear error naming OPENAI_API_KEY, and never prints a key", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fromEnv({ OPENAI_ORG_ID: "org-9" }))
      assert.include(String(error), "OPENAI_API_KEY")
      assert.include(String(error), "is not set")
    }))

  it.effect("an empty key, a bad base URL and a negative retry count are config errors", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(fromEnv({ OPENAI_API_KEY: "  " }))
      assert.include(String(empty), "OPENAI_API_KEY")
      const badUrl = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "ftp://x" }))
      assert.include(String(badUrl), "http(s) URL")
      const negative = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("k"), maxRetries: -1 }))
      assert.include(String(negative), "maxRetries")
    }))

  it.effect("credentials in the base URL and a timeout that is not positive are config errors", () =>
    Effect.gen(function*() {
      const creds = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "https://user:pw@proxy.test/v1" }))
      assert.include(String(creds), "credentials")
      assert.notInclude(String(creds), "pw@")
      const zero = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("k"), timeout: 0 }))
      assert.include(String(zero), "timeout must be positive")
      const infinite = yield* OpenAiConfig.make({ apiKey: Redacted.make("k"), timeout: Duration.infinity })
      assert.isFalse(Duration.isFinite(infinite.timeout))
    }))

  it.effect("the key stays redacted in the resolved config", () =>
    Effect.gen(function*() {
      const config = yield* OpenAiConfig.make({ apiKey: Redacted.make("sk-SECRET") })
      assert.notInclude(JSON.stringify(config), "SECRET")
      assert.notInclude(String(config.apiKey), "SECRET")
    }))

  it.effect("layer and layerConfig build the same service", () =>
    Effect.gen(function*() {
      const a = yield* Effect.provide(OpenAiConfig.OpenAiConfig, OpenAiConfig.layer({ apiKey: Redacted.make("k"), timeout: "5 seconds" }))
      assert.isTrue(Duration.equals(a.timeout, Duration.seconds(5)))
      const b = yield* Effect.provide(
        OpenAiConfig.OpenAiConfig,
        Layer.fresh(OpenAiConfig.layerConfig({ apiKey: Config.succeed(Redacted.make("k")), timeout: Config.succeed("5 seconds") }))
      )
      assert.deepStrictEqual({ ...a, apiKey: undefined }, { ...b, apiKey: undefined })
    }))

  it("the User-Agent names this package and the version in package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { name: string; version: string }
    assert.strictEqual(packageName, pkg.name)
    assert.strictEqual(packageVersion, pkg.version)
    assert.strictEqual(userAgent, `${pkg.name}/${pkg.version}`)
  })
})
