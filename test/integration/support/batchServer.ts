/**
 * A small stateful Batch API over real HTTP for the duplicate-free create: `POST /v1/batches` stores a batch with
 * the metadata it was sent, `GET /v1/batches` lists the stored batches newest first (`limit`, `after`). What happens
 * to each create is scripted: answered, committed and then dropped, dropped before committing, committed and then
 * a 5xx, or committed and never answered.
 */
import { Effect } from "effect"
import type * as Http from "node:http"
import { dropConnection, type Recorded, sendJson, startServer } from "./server.js"

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

const isStringRecord = (value: unknown): value is Record<string, string> =>
  typeof value === "object" && value !== null && !Array.isArray(value) &&
  Object.values(value).every((v) => typeof v === "string")

const field = (body: unknown, name: string): unknown =>
  typeof body === "object" && body !== null ? Reflect.get(body, name) : undefined

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

    const commit = (request: Recorded): StoredBatch => {
      const metadata = field(request.body, "metadata")
      const inputFileId = field(request.body, "input_file_id")
      const batch = store.add({
        metadata: isStringRecord(metadata) ? metadata : null,
        ...(typeof inputFileId === "string" ? { input_file_id: inputFileId } : {})
      })
      options.afterCommit?.(store)
      return batch
    }

    const list = (request: Recorded, response: Http.ServerResponse) => {
      const newestFirst = [...stored].reverse()
      const limit = Math.min(Math.max(Number(request.query["limit"] ?? "20"), 1), 100)
      const after = request.query["after"]
      const start = after === undefined ? 0 : newestFirst.findIndex((batch) => batch.id === after) + 1
      const data = newestFirst.slice(start, start + limit)
      sendJson(response, 200, {
        object: "list",
        data,
        first_id: data[0]?.id ?? null,
        last_id: data[data.length - 1]?.id ?? null,
        has_more: start + limit < newestFirst.length
      })
    }

    const server = yield* startServer((request, response) => {
      if (request.method === "POST" && request.path === "/v1/batches") {
        const outcome = onCreate(creates++)
        switch (outcome) {
          case "answer":
            return sendJson(response, 200, commit(request))
          case "commit-then-drop":
            commit(request)
            return dropConnection(response)
          case "drop":
            return dropConnection(response)
          case "commit-then-500":
            commit(request)
            return sendJson(response, 500, { error: { message: "The server had an error", type: "server_error" } })
          case "commit-then-hang":
            commit(request)
            return
        }
      }
      if (request.method === "GET" && request.path === "/v1/batches") return list(request, response)
      return sendJson(response, 404, { error: { message: `no route ${request.method} ${request.path}` } })
    })
    return { ...server, store }
  })
