/**
 * `effect-openai-batch/testing` needs web standards only: it must run where there is no `Buffer` and no `node:`
 * module (a browser test runner, Deno, a worker). Two proofs: a whole upload -> batch -> results cycle run with
 * `globalThis.Buffer` removed, and the import graph of `src/testing/index.ts` as esbuild bundles it
 * (../support/nodeFree.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream, TestClock } from "effect"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as BatchApi from "../../src/BatchApi.js"
import * as BatchResults from "../../src/BatchResults.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as BatchWait from "../../src/BatchWait.js"
import * as OpenAiFiles from "../../src/OpenAiFiles.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { nodeUses } from "../support/nodeFree.js"
import { jsonl, start } from "./support.js"

const lines = (prefix: string, n: number) =>
  jsonl(Array.from({ length: n }, (_, i) => ({
    custom_id: `${prefix}${i}`,
    method: "POST",
    url: "/v1/embeddings",
    body: i === 2 ? { input: "no model" } : { model: "text-embedding-3-small", input: `text ${i}` }
  })))

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../src")

/** The file of the first stack frame outside this test file: who touched `Buffer`. */
const accessor = (): string | undefined => {
  const original = Error.prepareStackTrace
  Error.prepareStackTrace = (_, frames) => frames
  const holder: { stack?: unknown } = {}
  Error.captureStackTrace(holder)
  const frames = holder.stack
  Error.prepareStackTrace = original
  if (!Array.isArray(frames)) return undefined
  const self = fileURLToPath(import.meta.url)
  for (const frame of frames as ReadonlyArray<NodeJS.CallSite>) {
    const file = frame.getFileName()
    if (
      file !== undefined && file !== null && !file.endsWith(self) && !file.includes("BatchApiSimulator.portable.test")
    ) {
      return file.startsWith("file://") ? fileURLToPath(file) : file
    }
  }
  return undefined
}

/**
 * Runs `effect` with `globalThis.Buffer` removed for the library: any use of it from a file under `src/` throws
 * `ReferenceError: Buffer is not defined` (and is recorded), as in a runtime that has no Buffer. Deleting the
 * global outright cannot be done here: Node 20's own `Response` and `FormData` (undici) and Vitest's worker messages
 * read the global `Buffer` themselves, while a runtime without it has its own implementation of those standards.
 */
const withoutBuffer = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const descriptor = Object.getOwnPropertyDescriptor(globalThis, "Buffer")
      const real: unknown = Reflect.get(globalThis, "Buffer")
      const uses: Array<string> = []
      let inside = false
      const check = () => {
        if (inside) return
        inside = true
        try {
          const file = accessor()
          if (file !== undefined && file.startsWith(srcRoot)) {
            uses.push(file.slice(srcRoot.length + 1))
            throw new ReferenceError("Buffer is not defined")
          }
        } finally {
          inside = false
        }
      }
      if (typeof real !== "function") throw new Error("expected Node's Buffer")
      const trapped = new Proxy(real, {
        get: (target, key, receiver) => {
          check()
          return Reflect.get(target, key, receiver)
        },
        apply: (target, self, args) => {
          check()
          return Reflect.apply(target, self, args)
        },
        construct: (target, args, newTarget) => {
          check()
          return Reflect.construct(target, args, newTarget)
        }
      })
      Object.defineProperty(globalThis, "Buffer", { value: trapped, configurable: true, writable: true })
      return { descriptor, uses }
    }),
    ({ uses }) => Effect.map(effect, (a) => ({ result: a, uses })),
    ({ descriptor }) =>
      Effect.sync(() => {
        Reflect.deleteProperty(globalThis, "Buffer")
        if (descriptor !== undefined) Object.defineProperty(globalThis, "Buffer", descriptor)
      })
  )

describe("BatchApiSimulator without Node", () => {
  it.effect("upload (FormData and a streamed body) -> batch -> output and error files, with Buffer removed for src/", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const fromString = yield* OpenAiFiles.uploadFile({ file: lines("s", 5), filename: "a.jsonl", purpose: "batch" })
      const fromStream = yield* OpenAiFiles.uploadFile({
        file: Stream.make(new TextEncoder().encode(lines("t", 4))),
        filename: "b.jsonl",
        purpose: "batch"
      })
      const results = yield* Effect.forEach([fromString, fromStream], (file) =>
        Effect.gen(function*() {
          const batch = yield* BatchApi.createBatch({
            input_file_id: file.id,
            endpoint: "/v1/embeddings",
            completion_window: "24h"
          })
          const fiber = yield* Effect.fork(
            BatchWait.awaitBatch(batch.id, { schedule: BatchSchedule.every("1 minute") })
          )
          yield* TestClock.adjust("10 minutes")
          const done = yield* Fiber.join(fiber)
          const collected = yield* BatchResults.collect(done)
          const content = yield* Stream.runCollect(OpenAiFiles.downloadFile(done.output_file_id!))
          return { done, collected, bytes: Chunk.reduce(content, 0, (n, chunk) => n + chunk.length) }
        }))
      const [a, b] = results
      assert.deepStrictEqual({ ...a!.done.request_counts }, { total: 5, completed: 4, failed: 1 })
      assert.deepStrictEqual({ ...b!.done.request_counts }, { total: 4, completed: 3, failed: 1 })
      assert.deepStrictEqual([...a!.collected.byCustomId.keys()].sort(), ["s0", "s1", "s2", "s3", "s4"])
      assert.strictEqual(a!.collected.byCustomId.get("s2")?._tag, "FailedResponse")
      assert.strictEqual(b!.collected.byCustomId.get("t3")?._tag, "Succeeded")
      assert.isAbove(a!.bytes, 0)
    }).pipe(
      withoutBuffer,
      Effect.map(({ uses }) => assert.deepStrictEqual(uses, [])),
      Effect.provide(BatchApiSimulator.layerBatchApi())
    ))

  it.live("nothing reachable from src/testing/index.ts imports node: modules or @effect/platform-node, or uses Node globals", () =>
    Effect.promise(async () => {
      const { files, problems } = await nodeUses(srcRoot, "testing/index.ts")
      assert.includeMembers([...files], [
        "testing/BatchApiSimulator.ts",
        "testing/internal/multipart.ts",
        "testing/internal/httpClient.ts",
        "BatchApi.ts",
        "OpenAiFiles.ts"
      ])
      assert.deepStrictEqual(problems, [])
    }))
})
