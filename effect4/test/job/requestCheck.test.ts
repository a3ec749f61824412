/**
 * The request check against its contract, the Schema's own answer: the Effect 3 edition's test on Effect 4. What
 * changed: Effect 4 has no fast-check re-export, so valid lines come from Effect 4's `Arbitrary.schema` (the endpoint
 * schemas; the `OtherRequest` body, a declaration, from a seeded generator) and the mutations are picked by a seeded
 * generator; `checkRequest` answers a `Result`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Result, Schema } from "effect"
import * as BatchLine from "../../src/BatchLine.js"
import { checkRequest, isRequest, utf8Length } from "../../src/internal/requestCheck.js"
import { random } from "./estimate.samples.js"

/**
 * The contract: the Schema's own answer. Effect 3's union parser threw (`String()` on a discriminating field) for an
 * object without a usable `toString`; Effect 4's answers false. Either way such a value is not a request line.
 */
const isLine = Schema.is(BatchLine.BatchRequestInput)
const schemaIs = (value: unknown): boolean => {
  try {
    return isLine(value)
  } catch {
    return false
  }
}

const urls = ["/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/moderations", "/v1/completions"]

type Line = Record<string, unknown>

/** Lines of an endpoint the library does not model: any JSON body (a seeded generator: the body is a declaration). */
const otherLines = (seed: number, count: number): ReadonlyArray<Line> => {
  const r = random(seed)
  const json = (depth: number): unknown => {
    switch (r.int(depth > 2 ? 4 : 6)) {
      case 0:
        return null
      case 1:
        return r.next() < 0.5
      case 2:
        return r.int(2000) - 1000
      case 3:
        return r.pick(["", "x", "toString", "héllo", "__proto__"])
      case 4:
        return Array.from({ length: r.int(3) }, () => json(depth + 1))
      default:
        return Object.fromEntries(Array.from({ length: r.int(3) }, (_, i) => [`k${i}`, json(depth + 1)]))
    }
  }
  return Array.from({ length: count }, (_, i) => ({
    custom_id: `other-${i}`,
    method: "POST",
    url: r.pick(["/v1/moderations", "/v1/completions", "/custom"]),
    body: Object.fromEntries(Array.from({ length: r.int(4) }, (_, k) => [r.pick(["model", "input", `f${k}`]), json(1)]))
  }))
}

/** Valid lines of every kind, from the Schemas themselves (a fixed seed: the same lines on every run), made once. */
let valid: ReadonlyArray<Line> | undefined
const validLines = Effect.suspend(() =>
  valid !== undefined ? Effect.succeed(valid) : Effect.gen(function*() {
    let lines: ReadonlyArray<Line> = []
    for (const schema of [BatchLine.ChatCompletionRequest, BatchLine.EmbeddingRequest, BatchLine.ResponseRequest]) {
      lines = lines.concat(yield* Arbitrary.sampleEffect(Arbitrary.schema(schema), { count: 120, seed: 1 }))
    }
    valid = lines.concat(otherLines(4, 120))
    return valid
  })
)

/** A value at `path` of `line` replaced (or removed). */
const mutate = (line: Line, path: ReadonlyArray<string | number>, value: unknown, remove: boolean) => {
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

const oddValues: ReadonlyArray<unknown> = [
  "",
  "POST",
  "GET",
  null,
  undefined,
  [],
  {},
  0,
  Number.NaN,
  [[1, "2"]],
  ["a", 1],
  [1, 2],
  [[1], [2]],
  // a sparse array: its hole is read as undefined, not skipped
  new Array<string>(2),
  { role: "user" },
  [{ role: "user" }],
  [{ role: 1 }],
  ...urls
]

describe("isRequest (the fast check planning uses) answers as BatchLine.BatchRequestInput does", () => {
  it.effect("on generated valid lines of every endpoint", () =>
    Effect.gen(function*() {
      const lines = yield* validLines
      assert.strictEqual(lines.length, 480)
      for (const line of lines) {
        assert.isTrue(schemaIs(line), JSON.stringify(line))
        assert.isTrue(isRequest(line), JSON.stringify(line))
      }
    }))

  it.effect("on valid lines with one field replaced, removed or moved to another endpoint", () =>
    Effect.gen(function*() {
      const lines = yield* validLines
      const anything = yield* Arbitrary.sampleEffect(Arbitrary.schema(Schema.Unknown), { count: 200, seed: 2 })
      const r = random(2)
      for (let i = 0; i < 3000; i++) {
        const path = r.pick(paths)
        const value = r.next() < 0.7 ? r.pick(oddValues) : r.pick(anything)
        const remove = r.next() < 0.3
        const changed = mutate(r.pick(lines), path, value, remove)
        assert.strictEqual(isRequest(changed), schemaIs(changed), JSON.stringify({ path, remove, changed }))
      }
    }))

  it.effect("on anything at all", () =>
    Effect.gen(function*() {
      const values = yield* Arbitrary.sampleEffect(Arbitrary.schema(Schema.Unknown), { count: 1000, seed: 3 })
      for (const value of values) assert.strictEqual(isRequest(value), schemaIs(value), JSON.stringify(value))
    }))

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
      // Valid JSON on which Effect 3's parser threw.
      [JSON.parse(`{"custom_id":"a","method":{"toString":{}},"url":"/v1/moderations","body":{}}`), false]
    ]
    for (const [value, expected] of cases) {
      assert.strictEqual(schemaIs(value), expected, JSON.stringify(value))
      assert.strictEqual(isRequest(value), expected, JSON.stringify(value))
      // checkRequest never throws, and gives a reason for every line it refuses.
      const checked = checkRequest(value)
      assert.strictEqual(Result.isSuccess(checked), expected, JSON.stringify(value))
      if (Result.isFailure(checked)) assert.isAbove(checked.failure.length, 0)
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
      if (Result.isSuccess(checked)) return assert.fail(`accepted: ${JSON.stringify(value)}`)
      assert.include(checked.failure, expected)
      assert.notInclude(checked.failure, "hunter2")
      assert.notInclude(checked.failure, "\n")
      assert.isBelow(checked.failure.length, 140)
    }
  })
})

describe("utf8Length", () => {
  it("is the UTF-8 encoding's length: ASCII counted, the rest measured", () => {
    const encoder = new TextEncoder()
    for (const text of ["", "abc\n", "\u0000\u007f", "é", "héllo 🎉 wörld", "東京\n", "\ud800"]) {
      assert.strictEqual(utf8Length(text), encoder.encode(text).length, JSON.stringify(text))
    }
  })
})
