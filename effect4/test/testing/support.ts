/** Helpers for the simulator's tests: raw requests straight into `handle`, and multipart bodies. */
import { Effect } from "effect"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const start = Date.parse("2026-03-01T12:00:00Z")

export interface RawAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
  // Tests read answers' fields loosely (`answer.json.error.param`), whatever the shape: only here is `any` the point.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any
}

export const send = (
  simulator: BatchApiSimulator.Simulator,
  method: string,
  path: string,
  options: {
    readonly query?: Record<string, string>
    readonly body?: unknown
    readonly headers?: Record<string, string>
    readonly raw?: Uint8Array
  } = {}
) =>
  Effect.map(
    simulator.handle({
      method,
      path,
      query: options.query ?? {},
      headers: { authorization: `Bearer ${BatchApiSimulator.testApiKey}`, ...options.headers },
      body: options.raw ??
        (options.body === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(options.body)))
    }),
    (response): RawAnswer => {
      if (response._tag !== "Response") throw new Error(`expected a response, got ${response._tag}`)
      const text = decoder.decode(response.body)
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, headers: response.headers, text, json }
    }
  )

export const multipart = (fields: Record<string, string | { filename: string; content: string }>) => {
  const boundary = "----simtest" + Math.random().toString(16).slice(2)
  let body = ""
  for (const [name, value] of Object.entries(fields)) {
    body += `--${boundary}\r\n`
    if (typeof value === "string") {
      body += `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
    } else {
      body += `Content-Disposition: form-data; name="${name}"; filename="${value.filename}"\r\n`
      body += `Content-Type: application/octet-stream\r\n\r\n${value.content}\r\n`
    }
  }
  body += `--${boundary}--\r\n`
  return { raw: encoder.encode(body), headers: { "content-type": `multipart/form-data; boundary=${boundary}` } }
}

export const jsonl = (lines: ReadonlyArray<unknown>) => lines.map((line) => JSON.stringify(line)).join("\n") + "\n"

export const chatLine = (id: string, model: string | null = "gpt-4o-mini") => ({
  custom_id: id,
  method: "POST",
  url: "/v1/chat/completions",
  body: model === null
    ? { messages: [{ role: "user", content: id }] }
    : { model, messages: [{ role: "user", content: id }] }
})
