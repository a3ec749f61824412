/**
 * The Effect 4 edition's contenders in the root's benchmark (bench/retrieve.ts, bench/stream.ts at the repository
 * root): the harness compiles this file with effect4/src into its client tree, where `effect` and `undici` resolve
 * from effect4/node_modules (effect 4.1.5, undici 8), and runs it on the Node the Effect 4 edition runs on
 * (effect4/node22 when the machine's is older). Nothing here measures: the root's client processes time the calls.
 *
 * - `effect4-lean`: `BatchApi.retrieveBatch` / `BatchApi.streamBatches` (Schema-validated) on this edition's
 *   `UndiciTransport.layer`, the v3 edition's `effect-lean` on Effect 4;
 * - `undici8-raw`: the floor on the same Node, undici 8's `request` + `JSON.parse` (no validation).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { request } from "undici"
import * as BatchApi from "../src/BatchApi.js"
import * as OpenAiConfig from "../src/OpenAiConfig.js"
import * as UndiciTransport from "../src/transport/UndiciTransport.js"

/** A retrieve client, as bench/retrieve.ts drives it: one call, and a block of calls at a concurrency. */
export interface RetrieveClient {
  readonly one: () => Promise<{ readonly id: string }>
  readonly run: (calls: number, concurrency: number) => Promise<void>
}

/** Walks every batch under `baseUrl` (bench/stream.ts); returns how many and the last id seen. */
export type Walk = (baseUrl: string) => Promise<{ readonly count: number; readonly lastId: string }>

export type Kind = "effect4-lean" | "undici8-raw"

const apiKey = "sk-bench-not-a-real-key"

const layerFor = (baseUrl: string) =>
  BatchApi.layer.pipe(
    Layer.provide(OpenAiConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl })),
    Layer.provide(UndiciTransport.layer)
  )

/** `concurrency` async workers sharing `calls` calls: what a Promise-based user writes. */
const promiseWorkers = async (calls: number, concurrency: number, one: () => Promise<unknown>): Promise<void> => {
  let remaining = calls
  const worker = async () => {
    while (remaining > 0) {
      remaining--
      await one()
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker))
}

const headers = { authorization: `Bearer ${apiKey}`, accept: "application/json" }

const rawText = async (url: string): Promise<string> => {
  const response = await request(url, { headers })
  const text = await response.body.text()
  if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}: ${text}`)
  return text
}

export const makeRetrieveClient = async (kind: Kind, baseUrl: string, batchId: string): Promise<RetrieveClient> => {
  if (kind === "undici8-raw") {
    const url = `${baseUrl}/batches/${batchId}`
    const one = async (): Promise<{ readonly id: string }> => {
      const parsed: { readonly id: string } = JSON.parse(await rawText(url))
      return parsed
    }
    return { one, run: (calls, concurrency) => promiseWorkers(calls, concurrency, one) }
  }
  const runtime = ManagedRuntime.make(layerFor(baseUrl))
  // The service is built once; blocks below only run calls on it.
  const api = await runtime.runPromise(Effect.service(BatchApi.BatchApi))
  return {
    one: () => runtime.runPromise(api.retrieveBatch(batchId)),
    run: (calls, concurrency) =>
      runtime.runPromise(
        Effect.forEach(
          Array.from({ length: calls }),
          () => api.retrieveBatch(batchId),
          concurrency > 1 ? { concurrency, discard: true } : { discard: true }
        )
      )
  }
}

interface RawPage {
  readonly data: ReadonlyArray<{ readonly id: string }>
  readonly has_more: boolean
}

export const makeWalk = (kind: Kind, pageSize: number): Walk => {
  if (kind === "undici8-raw") {
    return async (baseUrl) => {
      let count = 0
      let lastId = ""
      let after: string | undefined
      for (;;) {
        const url = `${baseUrl}/batches?limit=${pageSize}${after === undefined ? "" : `&after=${after}`}`
        const page: RawPage = JSON.parse(await rawText(url))
        count += page.data.length
        const last = page.data[page.data.length - 1]
        if (last !== undefined) lastId = last.id
        if (!page.has_more || last === undefined) return { count, lastId }
        after = last.id
      }
    }
  }
  return async (baseUrl) => {
    const runtime = ManagedRuntime.make(layerFor(baseUrl))
    let lastId = ""
    const count = await runtime.runPromise(
      Stream.runFold(BatchApi.streamBatches({ pageSize }), () => 0, (n, batch) => {
        lastId = batch.id
        return n + 1
      })
    )
    await runtime.dispose()
    return { count, lastId }
  }
}
