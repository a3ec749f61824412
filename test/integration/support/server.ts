/**
 * A real `node:http` server on 127.0.0.1 (port 0) for integration tests: it records every request (method, path,
 * query, headers, parsed body) and hands it to a handler that answers, misbehaves or stays silent. Scoped: the
 * server and every open socket are closed when the test's scope ends.
 */
import { Effect } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"

export interface Recorded {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Http.IncomingHttpHeaders>
  /** The raw body text ("" when none). */
  readonly text: string
  /** The body parsed as JSON, or undefined when empty or not JSON. */
  readonly body: unknown
}

export type Handler = (request: Recorded, response: Http.ServerResponse, index: number) => void

export interface TestServer {
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  readonly requests: () => ReadonlyArray<Recorded>
}

const parseJson = (text: string): unknown => {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Starts a server for the current scope. */
export const startServer = (handler: Handler) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly info: TestServer }>((resume) => {
      const log: Array<Recorded> = []
      const server = Http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const url = new URL(req.url ?? "/", "http://127.0.0.1")
          const text = Buffer.concat(chunks).toString("utf8")
          const recorded: Recorded = {
            method: req.method ?? "",
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            headers: req.headers,
            text,
            body: parseJson(text)
          }
          log.push(recorded)
          handler(recorded, res, log.length - 1)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          server,
          info: { port, origin: `http://127.0.0.1:${port}`, requests: () => [...log] }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

/** A port that was free a moment ago: bind port 0, read the port, close. Nothing listens on it afterwards. */
export const freePort = Effect.async<number, Error>((resume) => {
  const probe = Net.createServer()
  probe.once("error", (error) => resume(Effect.fail(error)))
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(port > 0 ? Effect.succeed(port) : Effect.fail(new Error("no port"))))
  })
})

/** Answers with a JSON body. */
export const sendJson = (
  response: Http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): void => {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers
  })
  response.end(text)
}

/** Answers with a body of any content type (or none). */
export const sendText = (
  response: Http.ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {}
): void => {
  response.writeHead(status, { "content-length": Buffer.byteLength(text), ...headers })
  response.end(text)
}

/** Drops the connection without a response (a proxy or server that died mid-request). */
export const dropConnection = (response: Http.ServerResponse): void => {
  response.socket?.destroy()
}
