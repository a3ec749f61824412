/**
 * `effect-openai-batch-simulator [options]` (`--help` lists them with their meanings and defaults): serves the
 * Batch API simulator on 127.0.0.1 until Ctrl-C. Without `--key` any bearer key is accepted. With `--speed` above 1
 * it warns that a client's own schedules still run on real time, and how to keep them in pace.
 *
 * @since 4.0.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Cli from "./internal/cli.js"
import * as Server from "./server.js"

const parsed = Cli.parse(process.argv.slice(2), process.env)

if (parsed._tag === "Help") {
  Effect.runSync(Console.log(Cli.help))
} else if (parsed._tag === "Invalid") {
  Effect.runSync(Console.error(parsed.message))
  process.exitCode = 2
} else {
  const options = parsed.options
  const program = Effect.gen(function*() {
    const server = yield* Server.make({
      port: options.port,
      speed: options.speed,
      ...(options.key === undefined ? { acceptAnyKey: true } : { apiKey: options.key }),
      ...(options.tokenLimit === undefined ? {} : { enqueuedTokenLimit: options.tokenLimit }),
      ...(options.requestLimit === undefined ? {} : { enqueuedRequestLimit: options.requestLimit }),
      ...(options.webhookUrl === undefined || options.webhookSecret === undefined ? {} : {
        webhooks: { url: options.webhookUrl, secret: Redacted.make(options.webhookSecret) }
      })
    })
    // The real instant the server's clock started from: now = origin + (real now - origin) * speed.
    const real = Date.now()
    const origin = options.speed === 1
      ? real
      : Math.round((server.clock.currentTimeMillisUnsafe() - real * options.speed) / (1 - options.speed))
    for (const line of Cli.banner(options, { url: server.url, baseUrl: server.baseUrl, origin })) {
      yield* Console.log(line)
    }
    if (options.speed > 1) { for (const line of Cli.speedWarning(options.speed, origin)) yield* Console.error(line) }
    return yield* Effect.never
  })
  NodeRuntime.runMain(Effect.scoped(program))
}
