/**
 * The compact id set (internal/job/idSet.ts, the Effect 3 edition's file verbatim): membership with its tag across
 * growth, the first tag kept, and the digest's stability. The Effect 3 edition tests it through the planner.
 */
import { assert, describe, it } from "@effect/vitest"
import * as IdSet from "../../src/internal/job/idSet.js"

describe("IdSet", () => {
  it("holds every id with its first tag across growth, and nothing else", () => {
    const set = IdSet.make(4)
    const count = 20_000
    for (let i = 0; i < count; i++) assert.isUndefined(set.add(`req-${i}`, i + 1))
    assert.strictEqual(set.size(), count)
    for (let i = 0; i < count; i += 997) assert.strictEqual(set.get(`req-${i}`), i + 1)
    // a second add keeps the first tag and says so
    assert.strictEqual(set.add("req-5", 99), 6)
    assert.strictEqual(set.get("req-5"), 6)
    assert.strictEqual(set.size(), count)
    for (const absent of ["", "req-", `req-${count}`, "REQ-1", "req-1 "]) assert.isUndefined(set.get(absent), absent)
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
