/**
 * The benchmark's loopback server: plain `node:http` on 127.0.0.1, port 0, run in its own child process so that
 * neither its CPU nor its memory is counted against a measured client.
 *
 * Routes (every client under test is pointed at one of these base URLs):
 * - `GET /v1/batches/{id}`: the spec's full example Batch (fixtures/Batch.object.json), precomputed bytes.
 * - `GET /n{N}/v1/batches?limit=&after=`: a synthetic account of N batches, newest first, cursor = the last id of
 *   the previous page. Pages are generated on demand from precomputed fragments (nothing per batch is held), so
 *   every client that walks the same pages costs the server the same work.
 * - `GET /v1/files/file-results-{output|error}-{bytes}/content`: a generated batch results file, streamed from
 *   os.tmpdir() (see bench/results.ts).
 */
import { readFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { serveResultsFile } from "./resultsData.js"

/** The id the retrieve server answers with (the fixture's own id). */
export const retrieveBatchId = "batch_abc123"

const fixtureUrl = new URL("../fixtures/Batch.object.json", import.meta.url)

/** The fixture, re-serialized compactly as an API would send it. */
export const fixtureBody: Buffer = Buffer.from(JSON.stringify(JSON.parse(readFileSync(fixtureUrl, "utf8"))))

const idWidth = 9
/** Batch ids of the synthetic list: `batch_000000000` is the newest. */
export const listBatchId = (index: number): string => `batch_${String(index).padStart(idWidth, "0")}`
const idPattern = new RegExp(`^batch_(\\d{${idWidth}})$`)
const baseCreatedAt = 1_760_000_000

/**
 * The fixture split around its `id` and `created_at` values, so one batch of the list is three string pieces and
 * two numbers: every batch is a full, schema-valid Batch of the same size as the retrieve fixture.
 */
const listTemplate = (() => {
  const fixture: unknown = JSON.parse(readFileSync(fixtureUrl, "utf8"))
  if (typeof fixture !== "object" || fixture === null) throw new Error("fixture is not an object")
  const marked = JSON.stringify({ ...fixture, id: "@@ID@@", created_at: 424242424242 })
  const [head, rest] = marked.split("\"@@ID@@\"")
  if (head === undefined || rest === undefined) throw new Error("template split failed")
  const [middle, tail] = rest.split("424242424242")
  if (middle === undefined || tail === undefined) throw new Error("template split failed")
  return { head, middle, tail }
})()

const listBatchJson = (index: number): string =>
  `${listTemplate.head}"${listBatchId(index)}"${listTemplate.middle}${baseCreatedAt - index}${listTemplate.tail}`

const jsonHeaders = (length: number) => ({
  "content-type": "application/json",
  "content-length": length,
  "x-request-id": "req_bench"
})

const sendJson = (res: http.ServerResponse, status: number, body: Buffer): void => {
  res.writeHead(status, jsonHeaders(body.length))
  res.end(body)
}

const notFound = Buffer.from(JSON.stringify({
  error: { message: "not found", type: "invalid_request_error", param: null, code: "not_found" }
}))
const badRequest = (message: string) =>
  Buffer.from(JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: null } }))

/** One page of the synthetic list of `total` batches, as the API shapes it. */
export const listPage = (total: number, limit: number, after: string | null): Buffer | string => {
  let start = 0
  if (after !== null) {
    const match = idPattern.exec(after)
    if (match === null || match[1] === undefined) return `after: unknown batch id ${after}`
    start = Number(match[1]) + 1
  }
  const end = Math.min(total, start + limit)
  const parts: Array<string> = []
  for (let i = start; i < end; i++) parts.push(listBatchJson(i))
  const body = end > start
    ? `{"object":"list","data":[${parts.join(",")}],"first_id":"${listBatchId(start)}","last_id":"${
      listBatchId(end - 1)
    }","has_more":${end < total}}`
    : `{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}`
  return Buffer.from(body)
}

const listRoute = /^\/n(\d+)\/v1\/batches$/

const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const url = req.url ?? "/"
  if (req.method !== "GET") return sendJson(res, 405, badRequest("method not allowed"))
  if (url.startsWith("/v1/batches/")) return sendJson(res, 200, fixtureBody)
  if (url.startsWith("/v1/files/") && serveResultsFile(url, res)) return
  const query = url.indexOf("?")
  const path = query === -1 ? url : url.slice(0, query)
  const route = listRoute.exec(path)
  if (route === null || route[1] === undefined) return sendJson(res, 404, notFound)
  const params = new URLSearchParams(query === -1 ? "" : url.slice(query + 1))
  const limit = Number(params.get("limit") ?? "20")
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return sendJson(res, 400, badRequest("limit must be an integer between 1 and 100"))
  }
  const page = listPage(Number(route[1]), limit, params.get("after"))
  if (typeof page === "string") return sendJson(res, 400, badRequest(page))
  sendJson(res, 200, page)
}

/** Starts the server on 127.0.0.1 and an OS-chosen port. */
export const startServer = async (): Promise<{ readonly server: http.Server; readonly port: number }> => {
  const server = http.createServer(handle)
  // Clients sit idle while other contenders run; a connection must not be dropped under them meanwhile (the
  // official SDK runs with maxRetries: 0, so a reset would fail the run).
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 121_000
  server.maxRequestsPerSocket = 0
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("the server has no TCP address")
  return { server, port: (address satisfies AddressInfo).port }
}

/** Message from the server child to the orchestrator. */
export type ServerMessage =
  | { readonly type: "listening"; readonly port: number }
  | { readonly type: "cpu"; readonly userUs: number; readonly systemUs: number }

/** The server child's main: reports its port, answers CPU queries (to show when the server is the bottleneck). */
export const serverMain = async (): Promise<void> => {
  const { port, server } = await startServer()
  const send = (message: ServerMessage) => process.send?.(message)
  process.on("message", (message: unknown) => {
    if (typeof message !== "object" || message === null || !("type" in message)) return
    if (message.type === "cpu") {
      const usage = process.cpuUsage()
      send({ type: "cpu", userUs: usage.user, systemUs: usage.system })
    } else if (message.type === "exit") {
      server.closeAllConnections()
      server.close(() => process.exit(0))
    }
  })
  process.on("disconnect", () => process.exit(0))
  send({ type: "listening", port })
}
