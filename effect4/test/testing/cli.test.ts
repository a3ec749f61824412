import { assert, describe, it } from "@effect/vitest"
import * as Cli from "../../src/testing/internal/cli.js"

describe("the simulator's command line", () => {
  it("--help prints every flag with its meaning and default", () => {
    assert.strictEqual(Cli.parse(["--help"], {})._tag, "Help")
    assert.strictEqual(Cli.parse(["--port", "1", "-h"], {})._tag, "Help")
    const lines = Cli.help.split("\n")
    assert.strictEqual(lines[0], Cli.usage)
    for (
      const flag of [
        "--port",
        "--speed",
        "--key",
        "--token-limit",
        "--request-limit",
        "--webhook-url",
        "--webhook-secret"
      ]
    ) {
      const line = lines.find((l) => l.trimStart().startsWith(flag))
      assert.isDefined(line, flag)
      assert.match(line ?? "", /\(default: .+\)$/, flag)
    }
    assert.match(Cli.help, /--port N\s+the port on 127\.0\.0\.1 \(0 picks a free one\) \(default: 8080\)/)
    // the routes it serves: OpenAI's and Azure OpenAI's shape of them
    assert.include(Cli.help, "/v1/batches")
    assert.include(Cli.help, "Azure OpenAI's /openai/... (with api-version")
  })

  it("reads values, refuses bad ones with the usage, and takes the webhook secret from the environment", () => {
    const run = Cli.parse(["--port", "0", "--speed", "3600", "--token-limit", "100", "--key", "sk-x"], {})
    assert.deepStrictEqual(run, {
      _tag: "Run",
      options: {
        port: 0,
        speed: 3600,
        key: "sk-x",
        tokenLimit: 100,
        requestLimit: undefined,
        webhookUrl: undefined,
        webhookSecret: undefined
      }
    })
    for (
      const [argv, message] of [
        [["--port", "70000"], /--port must be 0..65535/],
        [["--speed", "0"], /--speed must be a positive number/],
        [["--speed"], /--speed needs a value/],
        [["--colour", "red"], /unknown option --colour/],
        [["--webhook-url", "ftp://x"], /must be an http\(s\) URL/],
        [["--webhook-url", "http://127.0.0.1:9/hook"], /needs --webhook-secret/]
      ] as const
    ) {
      const parsed = Cli.parse(argv, {})
      assert.strictEqual(parsed._tag, "Invalid")
      assert.match(parsed._tag === "Invalid" ? parsed.message : "", message)
      assert.include(parsed._tag === "Invalid" ? parsed.message : "", Cli.usage)
    }
    const fromEnv = Cli.parse(["--webhook-url", "http://127.0.0.1:9/hook"], { OPENAI_WEBHOOK_SECRET: "whsec_abc" })
    assert.strictEqual(fromEnv._tag === "Run" ? fromEnv.options.webhookSecret : "", "whsec_abc")
  })

  it("warns at a speed above 1 that the client's schedules run on real time, and how to keep pace", () => {
    const warning = Cli.speedWarning(3600, 1_700_000_000_000).join("\n")
    assert.match(warning, /^warning: --speed 3600/)
    assert.match(warning, /still run on real time/)
    assert.include(warning, "BatchApiSimulator.acceleratedClock(3600, 1700000000000)")
    assert.include(warning, "BatchSchedule.every(\"1 second\")")
    const banner = Cli.banner(
      {
        port: 0,
        speed: 3600,
        key: undefined,
        tokenLimit: undefined,
        requestLimit: undefined,
        webhookUrl: "http://h/w",
        webhookSecret: "s"
      },
      { url: "http://127.0.0.1:1", baseUrl: "http://127.0.0.1:1/v1", origin: 0 }
    ).join("\n")
    assert.include(banner, "Azure OpenAI endpoint: http://127.0.0.1:1 ")
    assert.include(banner, "3600x")
    assert.include(banner, "batch.* events to http://h/w")
    assert.notInclude(banner, "whsec")
  })
})
