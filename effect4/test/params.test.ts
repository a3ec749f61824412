/**
 * A Schema issue described in one line (internal/params.ts `describe`, on Effect 4's `SchemaIssue` tree): the field's
 * path and the rule, from the schema's own messages or its expected type, never the value.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema, SchemaParser } from "effect"
import * as Batch from "../src/Batch.js"
import * as Params from "../src/internal/params.js"

const describeFailure = <S extends Schema.Decoder<unknown>>(schema: S, input: unknown): Params.Described => {
  const decoded = SchemaParser.decodeUnknownResult(schema)(input)
  if (Result.isSuccess(decoded)) return assert.fail(`decoded: ${JSON.stringify(input)}`)
  return Params.describe(decoded.failure)
}

describe("Params.describe", () => {
  const Options = Schema.Struct({
    name: Schema.String,
    size: Schema.Number,
    mode: Schema.Literals(["fast", "slow"]),
    tags: Schema.Array(Schema.String),
    id: Batch.BatchId
  })
  const valid = { name: "n", size: 1, mode: "fast", tags: ["a"], id: "batch_1" }

  it("names the field and the rule, from the expected type", () => {
    const secret = "hunter2"
    const cases: ReadonlyArray<readonly [unknown, Params.Described]> = [
      [{ ...valid, name: 42 }, { field: "name", issue: "must be a string" }],
      [{ ...valid, size: secret }, { field: "size", issue: "must be a number" }],
      [{ ...valid, mode: secret }, { field: "mode", issue: "must be one of \"fast\", \"slow\"" }],
      [{ ...valid, tags: ["a", 1] }, { field: "tags[1]", issue: "must be a string" }],
      [{ ...valid, tags: secret }, { field: "tags", issue: "must be an array" }],
      [{ name: "n", size: 1, mode: "fast", id: "batch_1" }, { field: "tags", issue: "is required" }],
      [secret, { field: undefined, issue: "must be an object" }]
    ]
    for (const [input, expected] of cases) {
      const described = describeFailure(Options, input)
      assert.deepStrictEqual(described, expected, JSON.stringify(input))
      assert.notInclude(described.issue, secret)
    }
  })

  it("uses a filter's own message", () => {
    const described = describeFailure(Options, { ...valid, id: "../files" })
    assert.strictEqual(described.field, "id")
    assert.match(described.issue, /^a batch id must/)
    assert.notInclude(described.issue, "../files")
  })
})
