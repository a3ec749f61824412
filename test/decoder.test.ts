/**
 * The compiled fast decoder must decode exactly as Schema does: same value for valid inputs, Schema's own issue for
 * invalid ones. Checked on the fixtures and on thousands of seeded mutations of them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either, ParseResult, Schema } from "effect"
import { readFileSync } from "node:fs"
import { isDeepStrictEqual } from "node:util"
import * as Batch from "../src/Batch.js"
import * as BatchLine from "../src/BatchLine.js"
import * as Decoder from "../src/internal/decoder.js"

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8"))

/** A small seeded generator, so a failure names a reproducible case. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}

const replacements: ReadonlyArray<unknown> = [
  null,
  undefined,
  0,
  -1,
  1.5,
  "",
  "x",
  "paused",
  "completed",
  true,
  false,
  [],
  {},
  [1],
  { a: 1 },
  { total: 1, completed: 1, failed: 0 },
  { data: [{ code: "c", line: null }] },
  { k: "v" },
  { k: 1 },
  "batch",
  "list"
]

/** Replaces, deletes or adds one value somewhere in a JSON tree. */
const mutate = (value: unknown, next: () => number): unknown => {
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)] as A
  if (Array.isArray(value)) {
    if (value.length === 0 || next() < 0.2) return [...value, pick(replacements)]
    const i = Math.floor(next() * value.length)
    return value.map((item, j) => (j === i ? mutate(item, next) : item))
  }
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value)
    const roll = next()
    if (keys.length === 0 || roll < 0.1) {
      return { ...value, [pick(["extra", "status", "id", "metadata", "object"])]: pick(replacements) }
    }
    const key = pick(keys)
    const rest = Object.fromEntries(Object.entries(value).filter(([k]) => k !== key))
    if (roll < 0.25) return rest
    return { ...rest, [key]: next() < 0.5 ? pick(replacements) : mutate(Reflect.get(value, key), next) }
  }
  return pick(replacements)
}

/**
 * Decodes every input with the fast path (generated code, and the interpreted loop of a runtime that refuses code
 * from strings) and with Schema; asserts they agree. Returns how many inputs were valid.
 */
const same = <A, I>(schema: Schema.Schema<A, I>, inputs: ReadonlyArray<unknown>) => {
  const generated = Decoder.make(schema)
  const interpreted = Decoder.makeInterpreted(schema)
  // Unknown fields are kept on both paths.
  const slow = ParseResult.decodeUnknownEither(schema, { onExcessProperty: "preserve" })
  // Compared with Node's deep equality first; chai's assertion (its diff, the input as the message) only on a
  // mismatch: building both for each of thousands of inputs was most of this file's time.
  const equal = (actual: unknown, expected: unknown, input: unknown) => {
    if (!isDeepStrictEqual(actual, expected)) assert.deepStrictEqual(actual, expected, JSON.stringify(input))
  }
  let valid = 0
  for (const input of inputs) {
    const a = generated(input)
    equal(interpreted(input), a, input)
    const b = slow(input)
    if (a._tag !== b._tag) assert.strictEqual(a._tag, b._tag, JSON.stringify(input))
    if (Either.isRight(a) && Either.isRight(b)) {
      valid++
      equal(a.right, b.right, input)
    }
    if (Either.isLeft(a) && Either.isLeft(b)) {
      const fast = ParseResult.TreeFormatter.formatIssueSync(a.left)
      const schema = ParseResult.TreeFormatter.formatIssueSync(b.left)
      if (fast !== schema) assert.strictEqual(fast, schema, JSON.stringify(input))
    }
  }
  return valid
}

describe("internal/decoder", () => {
  it("keeps fields the schema does not know, at every level, on the fast path and on Schema's", () => {
    const batch = {
      ...(fixture("Batch.object.json") as object),
      new_field: { nested: [1] },
      request_counts: { total: 1, completed: 1, failed: 0, paused: 2 }
    }
    const page = { object: "list", data: [batch], has_more: false, next_page_token: "t" }
    const decoded = Decoder.make(Batch.BatchPage)(page)
    assert.isTrue(Either.isRight(decoded))
    if (Either.isLeft(decoded)) return
    assert.strictEqual(Reflect.get(decoded.right, "next_page_token"), "t")
    const first = decoded.right.data[0]
    if (first === undefined) return assert.fail("no batch")
    assert.deepStrictEqual(Batch.unknownFields(first), { new_field: { nested: [1] } })
    assert.deepStrictEqual(Batch.unknownFields(decoded.right), { next_page_token: "t" })
    assert.strictEqual(Reflect.get(first.request_counts ?? {}, "paused"), 2)
    // It survives a round trip through JSON, and an invalid known field is still an error.
    assert.include(JSON.stringify(first), "new_field")
    assert.isTrue(Either.isLeft(Decoder.make(Batch.BatchPage)({ ...page, data: [{ ...batch, created_at: "x" }] })))
    // The slow path (anything the fast path does not take) keeps them too.
    const Tagged = Schema.Struct({ a: Schema.String }).pipe(Schema.attachPropertySignature("kind", "x"))
    assert.deepStrictEqual(
      Decoder.make(Tagged)({ kind: "x", a: "s", more: 1 }),
      Either.right({ kind: "x" as const, a: "s", more: 1 })
    )
  })

  it("an empty file id or cursor (a Responses-only batch's error_file_id: \"\") reads as absent, on both paths", () => {
    const batch = {
      ...(fixture("Batch.object.json") as object),
      output_file_id: "file-out",
      error_file_id: "",
      input_file_id: "file-in"
    }
    const page = { object: "list", data: [batch], first_id: "", last_id: "", has_more: false }
    const slow = ParseResult.decodeUnknownEither(Batch.BatchPage, { onExcessProperty: "preserve" })(page)
    const fast = Decoder.make(Batch.BatchPage)(page)
    for (const decoded of [slow, fast]) {
      if (Either.isLeft(decoded)) return assert.fail("expected a page")
      const first = decoded.right.data[0]
      assert.strictEqual(first?.output_file_id, "file-out")
      assert.isFalse(first !== undefined && "error_file_id" in first)
      assert.isFalse("first_id" in decoded.right || "last_id" in decoded.right)
    }
    assert.deepStrictEqual(fast, slow)
    // A required id stays as sent, and the fast path still takes the whole model.
    assert.isTrue(Decoder.isCompiled(Batch.BatchPage))
  })

  it("takes the fast path for the wire model", () => {
    assert.isTrue(Decoder.isCompiled(Batch.Batch))
    assert.isTrue(Decoder.isCompiled(Batch.BatchPage))
  })

  it("agrees with Schema on 3,000 mutated result lines (JsonObject bodies, the #302 shape, error lines)", () => {
    assert.isTrue(Decoder.isCompiled(BatchLine.BatchRequestOutput))
    const next = random(7)
    const lines = [
      {
        id: "batch_req_1",
        custom_id: "a",
        response: { status_code: 200, request_id: "req_1", body: { id: "chatcmpl-1", choices: [] } },
        error: null
      },
      {
        id: "batch_req_2",
        custom_id: "b",
        response: {
          status_code: 400,
          request_id: null,
          body: { error: { message: "bad", type: "invalid_request_error", param: null, code: null } }
        },
        error: null
      },
      { id: "batch_req_3", custom_id: "c", response: null, error: { code: "batch_expired", message: "expired" } }
    ]
    const inputs = Array.from({ length: 3000 }, (_, i) => mutate(lines[i % lines.length], next))
    const valid = same(BatchLine.BatchRequestOutput, [...lines, ...inputs])
    assert.isAbove(valid, 300)
  })

  it("leaves to Schema what it could decode differently: object unions, defaults", () => {
    const Tagged = Schema.Union(
      Schema.Struct({ a: Schema.String }),
      Schema.Struct({ kind: Schema.Literal("x"), a: Schema.String })
    )
    assert.isFalse(Decoder.isCompiled(Tagged))
    assert.deepStrictEqual(
      Decoder.make(Tagged)({ kind: "x", a: "s" }),
      ParseResult.decodeUnknownEither(Tagged)({ kind: "x", a: "s" })
    )
    const Defaulted = Schema.Struct({ name: Schema.optionalWith(Schema.NonEmptyString, { default: () => "" }) })
    assert.isFalse(Decoder.isCompiled(Defaulted))
    assert.strictEqual(Decoder.make(Defaulted)({})._tag, "Left")
    // a union of primitives and at most one object stays compiled
    assert.isTrue(Decoder.isCompiled(Schema.NullOr(Schema.Struct({ a: Schema.String }))))
  })

  it("falls back to Schema for what it does not compile", () => {
    const Suspended: Schema.Schema<{ readonly n: number }> = Schema.suspend(() => Schema.Struct({ n: Schema.Number }))
    assert.isFalse(Decoder.isCompiled(Suspended))
    assert.deepStrictEqual(Decoder.make(Suspended)({ n: 1 }), Either.right({ n: 1 }))
  })

  it("decodes the fixtures exactly as Schema does (nulls dropped, unknown fields ignored)", () => {
    const batches = [
      "Batch.object.json",
      "createBatch.response.json",
      "retrieveBatch.response.json",
      "cancelBatch.response.json"
    ]
      .map(fixture)
    assert.strictEqual(same(Batch.Batch, batches), 4)
    assert.strictEqual(same(Batch.BatchPage, [fixture("listBatches.response.json")]), 1)
    const decoded = Decoder.make(Batch.Batch)(fixture("Batch.object.json"))
    assert.isTrue(Either.isRight(decoded))
    if (Either.isRight(decoded)) assert.isFalse("failed_at" in decoded.right)
  })

  it("agrees with Schema on 6,000 mutated batches and pages", () => {
    const next = random(42)
    const base = [fixture("Batch.object.json"), fixture("retrieveBatch.response.json")]
    const inputs = Array.from({ length: 4000 }, (_, i) => {
      let value = base[i % base.length]
      const depth = 1 + Math.floor(next() * 3)
      for (let d = 0; d < depth; d++) value = mutate(value, next)
      return value
    })
    const valid = same(Batch.Batch, inputs)
    // the mutations reach both sides: some stay valid (an extra field, a new status), most do not
    assert.isAbove(valid, 200)
    assert.isBelow(valid, 3800)
    const page = fixture("listBatches.response.json")
    const pages = Array.from({ length: 2000 }, () => mutate(mutate(page, next), next))
    same(Batch.BatchPage, pages)
  })
})
