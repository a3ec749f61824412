/**
 * The clock of the durable tests on the memory engine. `effect/workflow` hashes a workflow's execution id with
 * `crypto.subtle.digest` (through the `WebCrypto` reference) before the workflow starts, and the digest answers off
 * the main thread, from one to thousands of event-loop turns later. A test that let the fibers run a fixed number
 * of turns before it moved `TestClock` could move time while the workflow was half-way through its first step: CI
 * once saw a job's four parts created ten virtual minutes apart, each after the last had ended, so the enqueued
 * limit the test was about never failed one. `FastTestClock` waits for the scheduler to go quiet and for the digests
 * in flight, so these tests run it (`fast`), and `lateDigests` makes the digests late on purpose.
 */
import { Effect } from "effect"
import * as WebCrypto from "effect/crypto/WebCrypto"
import { createHash } from "node:crypto"
import * as FastTestClock from "../../../src/testing/FastTestClock.js"

/** Runs `effect` on `FastTestClock`: provide it outermost, outside the engine and the simulator. */
export const fast = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, FastTestClock.layer)

const hashName = (algorithm: AlgorithmIdentifier) =>
  (typeof algorithm === "string" ? algorithm : algorithm.name).replace("-", "").toLowerCase()

const bytes = (data: BufferSource) =>
  ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Provides a `WebCrypto` whose `subtle.digest` answers exactly `turns` macrotask turns after the call (a real one
 * answers from one to thousands of turns later). Provide
 * it outside `fast`, whose clock counts the digests of the `WebCrypto` it finds.
 */
export const lateDigests = (turns: number) => {
  const subtle = globalThis.crypto.subtle
  const late = new Proxy(subtle, {
    get: (target, key) =>
      key === "digest"
        ? async (algorithm: AlgorithmIdentifier, data: BufferSource) => {
          // Hashed at once, answered exactly `turns` turns later: the lateness is the test's, not the thread pool's.
          const digest = createHash(hashName(algorithm)).update(bytes(data)).digest()
          for (let i = 0; i < turns; i++) await turn()
          return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength)
        }
        : Reflect.get(target, key, target)
  })
  const crypto = new Proxy(globalThis.crypto, {
    get: (target, key) => key === "subtle" ? late : Reflect.get(target, key, target)
  })
  return <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, WebCrypto.layer(crypto))
}
