/**
 * The compiled fast decoder must decode exactly as Schema does, plus the fields a struct does not know: the same
 * value for valid inputs once those fields are taken out (and each of them is the input's own, unchanged), Schema's
 * own issue for invalid ones. Checked on the fixtures and on thousands of seeded mutations of them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema, SchemaAST, SchemaIssue, SchemaParser } from "effect"
import * as Batch from "../src/Batch.js"
import * as BatchLine from "../src/BatchLine.js"
import * as Decoder from "../src/internal/decoder.js"
import { batchFixtures, fixture } from "./support/fixtures.js"

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

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The one struct member of a union (the decoder compiles no union with more), nested unions looked through. */
const structMember = (ast: SchemaAST.AST): SchemaAST.AST | undefined => {
  const type = SchemaAST.toType(ast)
  if (type._tag === "Objects") return type
  return type._tag === "Union" ? type.types.map(structMember).find((member) => member !== undefined) : undefined
}

/**
 * The fast path's value without the fields the schema does not declare, each asserted to be the input's own field,
 * unchanged: what is left must be Schema's value.
 */
const withoutUnknownFields = (ast: SchemaAST.AST, value: unknown, input: unknown): unknown => {
  const type = SchemaAST.toType(ast)
  if (type._tag === "Arrays") {
    const item = type.rest[0]
    return Array.isArray(value) && Array.isArray(input) && item !== undefined
      ? value.map((element, i) => withoutUnknownFields(item, element, input[i]))
      : value
  }
  const struct = type._tag === "Union" ? structMember(type) : type
  if (struct?._tag !== "Objects" || !isRecord(value) || !isRecord(input)) return value
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    const declared = struct.propertySignatures.find((property) => property.name === key)?.type ??
      struct.indexSignatures[0]?.type
    if (declared !== undefined) out[key] = withoutUnknownFields(declared, field, input[key])
    else {
      assert.isTrue(Object.hasOwn(input, key), `${key} is not the input's`)
      assert.strictEqual(field, input[key], `${key} was changed`)
    }
  }
  return out
}

const format = SchemaIssue.makeFormatterDefault()

const same = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, inputs: ReadonlyArray<unknown>) => {
  const fast = Decoder.make(schema)
  const slow = SchemaParser.decodeUnknownResult(schema)
  let valid = 0
  for (const input of inputs) {
    const a = fast(input)
    const b = slow(input)
    assert.strictEqual(a._tag, b._tag, JSON.stringify(input))
    if (Result.isSuccess(a) && Result.isSuccess(b)) {
      valid++
      assert.deepStrictEqual(withoutUnknownFields(schema.ast, a.success, input), b.success, JSON.stringify(input))
    }
    if (Result.isFailure(a) && Result.isFailure(b)) assert.strictEqual(format(a.failure), format(b.failure))
  }
  return valid
}

describe("internal/decoder", () => {
  it("keeps fields the schema does not know, at every level of a struct", () => {
    const batch = {
      ...(fixture("Batch.object.json") as object),
      new_field: { nested: [1] },
      request_counts: { total: 1, completed: 1, failed: 0, paused: 2 }
    }
    const page = { object: "list", data: [batch], has_more: false, next_page_token: "t" }
    const decoded = Decoder.make(Batch.BatchPage)(page)
    assert.isTrue(Result.isSuccess(decoded))
    if (Result.isFailure(decoded)) return
    assert.strictEqual(Reflect.get(decoded.success, "next_page_token"), "t")
    const first = decoded.success.data[0]
    if (first === undefined) return assert.fail("no batch")
    assert.deepStrictEqual(Batch.unknownFields(first), { new_field: { nested: [1] } })
    assert.deepStrictEqual(Batch.unknownFields(decoded.success), { next_page_token: "t" })
    assert.strictEqual(Reflect.get(first.request_counts ?? {}, "paused"), 2)
    // It survives a round trip through JSON, and an invalid known field is still an error.
    assert.include(JSON.stringify(first), "new_field")
    assert.isTrue(Result.isFailure(Decoder.make(Batch.BatchPage)({ ...page, data: [{ ...batch, created_at: "x" }] })))
  })

  it("on Effect 4, a schema off the fast path decodes as Schema does: unknown fields dropped", () => {
    // Effect 4's Schema has no `onExcessProperty: "preserve"` (Effect 3's slow path kept them with it).
    const Tagged = Schema.Union([
      Schema.Struct({ a: Schema.String }),
      Schema.Struct({ kind: Schema.Literal("x"), a: Schema.String })
    ])
    assert.isFalse(Decoder.isCompiled(Tagged))
    assert.deepStrictEqual(Decoder.make(Tagged)({ kind: "x", a: "s", more: 1 }), Result.succeed({ a: "s" }))
  })

  it("takes the fast path for the wire model", () => {
    assert.isTrue(Decoder.isCompiled(Batch.Batch))
    assert.isTrue(Decoder.isCompiled(Batch.BatchPage))
    assert.isTrue(Decoder.isCompiled(BatchLine.BatchRequestOutput))
    assert.isTrue(Decoder.isCompiled(BatchLine.ApiErrorObject))
    // checks run on the fast path too
    assert.isTrue(Decoder.isCompiled(Batch.CreateBatchParams))
  })

  it("an empty file id or cursor (a Responses-only batch's error_file_id: \"\") reads as absent, on both paths", () => {
    // Found by the shared scenario suite (fixtures/scenarios/decoding.json): this edition kept the "", so a batch
    // without an error file had `hasResults` and a results stream asked for file "".
    const batch = {
      ...(fixture("Batch.object.json") as object),
      output_file_id: "file-out",
      error_file_id: "",
      input_file_id: "file-in"
    }
    const page = { object: "list", data: [batch], first_id: "", last_id: "", has_more: false }
    const slow = SchemaParser.decodeUnknownResult(Batch.BatchPage)(page)
    const fast = Decoder.make(Batch.BatchPage)(page)
    assert.isTrue(Decoder.isCompiled(Batch.BatchPage))
    for (const decoded of [slow, fast]) {
      if (Result.isFailure(decoded)) return assert.fail("expected a page")
      const first = decoded.success.data[0]
      assert.strictEqual(first?.output_file_id, "file-out")
      assert.isFalse(first !== undefined && "error_file_id" in first)
      assert.isFalse(first !== undefined && Batch.hasResults({ ...first, output_file_id: undefined }))
      assert.isFalse("first_id" in decoded.success || "last_id" in decoded.success)
    }
    // "" is dropped only where the wire model says so: an input file id of "" is kept as it is.
    const kept = Decoder.make(Batch.Batch)({ ...batch, input_file_id: "" })
    assert.isTrue(Result.isSuccess(kept) && kept.success.input_file_id === "")
  })
  it("agrees with Schema on 3,000 mutated result lines (JsonObject bodies, the #302 shape, error lines)", () => {
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

  it("agrees with Schema's checks on create parameters", () => {
    const valid = { input_file_id: "file-1", endpoint: "/v1/chat/completions", completion_window: "24h" }
    const inputs = [
      valid,
      { ...valid, input_file_id: "" },
      { ...valid, metadata: { k: "v".repeat(513) } },
      { ...valid, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) },
      { ...valid, output_expires_after: { anchor: "created_at", seconds: 3599 } },
      { ...valid, output_expires_after: { anchor: "created_at", seconds: 3600.5 } },
      { ...valid, output_expires_after: { anchor: "created_at", seconds: 3600 } }
    ]
    assert.strictEqual(same(Batch.CreateBatchParams, inputs), 2)
  })

  it("leaves to Schema what it could decode differently: object unions, defaults", () => {
    const Defaulted = Schema.Struct({
      name: Schema.NonEmptyString.pipe(Schema.withDecodingDefaultKey(Effect.succeed("")))
    })
    assert.isFalse(Decoder.isCompiled(Defaulted))
    assert.strictEqual(Decoder.make(Defaulted)({})._tag, "Failure")
    // a union of primitives and at most one object stays compiled
    assert.isTrue(Decoder.isCompiled(Schema.NullOr(Schema.Struct({ a: Schema.String }))))
  })

  it("falls back to Schema for what it does not compile", () => {
    const Suspended: Schema.Codec<{ readonly n: number }> = Schema.suspend(() => Schema.Struct({ n: Schema.Number }))
    assert.isFalse(Decoder.isCompiled(Suspended))
    assert.deepStrictEqual(Decoder.make(Suspended)({ n: 1 }), Result.succeed({ n: 1 }))
  })

  it("decodes the fixtures exactly as Schema does (nulls dropped)", () => {
    assert.strictEqual(same(Batch.Batch, batchFixtures.map(fixture)), 4)
    assert.strictEqual(same(Batch.BatchPage, [fixture("listBatches.response.json")]), 1)
    const decoded = Decoder.make(Batch.Batch)(fixture("Batch.object.json"))
    assert.isTrue(Result.isSuccess(decoded))
    if (Result.isSuccess(decoded)) assert.isFalse("failed_at" in decoded.success)
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
