/**
 * `effect-openai-batch-simulator [--port 8080] [--speed 60] [--key sk-...] [--token-limit N] [--request-limit N]`: serves the
 * Batch API simulator on 127.0.0.1 until Ctrl-C. Without `--key` any bearer key is accepted. The limits are the
 * enqueued token and request limits of every model (default: unlimited).
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Server from "./server.js"

const usage =
  "usage: effect-openai-batch-simulator [--port 8080] [--speed 60] [--key sk-...] [--token-limit N] [--request-limit N]"

const parse = (argv: ReadonlyArray<string>) => {
  const options: {
    port: number
    speed: number
    key: string | undefined
    tokenLimit: number | undefined
    requestLimit: number | undefined
  } = { port: 8080, speed: 1, key: undefined, tokenLimit: undefined, requestLimit: undefined }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (flag === "--help" || flag === "-h") return usage
    if (value === undefined) return `${flag} needs a value\n${usage}`
    i++
    if (flag === "--port") {
      const port = Number(value)
      if (!Number.isInteger(port) || port < 0 || port > 65_535) return `--port must be 0..65535, got ${value}`
      options.port = port
    } else if (flag === "--speed") {
      const speed = Number(value)
      if (!Number.isFinite(speed) || speed <= 0) return `--speed must be a positive number, got ${value}`
      options.speed = speed
    } else if (flag === "--key") {
      options.key = value
    } else if (flag === "--token-limit" || flag === "--request-limit") {
      const limit = Number(value)
      if (!Number.isSafeInteger(limit) || limit < 1) return `${flag} must be a positive integer, got ${value}`
      if (flag === "--token-limit") options.tokenLimit = limit
      else options.requestLimit = limit
    } else {
      return `unknown option ${flag}\n${usage}`
    }
  }
  return options
}

const options = parse(process.argv.slice(2))

if (typeof options === "string") {
  Effect.runSync(Console.error(options))
  process.exitCode = options === usage ? 0 : 2
} else {
  const program = Effect.gen(function*() {
    const server = yield* Server.make({
      port: options.port,
      speed: options.speed,
      ...(options.key === undefined ? { acceptAnyKey: true } : { apiKey: options.key }),
      ...(options.tokenLimit === undefined ? {} : { enqueuedTokenLimit: options.tokenLimit }),
      ...(options.requestLimit === undefined ? {} : { enqueuedRequestLimit: options.requestLimit })
    })
    yield* Console.log(`Batch API simulator listening on ${server.url}`)
    yield* Console.log(`  base URL: ${server.baseUrl}   (e.g. OPENAI_BASE_URL=${server.baseUrl})`)
    yield* Console.log(
      `  clock: ${
        options.speed === 1 ? "real time" : `${options.speed}x (one real second = ${options.speed} batch seconds)`
      }`
    )
    yield* Console.log(`  API key: ${options.key === undefined ? "any non-empty key" : "the one given with --key"}`)
    yield* Console.log(
      `  enqueued limits per model: ${options.tokenLimit ?? "unlimited"} tokens, ${
        options.requestLimit ?? "unlimited"
      } requests`
    )
    yield* Console.log("Ctrl-C to stop.")
    return yield* Effect.never
  })
  NodeRuntime.runMain(Effect.scoped(program))
}
