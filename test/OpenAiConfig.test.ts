import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Layer, Option, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { userAgent } from "../src/internal/http/pipeline.js"
import { packageName, packageVersion } from "../src/internal/version.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"

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
      assert.deepStrictEqual(config.query, {})
      assert.strictEqual(config.authentication, "bearer")
    }))

  it.effect("a missing key is a clear error naming OPENAI_API_KEY, and never prints a key", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fromEnv({ OPENAI_ORG_ID: "org-9" }))
      // One error, at the key, saying it is missing (not an Or of two, not "<redacted>").
      assert.strictEqual(error._op, "MissingData")
      if (error._op === "MissingData") assert.deepStrictEqual(error.path, ["OPENAI_API_KEY"])
      assert.include(String(error), "Missing data at OPENAI_API_KEY: \"Expected OPENAI_API_KEY to exist")
      assert.notInclude(String(error), "redacted")
    }))

  it.effect("an empty key and a bad base URL are config errors", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(fromEnv({ OPENAI_API_KEY: "" }))
      assert.include(String(empty), "OPENAI_API_KEY")
      const badUrl = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("k"), baseUrl: "ftp://x" }))
      assert.include(String(badUrl), "http(s) URL")
    }))

  it.effect("a key with surrounding whitespace or a newline is refused when the layer is built, naming where it came from", () =>
    Effect.gen(function*() {
      for (const key of ["sk-abc\n", " sk-abc", "sk-abc\r\n", "sk a"]) {
        const fromFile = yield* Effect.flip(fromEnv({ OPENAI_API_KEY: key }))
        assert.strictEqual(fromFile._op, "InvalidData")
        if (fromFile._op === "InvalidData") assert.deepStrictEqual(fromFile.path, ["OPENAI_API_KEY"])
        assert.include(String(fromFile), "whitespace or a line break")
        assert.notInclude(String(fromFile), "sk-abc")
      }
      const plain = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("sk-abc\n") }))
      assert.strictEqual(plain._op, "InvalidData")
      if (plain._op === "InvalidData") assert.deepStrictEqual(plain.path, ["apiKey"])
    }))

  it.effect("a key, organization or project no HTTP header can carry is refused when the layer is built", () =>
    Effect.gen(function*() {
      // Before, `€` reached the transport, failed every request as a retried TransportError, and a wait spun on it
      // until its 25-hour deadline with no request sent.
      const euro = yield* Effect.flip(fromEnv({ OPENAI_API_KEY: "sk-abc€def" }))
      assert.strictEqual(euro._op, "InvalidData")
      if (euro._op === "InvalidData") assert.deepStrictEqual(euro.path, ["OPENAI_API_KEY"])
      assert.include(String(euro), "not visible ASCII")
      assert.notInclude(String(euro), "sk-abc")
      const control = yield* Effect.flip(OpenAiConfig.make({ apiKey: Redacted.make("sk-\u0007bell") }))
      if (control._op === "InvalidData") assert.deepStrictEqual(control.path, ["apiKey"])
      else assert.fail(`expected InvalidData, got ${control._op}`)
      const organization = yield* Effect.flip(
        OpenAiConfig.make({ apiKey: Redacted.make("sk-fine"), organization: "org-é" })
      )
      if (organization._op === "InvalidData") assert.deepStrictEqual(organization.path, ["organization"])
      else assert.fail(`expected InvalidData, got ${organization._op}`)
    }))

  it.effect("a ConfigError names the key the user configured, or the option a plain value was given as", () =>
    Effect.gen(function*() {
      const mine = yield* Effect.flip(
        Effect.provide(
          OpenAiConfig.OpenAiConfig,
          OpenAiConfig.layerConfig({ apiKey: Config.redacted("MY_OPENAI_KEY") })
        ).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MY_OPENAI_KEY", "  "]])))
        )
      )
      assert.strictEqual(mine._op, "InvalidData")
      if (mine._op === "InvalidData") assert.deepStrictEqual(mine.path, ["MY_OPENAI_KEY"])
      assert.notInclude(String(mine), "OPENAI_API_KEY")
      const nested = yield* Effect.flip(
        Effect.provide(
          OpenAiConfig.OpenAiConfig,
          OpenAiConfig.layerConfig({
            apiKey: Config.nested(Config.redacted("KEY"), "openai"),
            baseUrl: Config.succeed("https://u:p@x/v1")
          })
        ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["openai.KEY", "sk-fine"]]))))
      )
      // The key is fine; the base URL was a plain value: it is reported under the option's name.
      assert.strictEqual(nested._op, "InvalidData")
      if (nested._op === "InvalidData") assert.deepStrictEqual(nested.path, ["baseUrl"])
      assert.notInclude(String(nested), "OPENAI_BASE_URL")
      const badNested = yield* Effect.flip(
        Effect.provide(
          OpenAiConfig.OpenAiConfig,
          OpenAiConfig.layerConfig({ apiKey: Config.nested(Config.redacted("KEY"), "openai") })
        ).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["openai.KEY", "sk x"]])))
        )
      )
      if (badNested._op === "InvalidData") assert.deepStrictEqual(badNested.path, ["openai", "KEY"])
      else assert.fail(`expected InvalidData, got ${badNested._op}`)
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
      if (fragment._op === "InvalidData") assert.deepStrictEqual(fragment.path, ["baseUrl"])
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

  it.effect("the key stays redacted in the resolved config", () =>
    Effect.gen(function*() {
      const config = yield* OpenAiConfig.make({ apiKey: Redacted.make("sk-SECRET") })
      assert.notInclude(JSON.stringify(config), "SECRET")
      assert.notInclude(String(config.apiKey), "SECRET")
    }))

  it.effect("layer and layerConfig build the same service", () =>
    Effect.gen(function*() {
      const a = yield* Effect.provide(
        OpenAiConfig.OpenAiConfig,
        OpenAiConfig.layer({ apiKey: Redacted.make("k"), baseUrl: "https://proxy.test/v1?api-version=1" })
      )
      assert.strictEqual(a.baseUrl, "https://proxy.test/v1")
      assert.deepStrictEqual(a.query, { "api-version": "1" })
      const b = yield* Effect.provide(
        OpenAiConfig.OpenAiConfig,
        Layer.fresh(
          OpenAiConfig.layerConfig({
            apiKey: Config.succeed(Redacted.make("k")),
            baseUrl: Config.succeed("https://proxy.test/v1?api-version=1")
          })
        )
      )
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
