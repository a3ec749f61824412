/**
 * The simulator command's words: its flags (each with its meaning and default, for `--help`), the parsing of a
 * command line, and what it prints when it starts, warnings included. Pure, so that tests read them without a
 * process.
 *
 * The Effect 4 edition: the Effect 3 edition's file but for the speed warning's advice, in Effect 4's words
 * (`Effect.provideService(Clock.Clock, ...)` for Effect 3's `Effect.withClock`).
 *
 * @internal
 */

/** @internal */
export interface CliOptions {
  readonly port: number
  readonly speed: number
  readonly key: string | undefined
  readonly tokenLimit: number | undefined
  readonly requestLimit: number | undefined
  readonly webhookUrl: string | undefined
  readonly webhookSecret: string | undefined
}

/** The command's flags: name, value, meaning, default. @internal */
export const flags: ReadonlyArray<readonly [flag: string, value: string, meaning: string, byDefault: string]> = [
  ["--port", "N", "the port on 127.0.0.1 (0 picks a free one)", "8080"],
  [
    "--speed",
    "X",
    "simulated seconds per real second: 60 makes a batch minute last one real second (the client's own timers do " +
    "not speed up: see the warning it prints)",
    "1 (real time)"
  ],
  ["--key", "sk-...", "the only API key accepted", "any non-empty key"],
  ["--token-limit", "N", "the enqueued-token limit of every model (a batch over it fails)", "unlimited"],
  ["--request-limit", "N", "the enqueued-request limit of every model", "unlimited"],
  ["--webhook-url", "URL", "where batch.* webhook events are POSTed when batches end", "none (no webhooks)"],
  [
    "--webhook-secret",
    "whsec_...",
    "the endpoint's signing secret (or the OPENAI_WEBHOOK_SECRET variable)",
    "none; required with --webhook-url"
  ],
  ["--help, -h", "", "print this help", ""]
]

/** @internal */
export const usage = "usage: effect-openai-batch-simulator [options]"

/** `--help`: the usage line, then every flag with its meaning and default. @internal */
export const help: string = [
  usage,
  "",
  "Serves the OpenAI Batch API simulator (batches, files, uploads, webhooks) on 127.0.0.1 until Ctrl-C:",
  "/v1/batches, /v1/files, /v1/uploads with Authorization: Bearer; Azure OpenAI's /openai/... (with api-version,",
  "any value) with an api-key header, the same routes and the same key.",
  "",
  "options:",
  ...flags.map(([flag, value, meaning, byDefault]) =>
    `  ${`${flag} ${value}`.padEnd(28)}${meaning}${byDefault === "" ? "" : ` (default: ${byDefault})`}`
  )
].join("\n")

/** @internal */
export type Parsed =
  | { readonly _tag: "Run"; readonly options: CliOptions }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Invalid"; readonly message: string }

const invalid = (message: string): Parsed => ({ _tag: "Invalid", message: `${message}\n${usage} (--help for more)` })

/** Reads a command line (and the environment, for the webhook secret). @internal */
export const parse = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Parsed => {
  let port = 8080
  let speed = 1
  let key: string | undefined
  let tokenLimit: number | undefined
  let requestLimit: number | undefined
  let webhookUrl: string | undefined
  let webhookSecret = env["OPENAI_WEBHOOK_SECRET"]
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    if (flag === "--help" || flag === "-h") return { _tag: "Help" }
    const value = argv[i + 1]
    if (value === undefined) return invalid(`${flag} needs a value`)
    i++
    switch (flag) {
      case "--port": {
        const n = Number(value)
        if (!Number.isInteger(n) || n < 0 || n > 65_535) return invalid(`--port must be 0..65535, got ${value}`)
        port = n
        break
      }
      case "--speed": {
        const n = Number(value)
        if (!Number.isFinite(n) || n <= 0) return invalid(`--speed must be a positive number, got ${value}`)
        speed = n
        break
      }
      case "--key":
        key = value
        break
      case "--token-limit":
      case "--request-limit": {
        const n = Number(value)
        if (!Number.isSafeInteger(n) || n < 1) return invalid(`${flag} must be a positive integer, got ${value}`)
        if (flag === "--token-limit") tokenLimit = n
        else requestLimit = n
        break
      }
      case "--webhook-url":
        if (!/^https?:\/\//.test(value)) return invalid(`--webhook-url must be an http(s) URL, got ${value}`)
        webhookUrl = value
        break
      case "--webhook-secret":
        webhookSecret = value
        break
      default:
        return invalid(`unknown option ${flag}`)
    }
  }
  if (webhookUrl !== undefined && (webhookSecret === undefined || webhookSecret === "")) {
    return invalid("--webhook-url needs --webhook-secret (or OPENAI_WEBHOOK_SECRET)")
  }
  return { _tag: "Run", options: { port, speed, key, tokenLimit, requestLimit, webhookUrl, webhookSecret } }
}

/**
 * Why a fast simulator can still make a slow client, and the two ways out.
 *
 * @internal
 */
export const speedWarning = (speed: number, origin: number): ReadonlyArray<string> => [
  `warning: --speed ${speed} speeds up the batches, not your client. Its own schedules (poll interval, retry`,
  `  backoff, timeouts) still run on real time: a client that polls every 60 s sees a batch end up to 60 real`,
  `  seconds late, where the whole batch took ${(360 / speed).toFixed(1)} s (a 5,000-line job took 61 s instead of 5).`,
  `  Either poll often (BatchSchedule.every("1 second"); BatchSchedule.poll({ max: "2 seconds" })), or run the`,
  `  client on the same accelerated clock:`,
  `  Effect.provideService(Clock.Clock, BatchApiSimulator.acceleratedClock(${speed}, ${origin})).`
]

/** What the command prints once it listens (the speed warning goes to stderr after it). @internal */
export const banner = (
  options: CliOptions,
  server: { readonly url: string; readonly baseUrl: string; readonly origin: number }
): ReadonlyArray<string> => [
  `Batch API simulator listening on ${server.url}`,
  `  base URL: ${server.baseUrl}   (e.g. OPENAI_BASE_URL=${server.baseUrl})`,
  `  Azure OpenAI endpoint: ${server.url}   (e.g. AZURE_OPENAI_ENDPOINT=${server.url}, any OPENAI_API_VERSION)`,
  `  clock: ${
    options.speed === 1
      ? "real time"
      : `${options.speed}x (one real second = ${options.speed} batch seconds), from ${
        new Date(server.origin).toISOString()
      }`
  }`,
  `  API key: ${options.key === undefined ? "any non-empty key" : "the one given with --key"}`,
  `  enqueued limits per model: ${options.tokenLimit ?? "unlimited"} tokens, ${
    options.requestLimit ?? "unlimited"
  } requests`,
  `  webhooks: ${options.webhookUrl === undefined ? "none" : `batch.* events to ${options.webhookUrl}`}`,
  "Ctrl-C to stop."
]
