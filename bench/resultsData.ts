/**
 * The results suite's data: realistic `BatchRequestOutput` files of a given size from a seeded generator, written
 * once into `os.tmpdir()` and reused by later runs (never committed), and the loopback server's route that streams
 * them from disk.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync
} from "node:fs"
import type * as http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"

// ---------------------------------------------------------------------------------------------------------------
// The data: seeded results files in os.tmpdir()
// ---------------------------------------------------------------------------------------------------------------

/** Bump when the generator changes, so that stale files in the temp directory are not reused. */
export const generatorVersion = 1

/** Where the generated files live (outside the repository). */
export const resultsDir = join(tmpdir(), `effect-openai-batch-bench-results-v${generatorVersion}`)

type FileKind = "output" | "error"

/** The file id the server answers for a generated file of `bytes` bytes (at least; whole lines). */
export const resultsFileId = (kind: FileKind, bytes: number): string => `file-results-${kind}-${bytes}`

const fileIdPattern = /^file-results-(output|error)-(\d+)$/
const contentRoute = /^\/v1\/files\/([^/?]+)\/content$/

/** What a generated file holds: the client's counts must match it. */
export interface FileSummary {
  readonly version: number
  readonly bytes: number
  readonly lines: number
  readonly succeeded: number
  readonly failed: number
  readonly errored: number
}

/** mulberry32: a small seeded PRNG, so a file of a given id is the same on every machine. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const vocabulary = (
  "the a batch result model answer request token response summary data file line stream value report because " +
  "therefore however first second finally example customer order invoice account review product service quality " +
  "delivery support issue resolved pending analysis suggests likely improve performance latency throughput memory " +
  "user question context document section paragraph translate classify extract entity sentiment positive negative"
).split(" ")

const errorMessages: ReadonlyArray<
  { readonly message: string; readonly param: string | null; readonly code: string | null }
> = [
  {
    message:
      "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. " +
      "Please reduce the length of the messages.",
    param: "messages",
    code: "context_length_exceeded"
  },
  { message: "Invalid value for 'temperature': expected a number between 0 and 2.", param: "temperature", code: null },
  { message: "you must provide a model parameter", param: "model", code: null }
]

/** One line of a results file, as the API writes it. `kind` picks succeeded (2xx), failed (400) or errored. */
const makeLine = (
  random: () => number,
  index: number,
  kind: "succeeded" | "failed" | "errored",
  hex: (length: number) => string
): string => {
  const id = `batch_req_${hex(24)}`
  const customId = `request-${index + 1}`
  if (kind === "errored") {
    return JSON.stringify({
      id,
      custom_id: customId,
      response: null,
      error: {
        code: "batch_expired",
        message: "This request could not be executed before the completion window expired."
      }
    })
  }
  if (kind === "failed") {
    const error = errorMessages[Math.floor(random() * errorMessages.length)] ?? errorMessages[0]!
    return JSON.stringify({
      id,
      custom_id: customId,
      response: {
        status_code: 400,
        request_id: hex(32),
        body: { error: { message: error.message, type: "invalid_request_error", param: error.param, code: error.code } }
      },
      error: null
    })
  }
  // A chat.completion of ~900 bytes: the envelope is ~560 bytes, the answer 250..450 characters.
  const target = 250 + Math.floor(random() * 200)
  let content = ""
  while (content.length < target) {
    const word = vocabulary[Math.floor(random() * vocabulary.length)] ?? "the"
    content += content.length === 0
      ? word[0]!.toUpperCase() + word.slice(1)
      : random() < 0.08
      ? `. ${word}`
      : ` ${word}`
  }
  content += "."
  const prompt = 20 + Math.floor(random() * 400)
  const completion = Math.ceil(content.length / 4)
  return JSON.stringify({
    id,
    custom_id: customId,
    response: {
      status_code: 200,
      request_id: hex(32),
      body: {
        id: `chatcmpl-${hex(29)}`,
        object: "chat.completion",
        created: 1_760_000_000 + Math.floor(index / 10),
        model: "gpt-4o-mini-2024-07-18",
        choices: [{
          index: 0,
          message: { role: "assistant", content, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: "stop"
        }],
        usage: {
          prompt_tokens: prompt,
          completion_tokens: completion,
          total_tokens: prompt + completion,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: 0,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0
          }
        },
        service_tier: "default",
        system_fingerprint: `fp_${hex(10)}`
      }
    },
    error: null
  })
}

const pathOf = (fileId: string) => join(resultsDir, `${fileId}.jsonl`)
const summaryPathOf = (fileId: string) => join(resultsDir, `${fileId}.json`)

/**
 * Writes the file `fileId` (output: ~96% succeeded, ~3% failed 400s, ~1% errored lines; error file: 3/4 failed
 * 400s, 1/4 errored) of at least `bytes` bytes, whole lines, each ending with "\n"; reuses it if a complete one is
 * there. Returns its summary.
 */
export const generate = (kind: FileKind, bytes: number): FileSummary => {
  const fileId = resultsFileId(kind, bytes)
  const path = pathOf(fileId)
  const summaryPath = summaryPathOf(fileId)
  if (existsSync(path) && existsSync(summaryPath)) {
    const summary: FileSummary = JSON.parse(readFileSync(summaryPath, "utf8"))
    if (summary.version === generatorVersion && statSync(path).size === summary.bytes) return summary
  }
  mkdirSync(resultsDir, { recursive: true })
  const random = prng(bytes * 2 + (kind === "output" ? 0 : 1))
  const hex = (length: number) => {
    let out = ""
    while (out.length < length) out += Math.floor(random() * 0x100000000).toString(16).padStart(8, "0")
    return out.slice(0, length)
  }
  const temp = `${path}.${process.pid}.tmp`
  const fd = openSync(temp, "w")
  let written = 0
  let lines = 0
  let succeeded = 0
  let failed = 0
  let errored = 0
  let buffer: Array<string> = []
  let buffered = 0
  const flush = () => {
    const chunk = Buffer.from(buffer.join(""))
    writeSync(fd, chunk)
    buffer = []
    buffered = 0
  }
  try {
    while (written < bytes) {
      const roll = random()
      const lineKind = kind === "output"
        ? (roll < 0.03 ? "failed" : roll < 0.04 ? "errored" : "succeeded")
        : (roll < 0.75 ? "failed" : "errored")
      const text = `${makeLine(random, lines, lineKind, hex)}\n`
      // The lines are ASCII: characters are bytes.
      written += text.length
      buffer.push(text)
      buffered += text.length
      lines++
      if (lineKind === "succeeded") succeeded++
      else if (lineKind === "failed") failed++
      else errored++
      if (buffered >= 1 << 20) flush()
    }
    flush()
  } finally {
    closeSync(fd)
  }
  if (statSync(temp).size !== written) {
    throw new Error(`${fileId}: wrote ${statSync(temp).size} bytes, expected ${written}`)
  }
  renameSync(temp, path)
  const summary: FileSummary = { version: generatorVersion, bytes: written, lines, succeeded, failed, errored }
  writeFileSync(summaryPath, JSON.stringify(summary))
  return summary
}

/**
 * The server's route `GET /v1/files/file-results-{output|error}-{bytes}/content`: streams a generated file from
 * disk. Returns false for any other URL.
 */
export const serveResultsFile = (url: string, res: http.ServerResponse): boolean => {
  const route = contentRoute.exec(url)
  if (route === null || route[1] === undefined || !fileIdPattern.test(route[1])) return false
  const path = pathOf(route[1])
  if (!existsSync(path)) {
    const body = Buffer.from(JSON.stringify({
      error: { message: `No such File object: ${route[1]}`, type: "invalid_request_error", param: "id", code: null }
    }))
    res.writeHead(404, { "content-type": "application/json", "content-length": body.length })
    res.end(body)
    return true
  }
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": statSync(path).size,
    "x-request-id": "req_bench"
  })
  const file = createReadStream(path, { highWaterMark: 256 * 1024 })
  file.on("error", (error) => res.destroy(error))
  file.pipe(res)
  return true
}
