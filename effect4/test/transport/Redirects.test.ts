/**
 * `FetchTransport`'s `HttpClient` does not follow redirects: an Azure upload or download answered with a 307 to
 * another origin must not send the file or the `api-key` there; the call fails with the 3xx as its `ApiError`. A
 * `RequestInit` of the user's keeps its options, and its own `redirect` wins. (A plain `FetchHttpClient.layer` is the
 * platform's client as it is: the root's docs/transports.md says to give it `redirect: "manual"`.) Real loopback
 * servers, a few milliseconds each.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import type * as HttpClient from "effect/http/HttpClient"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as FetchTransport from "../../src/transport/FetchTransport.js"
import { loopback, readBody } from "../support/sockets.js"

const apiKey = "sk-redirect-test"

const once = BatchSchedule.withRetry(BatchSchedule.noRetry)

interface Received {
  readonly path: string | undefined
  readonly key: string | undefined
  readonly user: string | undefined
  readonly body: string
}

/** The origin a redirect names: it records whatever reaches it, and answers a file's bytes. */
const servers = Effect.gen(function*() {
  const received: Array<Received> = []
  const other = yield* loopback((request, response) => {
    void readBody(request).then((body) => {
      const key = request.headers["api-key"]
      const user = request.headers["x-user"]
      received.push({
        path: request.url,
        key: typeof key === "string" ? key : undefined,
        user: typeof user === "string" ? user : undefined,
        body: body.toString("utf8")
      })
      response.writeHead(200, { "content-type": "application/octet-stream" })
      response.end("moved\n")
    })
  })
  const seen: Array<string | undefined> = []
  // Azure's endpoint: every request redirected to the other origin (its host spelled otherwise: another origin).
  const server = yield* loopback((request, response) => {
    const user = request.headers["x-user"]
    seen.push(typeof user === "string" ? user : undefined)
    response.writeHead(307, { location: `${other.origin.replace("127.0.0.1", "localhost")}${request.url}` })
    response.end()
  })
  const azure = (client: Layer.Layer<HttpClient.HttpClient>) =>
    OpenAiFiles.layer.pipe(
      Layer.provide(OpenAiConfig.layerAzure({
        endpoint: server.origin,
        apiVersion: "2024-10-21",
        apiKey: Redacted.make(apiKey)
      })),
      Layer.provide(client),
      Layer.orDie
    )
  return { received, seen, azure }
})

const upload = OpenAiFiles.uploadFile({ file: "line1\n", filename: "in.jsonl", purpose: "batch" }).pipe(
  Effect.asVoid
)
const download = Effect.asVoid(Stream.runCollect(OpenAiFiles.downloadFile("file-1")))

describe("FetchTransport's HttpClient follows no redirect", () => {
  for (const [operation, call] of [["an upload", upload], ["a download", download]] as const) {
    it.live(`${operation} redirected to another origin sends it nothing: ApiError 307`, () =>
      Effect.gen(function*() {
        const { azure, received } = yield* servers
        const error = yield* Effect.flip(once(call).pipe(Effect.provide(azure(FetchTransport.layer))))
        assert.strictEqual(error._tag, "ApiError")
        if (error._tag === "ApiError") assert.strictEqual(error.status, 307)
        assert.deepStrictEqual(received, [])
      }))
  }

  it.live("a RequestInit given to FetchTransport.layer keeps its options, and its own redirect wins", () =>
    Effect.gen(function*() {
      const { azure, received, seen } = yield* servers
      const given = (init: RequestInit) =>
        FetchTransport.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, init)))
      const stopped = yield* Effect.flip(
        once(download).pipe(Effect.provide(azure(given({ headers: { "x-user": "kept" } }))))
      )
      assert.strictEqual(stopped._tag, "ApiError")
      assert.deepStrictEqual(seen, ["kept"])
      const bytes = yield* once(Stream.runCollect(OpenAiFiles.downloadFile("file-1"))).pipe(
        Effect.provide(azure(given({ headers: { "x-user": "follows" }, redirect: "follow" })))
      )
      assert.strictEqual(Array.from(bytes).reduce((n, chunk) => n + chunk.length, 0), 6)
      assert.deepStrictEqual(received.map(({ path, user }) => ({ path, user })), [
        { path: "/openai/files/file-1/content?api-version=2024-10-21", user: "follows" }
      ])
    }))
})
