/**
 * The compact id set (internal/job/idSet.ts, the Effect 3 edition's file verbatim): membership across growth, a
 * second add told, and the digest's stability. The Effect 3 edition tests it through the planner.
 */
import { assert, describe, it } from "@effect/vitest"
import * as IdSet from "../../src/internal/job/idSet.js"

describe("IdSet", () => {
  it("holds every id across growth, and nothing else", () => {
    const set = IdSet.make(4)
    const count = 20_000
    for (let i = 0; i < count; i++) assert.isFalse(set.add(`req-${i}`))
    assert.strictEqual(set.size(), count)
    for (let i = 0; i < count; i += 997) assert.isTrue(set.has(`req-${i}`))
    // a second add says so and adds nothing
    assert.isTrue(set.add("req-5"))
    assert.strictEqual(set.size(), count)
    for (const absent of ["", "req-", `req-${count}`, "REQ-1", "req-1 "]) assert.isFalse(set.has(absent), absent)
  })

  it("digest: the same sequence gives the same 16 hex digits; order and content matter", () => {
    const digestOf = (texts: ReadonlyArray<string>) => {
      const digest = IdSet.digest()
      for (const text of texts) digest.update(text)
      return digest.value()
    }
    const a = digestOf(["a", "b", "c"])
    assert.match(a, /^[0-9a-f]{16}$/)
    assert.strictEqual(digestOf(["a", "b", "c"]), a)
    assert.notStrictEqual(digestOf(["b", "a", "c"]), a)
    assert.notStrictEqual(digestOf(["a", "b", "d"]), a)
    assert.notStrictEqual(digestOf(["ab", "c"]), a)
  })
})
