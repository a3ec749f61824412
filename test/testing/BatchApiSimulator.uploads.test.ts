import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { send, start } from "./support.js"

const encoder = new TextEncoder()

/** A multipart body with one file field `data`. */
const partBody = (data: Uint8Array) => {
  const boundary = "----simtest-part"
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="part"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n`
  )
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`)
  const raw = new Uint8Array(head.length + data.length + tail.length)
  raw.set(head)
  raw.set(data, head.length)
  raw.set(tail, head.length + data.length)
  return { raw, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } }
}

const create = { filename: "in.jsonl", purpose: "batch", bytes: 6, mime_type: "text/jsonl" }

describe("BatchApiSimulator: the Uploads API", () => {
  it.effect("create: 400s naming param for each field the API checks", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const cases: ReadonlyArray<readonly [Record<string, unknown>, string | null]> = [
        [{ ...create, filename: undefined }, "filename"],
        [{ ...create, purpose: "bogus" }, "purpose"],
        [{ ...create, bytes: -1 }, "bytes"],
        [{ ...create, bytes: 8 * 1024 ** 3 + 1 }, "bytes"],
        [{ ...create, mime_type: "" }, "mime_type"],
        [{ ...create, filename: "in.csv" }, "filename"],
        [{ ...create, expires_after: { anchor: "created_at", seconds: 5 } }, "expires_after.seconds"],
        [{ ...create, colour: "red" }, null]
      ]
      for (const [body, param] of cases) {
        const answer = yield* send(simulator, "POST", "/v1/uploads", { body })
        assert.strictEqual(answer.status, 400, JSON.stringify(body))
        assert.strictEqual(answer.json.error.param, param)
      }
      const ok = yield* send(simulator, "POST", "/v1/uploads", { body: create })
      assert.strictEqual(ok.status, 200)
      assert.deepStrictEqual(
        [ok.json.object, ok.json.status, ok.json.bytes, ok.json.file],
        ["upload", "pending", 6, null]
      )
    }))

  it.effect("parts and completion: a part over 64 MiB, unknown or repeated part ids, a part of another upload", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const upload = (yield* send(simulator, "POST", "/v1/uploads", { body: create })).json.id as string
      const other = (yield* send(simulator, "POST", "/v1/uploads", { body: create })).json.id as string
      const add = (id: string, data: Uint8Array) => send(simulator, "POST", `/v1/uploads/${id}/parts`, partBody(data))
      const tooBig = yield* add(upload, new Uint8Array(64 * 1024 ** 2 + 1))
      assert.deepStrictEqual([tooBig.status, tooBig.json.error.param], [400, "data"])
      const noData = yield* send(simulator, "POST", `/v1/uploads/${upload}/parts`, { body: {} })
      assert.strictEqual(noData.status, 400)
      const a = (yield* add(upload, encoder.encode("abc"))).json
      assert.deepStrictEqual([a.object, a.upload_id], ["upload.part", upload])
      const b = (yield* add(upload, encoder.encode("def"))).json.id as string
      const foreign = (yield* add(other, encoder.encode("xyz"))).json.id as string
      const complete = (part_ids: ReadonlyArray<string>) =>
        send(simulator, "POST", `/v1/uploads/${upload}/complete`, { body: { part_ids } })
      for (const ids of [[a.id, a.id], [a.id, "part_missing"], [a.id, foreign]]) {
        const refused = yield* complete(ids)
        assert.deepStrictEqual([refused.status, refused.json.error.param], [400, "part_ids"])
      }
      const held = Option.getOrThrow(yield* simulator.upload(upload))
      assert.deepStrictEqual([held.status, held.parts, held.bytesReceived], ["pending", 2, 6])
      const done = yield* complete([b, a.id])
      assert.strictEqual(done.status, 200)
      const file = Option.getOrThrow(yield* simulator.file(done.json.file.id))
      assert.strictEqual(new TextDecoder().decode(file.content), "defabc")
      assert.strictEqual(file.filename, "in.jsonl")
      const again = yield* complete([b, a.id])
      assert.deepStrictEqual([again.status, again.json.error.code], [400, "invalid_state"])
      const cancelCompleted = yield* send(simulator, "POST", `/v1/uploads/${upload}/cancel`)
      assert.strictEqual(cancelCompleted.status, 400)
      const unknown = yield* send(simulator, "POST", "/v1/uploads/upload_nope/complete", { body: { part_ids: [] } })
      assert.strictEqual(unknown.status, 404)
      const get = yield* send(simulator, "GET", `/v1/uploads/${upload}`)
      assert.strictEqual(get.status, 404)
    }))

  it.effect("a pending upload reads as expired an hour after its creation, and takes no more parts", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const simulator = yield* BatchApiSimulator.make()
      const created = (yield* send(simulator, "POST", "/v1/uploads", { body: create })).json
      assert.strictEqual(created.expires_at, start / 1000 + 3600)
      yield* TestClock.adjust("59 minutes")
      assert.strictEqual(Option.getOrThrow(yield* simulator.upload(created.id)).status, "pending")
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(Option.getOrThrow(yield* simulator.upload(created.id)).status, "expired")
      const late = yield* send(simulator, "POST", `/v1/uploads/${created.id}/parts`, partBody(encoder.encode("a")))
      assert.strictEqual(late.status, 400)
      assert.match(late.json.error.message, /expired/)
    }))
})
