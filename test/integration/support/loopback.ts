/**
 * A `node:http` server on 127.0.0.1 for the transport tests, lower level than ./server.ts: the handler gets the
 * request as it starts (a test can answer before, or without, reading the body), and the server counts the
 * connections it accepted and saw closed, so a test can tell whether a client released or reused a socket.
 * Scoped: the server and every open socket are closed when the test's scope ends.
 */
import { Effect } from "effect"
import * as Http from "node:http"

export interface Loopback {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Connections closed so far (by either side). */
  readonly closed: () => number
}

export type LoopbackHandler = (request: Http.IncomingMessage, response: Http.ServerResponse) => void

/** Reads a request's whole body. */
export const readBody = (request: Http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks)))
    request.on("error", reject)
  })

/** Starts a server for the current scope. */
export const loopback = (handler: LoopbackHandler) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly info: Loopback }>((resume) => {
      let accepted = 0
      let closed = 0
      const server = Http.createServer(handler)
      server.on("connection", (socket) => {
        accepted++
        socket.on("close", () => closed++)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          server,
          info: { origin: `http://127.0.0.1:${port}`, accepted: () => accepted, closed: () => closed }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

/** Polls a condition until it holds, for at most a time stretched by the machine's load (see test/support/patience.ts). */
export { eventually } from "../../support/patience.js"
