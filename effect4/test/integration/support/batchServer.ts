/**
 * A small stateful Batch API over real HTTP for the duplicate-free create, on test/support/loopback.ts's scripted
 * server: `POST /v1/batches` stores a batch with the metadata it was sent, `GET /v1/batches` lists the stored
 * batches newest first (`limit`, `after`). What happens to each create is scripted: answered, committed and then
 * dropped, dropped before committing, committed and then a 5xx, or committed and never answered. The root's
 * test/integration/support/batchServer.ts, on the edition's loopback server.
 */
import { Effect } from "effect"
import { type Recorded, type Reply, serve } from "../../support/loopback.js"

export type CreateOutcome =
  | "answer"
  /** Stores the batch, then destroys the socket without a response: the client cannot know it was created. */
  | "commit-then-drop"
  /** Destroys the socket before storing anything. */
  | "drop"
  /** Stores the batch, then answers 500. */
  | "commit-then-500"
  /** Stores the batch and never answers. */
  | "commit-then-hang"

export interface StoredBatch {
  readonly id: string
  readonly object: "batch"
  readonly endpoint: string
  readonly input_file_id: string
  readonly completion_window: string
  readonly status: "validating"
  readonly created_at: number
  readonly request_counts: { readonly total: number; readonly completed: number; readonly failed: number }
  readonly metadata: Readonly<Record<string, string>> | null
}

export interface BatchServerOptions {
  /** The outcome of the n-th create (0-based). Default: the first is "commit-then-drop", later ones "answer". */
  readonly onCreate?: (index: number) => CreateOutcome
  /** Runs before the server starts (e.g. batches made earlier). */
  readonly seed?: (store: BatchStore) => void
  /** Runs right after a create is stored (e.g. other clients' batches landing before our lookup). */
  readonly afterCommit?: (store: BatchStore) => void
}

export interface BatchStore {
  /** Stored batches, oldest first. */
  readonly batches: () => ReadonlyArray<StoredBatch>
  readonly add: (fields: {
    readonly metadata?: Readonly<Record<string, string>> | null
    readonly createdAt?: number
    readonly input_file_id?: string
  }) => StoredBatch
}

/** A request as the tests read it: the path and query split, the body parsed as JSON (undefined when not JSON). */
export interface Request {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

const parseJson = (text: string): unknown => {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const parse = (request: Recorded): Request => {
  const url = new URL(request.url, "http://127.0.0.1")
  return {
    method: request.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: request.headers,
    body: parseJson(request.body)
  }
}

const isStringRecord = (value: unknown): value is Record<string, string> =>
  typeof value === "object" && value !== null && !Array.isArray(value) &&
  Object.values(value).every((v) => typeof v === "string")

const field = (body: unknown, name: string): unknown =>
  typeof body === "object" && body !== null ? Reflect.get(body, name) : undefined

/** Starts the server for the current scope. */
export const startBatchServer = (options: BatchServerOptions = {}) =>
  Effect.gen(function*() {
    const stored: Array<StoredBatch> = []
    let sequence = 0
    const store: BatchStore = {
      batches: () => [...stored],
      add: (fields) => {
        sequence += 1
        const batch: StoredBatch = {
          id: `batch_${String(sequence).padStart(4, "0")}`,
          object: "batch",
          endpoint: "/v1/chat/completions",
          input_file_id: fields.input_file_id ?? "file-abc123",
          completion_window: "24h",
          status: "validating",
          created_at: fields.createdAt ?? Math.floor(Date.now() / 1000),
          request_counts: { total: 0, completed: 0, failed: 0 },
          metadata: fields.metadata ?? null
        }
        stored.push(batch)
        return batch
      }
    }
    options.seed?.(store)
    const onCreate = options.onCreate ?? ((index: number) => (index === 0 ? "commit-then-drop" : "answer"))
    let creates = 0

    const commit = (request: Request): StoredBatch => {
      const metadata = field(request.body, "metadata")
      const inputFileId = field(request.body, "input_file_id")
      const batch = store.add({
        metadata: isStringRecord(metadata) ? metadata : null,
        ...(typeof inputFileId === "string" ? { input_file_id: inputFileId } : {})
      })
      options.afterCommit?.(store)
      return batch
    }

    const list = (request: Request): Reply => {
      const newestFirst = [...stored].reverse()
      const limit = Math.min(Math.max(Number(request.query["limit"] ?? "20"), 1), 100)
      const after = request.query["after"]
      const start = after === undefined ? 0 : newestFirst.findIndex((batch) => batch.id === after) + 1
      const data = newestFirst.slice(start, start + limit)
      return {
        status: 200,
        body: {
          object: "list",
          data,
          first_id: data[0]?.id ?? null,
          last_id: data[data.length - 1]?.id ?? null,
          has_more: start + limit < newestFirst.length
        }
      }
    }

    const server = yield* serve((recorded) => {
      const request = parse(recorded)
      if (request.method === "POST" && request.path === "/v1/batches") {
        switch (onCreate(creates++)) {
          case "answer":
            return { status: 200, body: commit(request) }
          case "commit-then-drop":
            commit(request)
            return "drop"
          case "drop":
            return "drop"
          case "commit-then-500":
            commit(request)
            return { status: 500, body: { error: { message: "The server had an error", type: "server_error" } } }
          case "commit-then-hang":
            commit(request)
            return "hang"
        }
      }
      if (request.method === "GET" && request.path === "/v1/batches") return list(request)
      return { status: 404, body: { error: { message: `no route ${request.method} ${request.path}` } } }
    })
    return {
      origin: server.origin,
      /** Every request received so far, in order. */
      requests: (): ReadonlyArray<Request> => server.requests.map(parse),
      store
    }
  })
