/**
 * A `node:http` server on 127.0.0.1 for the transport tests, lower level than ./loopback.ts: the handler gets the
 * request as it starts (a test can answer before, or without, reading the body), and the server counts the
 * connections it accepted and saw closed, so a test can tell whether a client released or reused a socket.
 * Scoped: the server and every open socket are closed when the test's scope ends.
 *
 * Waits here wait for progress, not for a wall-clock deadline: `until` polls until its condition holds, the test's
 * own timeout being the only cap (the machine may be loaded).
 */
import { Effect } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"

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
    Effect.callback<{ readonly server: Http.Server; readonly info: Loopback }>((resume) => {
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
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

/** A port nothing listens on (it was free a moment ago): connecting to it is refused. */
export const freePort = Effect.callback<number, Error>((resume) => {
  const probe = Net.createServer()
  probe.once("error", (error) => resume(Effect.fail(error)))
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(port > 0 ? Effect.succeed(port) : Effect.fail(new Error("no port"))))
  })
})

/** Waits (real time, in steps of 10 ms) until `condition` holds; the test's own timeout is the only cap. */
export const until = (condition: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => condition() ? Effect.void : Effect.andThen(Effect.sleep("10 millis"), until(condition)))
