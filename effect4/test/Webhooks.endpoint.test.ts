/**
 * The webhook endpoint on Effect 4 (`Webhooks.httpApp` over `effect/http`'s `HttpServerRequest`), on web `Request`s:
 * a genuine delivery published once, a refused one answered 400 with the error's tag, a failing handler 500.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { TestClock } from "effect/testing"
import { createHmac, randomBytes } from "node:crypto"
import * as BatchEvents from "../src/BatchEvents.js"
import * as Webhooks from "../src/Webhooks.js"

const key = randomBytes(32)
const secret = Redacted.make(`whsec_${key.toString("base64")}`)
const now = 1_765_000_000

const deliver = (body: string, options: { readonly signature?: string; readonly id?: string } = {}) => {
  const id = options.id ?? "wh_1"
  const signature = options.signature ??
    `v1,${createHmac("sha256", key).update(`${id}.${now}.${body}`).digest("base64")}`
  return new Request("http://localhost/openai/webhooks", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(now),
      "webhook-signature": signature
    },
    body
  })
}

const completed = (eventId: string) =>
  JSON.stringify({ id: eventId, object: "event", created_at: now, type: "batch.completed", data: { id: "batch_9" } })

/** Runs the app on one request; the status and the body. */
const serve = <E, R>(app: ReturnType<typeof Webhooks.httpApp<E, R>>, request: Request) =>
  Effect.gen(function*() {
    const response = yield* app.pipe(
      Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(request))
    )
    const text = response.body._tag === "Uint8Array" ? new TextDecoder().decode(response.body.body) : ""
    return { status: response.status, text }
  })

const Handlers = Layer.mergeAll(Webhooks.layer({ secret }), BatchEvents.layer)

describe("Webhooks.httpApp", () => {
  it.effect("a genuine delivery: 200, the event published and handed to onEvent once, a repeat answered 200 only", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now * 1000)
      const handled: Array<string> = []
      const app = Webhooks.httpApp({ onEvent: (event) => Effect.sync(() => handled.push(event.id)) })
      const first = yield* serve(app, deliver(completed("evt_1")))
      assert.strictEqual(first.status, 200)
      const again = yield* serve(app, deliver(completed("evt_1"), { id: "wh_1" }))
      assert.strictEqual(again.status, 200)
      assert.deepStrictEqual(handled, ["evt_1"])
      const latest = yield* BatchEvents.BatchEvents.pipe(Effect.flatMap((events) => events.latest("batch_9")))
      assert.strictEqual(Option.getOrThrow(latest).id, "evt_1")
    }).pipe(Effect.provide(Handlers)))

  it.effect("400 with the error's tag for a forged, stale, incomplete or malformed delivery; nothing published", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now * 1000)
      const app = Webhooks.httpApp()
      const forged = yield* serve(app, deliver(completed("evt_2"), { signature: "v1,AAAA" }))
      assert.strictEqual(forged.status, 400)
      assert.strictEqual(JSON.parse(forged.text).error.type, "WebhookSignatureError")
      assert.notInclude(forged.text, key.toString("base64"))
      yield* TestClock.adjust("10 minutes")
      const stale = yield* serve(app, deliver(completed("evt_3")))
      assert.strictEqual(JSON.parse(stale.text).error.type, "WebhookTimestampError")
      yield* TestClock.setTime(now * 1000)
      const bare = yield* serve(app, new Request("http://localhost/", { method: "POST", body: completed("evt_4") }))
      assert.deepStrictEqual([bare.status, JSON.parse(bare.text).error.type], [400, "WebhookHeadersError"])
      const garbled = yield* serve(app, deliver("{oops"))
      assert.deepStrictEqual([garbled.status, JSON.parse(garbled.text).error.type], [400, "WebhookPayloadError"])
      const events = yield* BatchEvents.BatchEvents
      for (const id of ["evt_2", "evt_3", "evt_4"]) assert.isFalse(yield* events.has(id))
    }).pipe(Effect.provide(Handlers)))

  it.effect("a failing onEvent: 500 and nothing published, so that OpenAI's retry is handled", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now * 1000)
      let fail = true
      const app = Webhooks.httpApp({
        onEvent: () => Effect.suspend(() => fail ? Effect.fail("queue full" as const) : Effect.void)
      })
      const refused = yield* serve(app, deliver(completed("evt_5")))
      assert.strictEqual(refused.status, 500)
      const events = yield* BatchEvents.BatchEvents
      assert.isFalse(yield* events.has("evt_5"))
      fail = false
      assert.strictEqual((yield* serve(app, deliver(completed("evt_5")))).status, 200)
      assert.isTrue(yield* events.has("evt_5"))
    }).pipe(Effect.provide(Handlers)))
})
