import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, FastCheck as fc, Schema } from "effect"
import * as BatchLine from "../../src/BatchLine.js"
import { checkRequest, isRequest } from "../../src/internal/requestCheck.js"

/**
 * The contract: the Schema's own answer. Effect's union parser throws (`String()` on a discriminating field) for an
 * object without a usable `toString`: such a value is not a request line.
 */
const isLine = Schema.is(BatchLine.BatchRequestInput)
const schemaIs = (value: unknown): boolean => {
  try {
    return isLine(value)
  } catch {
    return false
  }
}

// Every property runs from a fixed seed: the same cases on every run. The mutations' seed reaches a sparse array
// (checked: it fails an `every`-based check); an unusable toString, which it does not reach, is written out below.
const urls = ["/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/moderations", "/v1/completions"]

/** Valid lines of every kind, from the Schemas themselves. */
const valid: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  Arbitrary.make(BatchLine.ChatCompletionRequest),
  Arbitrary.make(BatchLine.EmbeddingRequest),
  Arbitrary.make(BatchLine.ResponseRequest),
  fc.record({
    custom_id: fc.string({ minLength: 1 }),
    method: fc.constant("POST"),
    url: fc.constantFrom("/v1/moderations", "/v1/completions", "/custom"),
    body: fc.dictionary(fc.string(), fc.jsonValue())
  })
)

/** A value at `path` of `line` replaced (or removed). */
const mutate = (
  line: Record<string, unknown>,
  path: ReadonlyArray<string | number>,
  value: unknown,
  remove: boolean
) => {
  const copy = structuredClone(line)
  let target: unknown = copy
  for (const key of path.slice(0, -1)) {
    if (typeof target !== "object" || target === null) return copy
    target = (target as Record<string | number, unknown>)[key]
  }
  if (typeof target !== "object" || target === null) return copy
  const last = path[path.length - 1]!
  if (remove) delete (target as Record<string | number, unknown>)[last]
  else (target as Record<string | number, unknown>)[last] = value
  return copy
}

const paths: ReadonlyArray<ReadonlyArray<string | number>> = [
  ["custom_id"],
  ["method"],
  ["url"],
  ["body"],
  ["body", "model"],
  ["body", "messages"],
  ["body", "messages", 0],
  ["body", "messages", 0, "role"],
  ["body", "input"],
  ["body", "input", 0],
  ["body", "input", 0, 0]
]

const odd = fc.oneof(
  fc.anything(),
  fc.constantFrom("", "POST", "GET", null, undefined, [], {}, 0, Number.NaN, [[1, "2"]], ["a", 1], [1, 2], [[1], [2]]),
  fc.constantFrom(...urls)
)

describe("isRequest (the fast check planning uses) answers as BatchLine.BatchRequestInput does", () => {
  it("on generated valid lines of every endpoint", () => {
    fc.assert(
      fc.property(valid, (line) => {
        assert.isTrue(schemaIs(line))
        assert.isTrue(isRequest(line))
      }),
      { numRuns: 500, seed: 1 }
    )
  })

  it("on valid lines with one field replaced, removed or moved to another endpoint", () => {
    fc.assert(
      fc.property(valid, fc.constantFrom(...paths), odd, fc.boolean(), (line, path, value, remove) => {
        const changed = mutate(line, path, value, remove)
        assert.strictEqual(isRequest(changed), schemaIs(changed), JSON.stringify({ path, remove, changed }))
      }),
      { numRuns: 3000, seed: 2 }
    )
    // 1.6 s on a quiet 2-core machine, 22 s at load 16 and 61 s at load 20: a cap, not an expectation.
  }, 300_000)

  it("on anything at all", () => {
    fc.assert(fc.property(fc.anything(), (value) => isRequest(value) === schemaIs(value)), { numRuns: 1000, seed: 3 })
  })

  it("on the cases that matter, written out", () => {
    const embedding = BatchLine.embedding("a", { model: "m", input: "x" })
    const cases: ReadonlyArray<readonly [unknown, boolean]> = [
      [embedding, true],
      [{ ...embedding, custom_id: "" }, false],
      [{ ...embedding, method: "GET" }, false],
      [{ ...embedding, body: { model: "m", input: [1, 2] } }, true],
      [{ ...embedding, body: { model: "m", input: [[1], [2, 3]] } }, true],
      [{ ...embedding, body: { model: "m", input: ["a", 1] } }, false],
      [{ ...embedding, body: { model: "m" } }, false],
      // A sparse array: its hole is read as undefined, not skipped.
      [{ ...embedding, body: { model: "m", input: new Array<string>(1) } }, false],
      [{ ...embedding, body: [] }, false],
      [{ ...embedding, url: "/v1/moderations", body: { input: 1 } }, true],
      [{ ...embedding, url: "/v1/chat/completions", body: { model: "m", messages: [{ role: "user" }] } }, true],
      [{ ...embedding, url: "/v1/chat/completions", body: { model: "m", messages: [[]] } }, false],
      [{ ...embedding, url: "/v1/responses", body: { model: "m" } }, true],
      [{ ...embedding, url: 5 }, false],
      [[embedding], false],
      [null, false],
      // Valid JSON on which the Schema's parser throws.
      [JSON.parse(`{"custom_id":"a","method":{"toString":{}},"url":"/v1/moderations","body":{}}`), false]
    ]
    for (const [value, expected] of cases) {
      assert.strictEqual(schemaIs(value), expected, JSON.stringify(value))
      assert.strictEqual(isRequest(value), expected, JSON.stringify(value))
      // checkRequest never throws, and gives a reason for every line it refuses.
      const checked = checkRequest(value)
      assert.strictEqual(checked._tag === "Right", expected, JSON.stringify(value))
      if (checked._tag === "Left") assert.isAbove(checked.left.length, 0)
    }
  })
})

describe("checkRequest's reasons", () => {
  it("are one short line naming the field and the rule, never a Schema dump, never a value", () => {
    const secret = "my password is hunter2"
    const chat = BatchLine.chatCompletion("q-1", {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: secret }]
    })
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ ...chat, body: { messages: chat.body.messages } }, "body.model must be a string"],
      [{ ...chat, body: { ...chat.body, model: 42 } }, "body.model must be a string"],
      [{ ...chat, body: { ...chat.body, messages: secret } }, "body.messages must be an array of messages"],
      [
        { ...chat, body: { ...chat.body, messages: [{ role: "user", content: secret }, { content: secret }] } },
        "body.messages[1] must be an object with a string role"
      ],
      [{ ...chat, custom_id: 7 }, "custom_id must be a non-empty string"],
      [{ ...chat, method: "GET" }, "method must be \"POST\""],
      [{ ...chat, url: "/v1/embeddings", body: { model: "m", input: { text: secret } } }, "body.input must be"],
      [secret, "must be a JSON object"]
    ]
    for (const [value, expected] of cases) {
      const checked = checkRequest(value)
      if (checked._tag !== "Left") return assert.fail(`accepted: ${JSON.stringify(value)}`)
      assert.include(checked.left, expected)
      assert.notInclude(checked.left, "hunter2")
      assert.notInclude(checked.left, "\n")
      assert.isBelow(checked.left.length, 140)
    }
  })
})
