/**
 * A fake undici `Dispatcher` for in-process diagnostics (bench/inprocess.ts, bench/ab.ts): it answers every request
 * on the next turn of the event loop (`setImmediate`, as a socket read would) with precomputed bytes, through
 * either of undici's handler APIs. `GET {base}/batches?...` gets a page of the synthetic list of `listTotal`
 * batches (bench/servers.ts), anything else the retrieve fixture.
 */
import { Dispatcher } from "undici"
import { fixtureBody, listPage } from "./servers.js"

export const listTotal = 10_000
export const pageSize = 100

const rawHeaders = (length: number): Array<Buffer> => [
  Buffer.from("content-type"),
  Buffer.from("application/json"),
  Buffer.from("content-length"),
  Buffer.from(String(length)),
  Buffer.from("x-request-id"),
  Buffer.from("req_bench")
]
const pages = new Map<string, Buffer>()
const bodyFor = (path: string): Buffer => {
  if (!path.includes("/batches?")) return fixtureBody
  const cached = pages.get(path)
  if (cached !== undefined) return cached
  const after = new URLSearchParams(path.slice(path.indexOf("?") + 1)).get("after")
  const page = listPage(listTotal, pageSize, after)
  if (typeof page === "string") throw new Error(page)
  pages.set(path, page)
  return page
}
const headerCache = new Map<number, { readonly raw: Array<Buffer>; readonly record: Record<string, string> }>()
const headersOf = (length: number) => {
  let cached = headerCache.get(length)
  if (cached === undefined) {
    cached = {
      raw: rawHeaders(length),
      record: { "content-type": "application/json", "content-length": String(length), "x-request-id": "req_bench" }
    }
    headerCache.set(length, cached)
  }
  return cached
}

interface LegacyHandler {
  onConnect?: (abort: (reason?: Error) => void) => void
  onHeaders?: (status: number, raw: Array<Buffer>, resume: () => void, statusText: string) => boolean | void
  onData?: (chunk: Buffer) => boolean | void
  onComplete?: (trailers: Array<Buffer>) => void
}
interface ModernHandler {
  onRequestStart: (controller: unknown, context: unknown) => void
  onResponseStart: (controller: unknown, status: number, headers: Record<string, string>, text: string) => void
  onResponseData: (controller: unknown, chunk: Buffer) => void
  onResponseEnd: (controller: unknown, trailers: Record<string, string>) => void
}
const isModern = (handler: object): handler is ModernHandler => "onRequestStart" in handler

/** Answers on the next turn of the event loop, in one chunk; both of undici's handler APIs. */
export class FakeDispatcher extends Dispatcher {
  override dispatch(options: Dispatcher.DispatchOptions, handler: object): boolean {
    const body = bodyFor(options.path)
    const headers = headersOf(body.length)
    let aborted = false
    if (isModern(handler)) {
      const controller = {
        abort: () => {
          aborted = true
        },
        pause: () => {},
        resume: () => {},
        get aborted() {
          return aborted
        },
        get paused() {
          return false
        },
        reason: null
      }
      handler.onRequestStart(controller, {})
      setImmediate(() => {
        if (aborted) return
        handler.onResponseStart(controller, 200, headers.record, "OK")
        handler.onResponseData(controller, body)
        handler.onResponseEnd(controller, {})
      })
    } else {
      const legacy = handler as LegacyHandler
      legacy.onConnect?.(() => {
        aborted = true
      })
      setImmediate(() => {
        if (aborted) return
        legacy.onHeaders?.(200, headers.raw, () => {}, "OK")
        legacy.onData?.(body)
        legacy.onComplete?.([])
      })
    }
    return true
  }
  override close(): Promise<void> {
    return Promise.resolve()
  }
  override destroy(): Promise<void> {
    return Promise.resolve()
  }
}
