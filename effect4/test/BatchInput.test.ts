/**
 * BatchInput (ported from the root's test/BatchInput.test.ts): encoding and checking request lines, and uploading
 * the checked file as a stream.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as BatchInput from "../src/BatchInput.js"
import * as BatchLine from "../src/BatchLine.js"
import * as Fake from "./support/FakeFiles.js"

const endpoint = "/v1/chat/completions"
const chat = (id: string, content = "hi") =>
  BatchLine.chatCompletion(id, { model: "gpt-4o-mini", messages: [{ role: "user", content }] })
const decoder = new TextDecoder()
const text = (bytes: ReadonlyArray<Uint8Array>) => bytes.map((b) => decoder.decode(b)).join("")

describe("BatchInput", () => {
  it.effect("encodes one JSON line per request, keeping every field", () =>
    Effect.gen(function*() {
      const requests = [chat("a"), { ...chat("b", "ü"), body: { ...chat("b", "ü").body, temperature: 0 } }]
      const bytes = yield* Stream.runCollect(BatchInput.encode(requests, { endpoint }))
      const lines = text(bytes).split("\n")
      assert.strictEqual(lines.length, 3)
      assert.strictEqual(lines[2], "")
      assert.deepStrictEqual(lines.slice(0, 2).map((l) => JSON.parse(l)), requests)
      const summary = yield* BatchInput.check(requests, { endpoint })
      assert.deepStrictEqual(summary, { lines: 2, bytes: new TextEncoder().encode(text(bytes)).length })
    }))

  it.effect("refuses a duplicate custom_id, naming both lines", () =>
    Effect.gen(function*() {
      const error = yield* BatchInput.check([chat("a"), chat("b"), chat("a")], { endpoint }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DuplicateCustomIdError")
      if (error._tag === "DuplicateCustomIdError") {
        assert.strictEqual(error.line, 3)
        assert.strictEqual(error.firstLine, 1)
        assert.strictEqual(error.customId, "a")
        assert.strictEqual(error.message, "BatchInput.check: request 3 repeats custom_id a of request 1")
      }
    }))

  it.effect("refuses a url other than the batch's endpoint", () =>
    Effect.gen(function*() {
      const error = yield* BatchInput.check(
        Stream.make(chat("a"), BatchLine.embedding("e", { model: "m", input: "x" })),
        { endpoint }
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "EndpointMismatchError")
      if (error._tag === "EndpointMismatchError") {
        assert.strictEqual(error.line, 2)
        assert.strictEqual(error.url, "/v1/embeddings")
        assert.include(error.message, "request 2 (e)")
      }
    }))

  it.effect("refuses too many lines and too many bytes, with configured limits", () =>
    Effect.gen(function*() {
      const many = Array.from({ length: 4 }, (_, i) => chat(`r${i}`))
      const tooMany = yield* BatchInput.check(many, { endpoint, maxLines: 3 }).pipe(Effect.flip)
      assert.strictEqual(tooMany._tag, "TooManyLinesError")
      if (tooMany._tag === "TooManyLinesError") assert.strictEqual(tooMany.line, 4)
      assert.strictEqual((yield* BatchInput.check(many, { endpoint, maxLines: 4 })).lines, 4)
      const lineBytes = JSON.stringify(chat("r0")).length + 1
      const tooLarge = yield* BatchInput.check(many, { endpoint, maxBytes: lineBytes * 2 + 5 }).pipe(Effect.flip)
      assert.strictEqual(tooLarge._tag, "InputTooLargeError")
      if (tooLarge._tag === "InputTooLargeError") {
        assert.strictEqual(tooLarge.line, 3)
        assert.strictEqual(tooLarge.bytes, lineBytes * 3)
      }
      // multi-byte characters count as bytes, not code units
      const wide = [chat("w", "€".repeat(10))]
      const wideBytes = new TextEncoder().encode(`${JSON.stringify(wide[0])}\n`).length
      const fits = yield* BatchInput.check(wide, { endpoint, maxBytes: wideBytes })
      assert.strictEqual(fits.bytes, wideBytes)
      const over = yield* BatchInput.check(wide, { endpoint, maxBytes: wideBytes - 1 }).pipe(Effect.flip)
      assert.strictEqual(over._tag, "InputTooLargeError")
    }))

  it.effect("refuses an invalid request and an empty input", () =>
    Effect.gen(function*() {
      const invalid = yield* BatchInput.check(
        // a request from untyped data: the check must not trust the static type
        [chat("a"), JSON.parse(`{"custom_id":"b","method":"POST","url":"${endpoint}","body":{"model":"m"}}`)],
        { endpoint }
      ).pipe(Effect.flip)
      assert.strictEqual(invalid._tag, "InvalidRequestError")
      if (invalid._tag === "InvalidRequestError") {
        assert.strictEqual(invalid.line, 2)
        assert.strictEqual(invalid.customId, "b")
        assert.include(invalid.issue, "messages")
      }
      const empty = yield* BatchInput.check([], { endpoint }).pipe(Effect.flip)
      assert.strictEqual(empty._tag, "EmptyInputError")
      assert.strictEqual(empty._tag === "EmptyInputError" ? empty.operation : undefined, "BatchInput.check")
      assert.strictEqual(empty.message, "BatchInput.check: the input has no requests: a batch needs at least one")
      // Valid JSON on which Effect's union parser throws: an invalid line, not a defect.
      const odd = yield* BatchInput.check(
        [JSON.parse(`{"custom_id":"c","method":{"toString":{}},"url":"${endpoint}","body":{}}`)],
        { endpoint }
      ).pipe(Effect.flip)
      assert.strictEqual(odd._tag, "InvalidRequestError")
      if (odd._tag === "InvalidRequestError") assert.strictEqual(odd.customId, "c")
    }))

  it.effect("uploads the checked file as a stream with purpose batch", () =>
    Effect.gen(function*() {
      const requests = [chat("a"), chat("b")]
      const uploaded = yield* BatchInput.upload(requests, {
        endpoint,
        filename: "job.jsonl",
        expires_after: { anchor: "created_at", seconds: 86400 }
      })
      assert.strictEqual(uploaded.file.id, "file-abc123")
      assert.strictEqual(uploaded.lines, 2)
      const [request] = yield* Fake.requests
      assert.strictEqual(request?.bodyKind, "Stream")
      const parts = Fake.parseMultipart(request?.text ?? "", request?.contentType)
      assert.deepStrictEqual(parts.map((p) => p.name), [
        "purpose",
        "expires_after[anchor]",
        "expires_after[seconds]",
        "file"
      ])
      assert.strictEqual(parts[0]?.value, "batch")
      assert.strictEqual(Fake.unmarked(parts[3]?.filename), "job.jsonl")
      assert.strictEqual(parts[3]?.value, requests.map((r) => `${JSON.stringify(r)}\n`).join(""))
      assert.strictEqual(uploaded.bytes, parts[3]?.value.length)
    }).pipe(Effect.provide(Fake.layer(() => ({ status: 200, body: Fake.fileJson() })))))

  it.effect("sends nothing for an array with a violation (dry pass first)", () =>
    Effect.gen(function*() {
      const error = yield* BatchInput.upload([chat("a"), chat("a")], { endpoint }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DuplicateCustomIdError")
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(Fake.layer(() => ({ status: 200, body: Fake.fileJson() })))))

  it.effect("aborts a stream upload at the first violation with the typed error; the bad line is never sent", () =>
    Effect.gen(function*() {
      const requests = Stream.fromIterable([chat("a"), chat("b"), chat("a")]).pipe(Stream.rechunk(1))
      const error = yield* BatchInput.upload(requests, { endpoint }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DuplicateCustomIdError")
      if (error._tag === "DuplicateCustomIdError") assert.strictEqual(error.line, 3)
      // the fake failed while draining the body: no request completed, no file was created
      assert.strictEqual((yield* Fake.requests).length, 0)
    }).pipe(Effect.provide(Fake.layer(() => ({ status: 200, body: Fake.fileJson() })))))

  it.effect("passes a source stream's own error through the upload", () =>
    Effect.gen(function*() {
      const error = yield* BatchInput.upload(Stream.concat(Stream.make(chat("a")), Stream.fail("db down" as const)), {
        endpoint
      })
        .pipe(Effect.flip)
      assert.strictEqual(error, "db down")
    }).pipe(Effect.provide(Fake.layer(() => ({ status: 200, body: Fake.fileJson() })))))
})
