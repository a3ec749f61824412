/**
 * A scripted `node:http` server on 127.0.0.1 for the HTTP tests: each request is recorded (method, URL, headers,
 * body) and answered by the test's function: a reply, `"drop"` (the socket is destroyed before any response),
 * `"partial"` (a 200 head and the start of a body, then the socket is destroyed) or `"hang"` (never answered). The
 * server counts the connections it saw closed. Scoped: the server and every open socket are closed when the test's
 * scope ends.
 */
import { Effect } from "effect"
import * as Http from "node:http"

export interface Recorded {
  readonly method: string
  /** The path and query. */
  readonly url: string
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** A string is sent as it is; anything else as JSON. */
  readonly body?: unknown
}

export type Script = (request: Recorded, index: number) => Reply | "drop" | "partial" | "hang"

export interface Server {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** Every request received so far, in order. */
  readonly requests: ReadonlyArray<Recorded>
  /** Connections closed so far (by either side). */
  readonly closed: () => number
}

const flatHeaders = (request: Http.IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

/** Starts a server for the current scope. */
export const serve = (script: Script) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Http.Server; readonly info: Server }>((resume) => {
      const requests: Array<Recorded> = []
      const server = Http.createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          const recorded: Recorded = {
            method: request.method ?? "",
            url: request.url ?? "",
            headers: flatHeaders(request),
            body: Buffer.concat(chunks).toString("utf8")
          }
          requests.push(recorded)
          const reply = script(recorded, requests.length - 1)
          if (reply === "hang") return
          if (reply === "drop") return void request.socket.destroy()
          if (reply === "partial") {
            response.writeHead(200, { "content-type": "application/json", "content-length": "1000" })
            response.write("{\"id\": \"batch_")
            return void setTimeout(() => request.socket.destroy(), 20)
          }
          const body = reply.body === undefined
            ? ""
            : typeof reply.body === "string"
            ? reply.body
            : JSON.stringify(reply.body)
          response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers })
          response.end(body)
        })
      })
      let closed = 0
      server.on("connection", (socket) => socket.on("close", () => closed++))
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ server, info: { origin: `http://127.0.0.1:${port}`, requests, closed: () => closed } }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

/** A batch as the API sends it (the spec's example, with nulls), with `overrides`. */
export const batchJson = (overrides: Record<string, unknown> = {}) => ({
  id: "batch_abc123",
  object: "batch",
  endpoint: "/v1/chat/completions",
  errors: null,
  input_file_id: "file-abc123",
  completion_window: "24h",
  status: "validating",
  output_file_id: null,
  error_file_id: null,
  created_at: 1711471533,
  in_progress_at: null,
  expires_at: 1711557933,
  finalizing_at: null,
  completed_at: null,
  failed_at: null,
  expired_at: null,
  cancelling_at: null,
  cancelled_at: null,
  request_counts: { total: 0, completed: 0, failed: 0 },
  metadata: null,
  ...overrides
})

/** OpenAI's error envelope. */
export const envelope = (message: string, extra: Record<string, unknown> = {}) => ({
  error: { message, type: "invalid_request_error", param: null, code: null, ...extra }
})
