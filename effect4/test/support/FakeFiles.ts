/**
 * A synchronous fake `HttpClient` for the Files tests: answers from a script, records every request with its body
 * as text (multipart and streamed bodies included). Stream bodies are drained before the reply (a Blob's through its
 * `ReadableStream`: use those only in tests without `TestClock`), and a reply's body, whole or in `chunks`, is
 * given without suspending (`text` and `stream` already read), so that `TestClock.adjust` never runs before a sleep
 * is registered (see FakeHttp.ts).
 */
import { Context, Effect, Layer, Redacted, Ref, Stream } from "effect"
import { HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as OpenAiUploads from "../../src/OpenAiUploads.js"

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  /** The body as text ("" when empty). */
  readonly text: string
  /** The body's bytes. */
  readonly raw: Uint8Array
  readonly contentType: string | undefined
  readonly bodyKind: "Empty" | "Uint8Array" | "Raw" | "FormData" | "Stream"
  /** The length the body declared, if any. */
  readonly contentLength: number | undefined
  /** `Clock` time, ms. */
  readonly at: number
}

export type Reply =
  | {
    readonly status: number
    /** JSON-encoded unless a string; or `chunks` for a raw body delivered in pieces. */
    readonly body?: unknown
    readonly chunks?: ReadonlyArray<Uint8Array | string>
    /** A body that breaks off after `chunks` with this transport failure. */
    readonly breakOff?: boolean
    readonly headers?: Record<string, string>
  }
  | { readonly drop: true }
  | { readonly hang: true }

export type Responder = (request: Recorded, index: number) => Reply

export class Requests
  extends Context.Service<Requests, Ref.Ref<ReadonlyArray<Recorded>>>()("test/FakeFiles/Requests")
{}

export const testKey = "sk-test-SECRET-0123456789"
export const baseUrl = "https://api.test/v1"

const decoder = new TextDecoder()
const encoder = new TextEncoder()

const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

type Request = Parameters<Parameters<typeof HttpClient.make>[0]>[0]

interface Body {
  readonly raw: Uint8Array
  readonly contentType: string | undefined
}

const readBody = (request: Request): Effect.Effect<Body, unknown> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed({ raw: new Uint8Array(0), contentType: undefined })
    case "Uint8Array":
      return Effect.succeed({ raw: body.body, contentType: body.contentType })
    case "Raw":
      return Effect.succeed({ raw: encoder.encode(String(body.body)), contentType: body.contentType })
    case "FormData":
      return Effect.promise(async () => {
        const response = new Response(body.formData)
        return {
          raw: new Uint8Array(await response.arrayBuffer()),
          contentType: response.headers.get("content-type") ?? undefined
        }
      })
    case "Stream":
      return Effect.map(Stream.runCollect(body.stream), (chunks) => ({
        raw: concat(chunks),
        contentType: body.contentType
      }))
  }
}

const transportError = (request: Request, description: string, cause?: unknown) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError({ request, description, cause: cause ?? new Error(description) })
  })

export const fakeClient = (responder: Responder) =>
  Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<Recorded>>([])
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        // A failing body stream fails the request as a transport error, as the real clients do.
        const body = yield* Effect.mapError(readBody(request), (cause) => transportError(request, "body", cause))
        const recorded: Recorded = {
          method: request.method,
          url,
          headers: { ...request.headers },
          text: decoder.decode(body.raw),
          raw: body.raw,
          contentType: body.contentType,
          bodyKind: request.body._tag,
          contentLength:
            request.body._tag === "Stream" || request.body._tag === "Raw" || request.body._tag === "Uint8Array"
              ? request.body.contentLength
              : undefined,
          at: now
        }
        const index = (yield* Ref.getAndUpdate(log, (all) => [...all, recorded])).length
        const reply = responder(recorded, index)
        if ("hang" in reply) return yield* Effect.never
        if ("drop" in reply) return yield* Effect.fail(transportError(request, "socket hang up"))
        const headers = { "content-type": "application/json", ...reply.headers }
        const chunks = reply.chunks !== undefined
          ? reply.chunks.map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk)
          : reply.body === undefined
          ? []
          : [encoder.encode(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body))]
        const whole = concat(chunks)
        const response = HttpClientResponse.fromWeb(request, new Response(whole, { status: reply.status, headers }))
        const stream: Stream.Stream<Uint8Array, HttpClientError.HttpClientError> = reply.breakOff === true
          ? Stream.concat(Stream.fromIterable(chunks), Stream.fail(transportError(request, "socket hang up")))
          : Stream.fromIterable(chunks)
        // The body already read: `text` and `stream` answer without suspending.
        const synchronous: HttpClientResponse.HttpClientResponse = Object.create(response, {
          text: { value: Effect.succeed(decoder.decode(whole)) },
          stream: { value: stream }
        })
        return synchronous
      })
    )
    return { client, log }
  })

/** OpenAiFiles, OpenAiUploads and BatchApi over the fake, plus the request log. */
export const layer = (
  responder: Responder,
  options: Partial<OpenAiConfig.Options> & { readonly retry?: BatchSchedule.RetrySchedule } = {}
) =>
  Layer.unwrap(Effect.gen(function*() {
    const { client, log } = yield* fakeClient(responder)
    const { retry, ...config } = options
    return Layer.mergeAll(OpenAiFiles.layer, OpenAiUploads.layer, BatchApi.layer).pipe(
      Layer.provideMerge(retry === undefined ? Layer.empty : BatchSchedule.layerRetry(retry)),
      Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(testKey), baseUrl, ...config })),
      Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
      Layer.merge(Layer.succeed(Requests, log))
    )
  }))

export const requests = Effect.flatMap(Effect.service(Requests), Ref.get)

export interface Part {
  readonly name: string
  readonly filename: string | undefined
  readonly contentType: string | undefined
  readonly value: string
}

/** Parses a multipart/form-data body (enough for these tests: text parts, no nested multiparts). */
export const parseMultipart = (text: string, contentType: string | undefined): ReadonlyArray<Part> => {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType ?? "")?.[2]
  if (boundary === undefined) throw new Error(`no boundary in ${contentType}`)
  const sections = text.split(`--${boundary}`)
  if (sections.at(-1)?.trim() !== "--") throw new Error("no closing boundary")
  return sections.slice(1, -1).map((section) => {
    const body = section.replace(/^\r\n/, "").replace(/\r\n$/, "")
    const split = body.indexOf("\r\n\r\n")
    const head = body.slice(0, split)
    const disposition = /content-disposition: form-data; name="([^"]*)"(?:; filename="([^"]*)")?/i.exec(head)
    if (disposition === null) throw new Error(`no content-disposition in ${head}`)
    return {
      name: disposition[1] ?? "",
      filename: disposition[2],
      contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1],
      value: body.slice(split + 4)
    }
  })
}

export const fileJson = (overrides: Record<string, unknown> = {}) => ({
  id: "file-abc123",
  object: "file",
  bytes: 120000,
  created_at: 1677610602,
  expires_at: 1677614202,
  filename: "batch_input.jsonl",
  purpose: "batch",
  ...overrides
})

/** An uploaded filename without the library's upload marker (`name.eob-<16 hex>.ext`); throws when it has none. */
export const unmarked = (filename: string | undefined): string => {
  const match = /^(.*)\.eob-[0-9a-f]{16}(\.[^.]*)?$/.exec(filename ?? "")
  if (match === null) throw new Error(`no upload marker in ${filename}`)
  return `${match[1]}${match[2] ?? ""}`
}

/** The same batch JSON the other unit tests use. */
export { batchJson } from "./loopback.js"

/** An output-file line for a 200 chat completion. */
export const okLine = (customId: string, content = "ok") =>
  JSON.stringify({
    id: `batch_req_${customId}`,
    custom_id: customId,
    response: {
      status_code: 200,
      request_id: `req_${customId}`,
      body: {
        id: `chatcmpl-${customId}`,
        object: "chat.completion",
        choices: [{ message: { role: "assistant", content } }]
      }
    },
    error: null
  })

/** An error-file line as the API writes it (openai/openai-openapi#302): the error is in the response body. */
export const failedLine = (customId: string, status = 400) =>
  JSON.stringify({
    id: `batch_req_${customId}`,
    custom_id: customId,
    response: {
      status_code: status,
      request_id: `req_${customId}`,
      body: {
        error: { message: "Invalid model", type: "invalid_request_error", param: "model", code: "model_not_found" }
      }
    },
    error: null
  })

/** An error-file line for a request the batch never ran. */
export const expiredLine = (customId: string) =>
  JSON.stringify({
    id: `batch_req_${customId}`,
    custom_id: customId,
    response: null,
    error: {
      code: "batch_expired",
      message: "This request could not be executed before the completion window expired."
    }
  })
