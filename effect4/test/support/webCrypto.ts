/**
 * The clocks and the Web Crypto of tests whose work waits on Web Crypto: `effect/workflow` hashes execution ids with
 * `crypto.subtle.digest`, webhook signatures are `crypto.subtle` HMACs, both through effect's `WebCrypto` reference,
 * and they answer off the main thread, from one to thousands of event-loop turns later. A test that let the fibers
 * run a fixed number of turns before it moved `TestClock` could move time while that work was in flight (CI once
 * saw a durable job's four parts created ten virtual minutes apart, so the enqueued limit the test was about never
 * failed one). `FastTestClock` waits for the scheduler to go quiet and for the Web Crypto calls in flight (`fast`);
 * `lateWebCrypto` makes them late on purpose.
 */
import { Effect } from "effect"
import * as WebCrypto from "effect/crypto/WebCrypto"
import { createHash } from "node:crypto"
import * as FastTestClock from "../../src/testing/FastTestClock.js"

/** Runs `effect` on `FastTestClock`: provide it outermost, outside the layers it drives. */
export const fast = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, FastTestClock.layer)

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

const hashName = (algorithm: AlgorithmIdentifier) =>
  (typeof algorithm === "string" ? algorithm : algorithm.name).replace("-", "").toLowerCase()

const bytes = (data: BufferSource) =>
  ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)

/**
 * Provides a `WebCrypto` whose `subtle` calls answer `turns` macrotask turns late, as on a loaded machine. A digest
 * is hashed at once and answered exactly `turns` turns after the call (the lateness is the test's, not the thread
 * pool's); other calls wait `turns` turns, then run. Provide it outside `fast`, whose clock counts the calls of the
 * `WebCrypto` it finds.
 */
export const lateWebCrypto = (turns: number) => {
  const subtle = new Proxy(globalThis.crypto.subtle, {
    get: (target, key) => {
      const value: unknown = Reflect.get(target, key, target)
      if (typeof value !== "function") return value
      if (key === "digest") {
        return async (algorithm: AlgorithmIdentifier, data: BufferSource) => {
          const digest = createHash(hashName(algorithm)).update(bytes(data)).digest()
          for (let i = 0; i < turns; i++) await turn()
          return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength)
        }
      }
      return async (...args: Array<unknown>) => {
        for (let i = 0; i < turns; i++) await turn()
        return Reflect.apply(value, target, args)
      }
    }
  })
  const crypto = new Proxy(globalThis.crypto, {
    get: (target, key) => key === "subtle" ? subtle : Reflect.get(target, key, target)
  })
  return <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, WebCrypto.layer(crypto))
}
