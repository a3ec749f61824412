/**
 * Webhooks on Effect 4 (the Effect 3 edition's tests, ported): Standard Webhooks verification against node:crypto's
 * signatures and the reference vector, timestamps, rotated secrets, payloads, and the secret in no error or log.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { createHmac, randomBytes } from "node:crypto"
import * as BatchEvents from "../src/BatchEvents.js"
import * as Webhooks from "../src/Webhooks.js"

/** Signs as OpenAI does, with node:crypto (independent of the library's signer). */
const nodeSign = (secret: string, id: string, timestamp: number, body: string) => {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64")
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`
}

const secretText = `whsec_${randomBytes(32).toString("base64")}`
const secret = Redacted.make(secretText)
const now = 1_765_000_000

const event = (type: string, data: unknown = { id: "batch_abc" }) =>
  JSON.stringify({ id: "evt_685343a1381c819085d44c354e1b330e", object: "event", created_at: now - 5, type, data })

const delivery = (body: string, options: { readonly secret?: string; readonly timestamp?: number } = {}) => {
  const timestamp = options.timestamp ?? now
  return {
    "webhook-id": "wh_685342e6c53c8190a1be43f081506c52",
    "webhook-timestamp": String(timestamp),
    "webhook-signature": nodeSign(options.secret ?? secretText, "wh_685342e6c53c8190a1be43f081506c52", timestamp, body)
  }
}

const atNow = Effect.provide(Webhooks.layer({ secret }))
const setNow = TestClock.setTime(now * 1000)

describe("Webhooks: verifying", () => {
  it.effect("the Standard Webhooks reference vector: sign gives its signature, verify accepts it", () =>
    Effect.gen(function*() {
      // libraries/javascript/src/webhook.test.ts of standard-webhooks/standard-webhooks ("sign function works")
      const reference = Redacted.make("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
      const body = "{\"test\": 2432232314}"
      const headers = yield* Webhooks.sign(reference, {
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp: 1614265330,
        body
      })
      assert.strictEqual(headers["webhook-signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
      yield* TestClock.setTime(1614265330 * 1000)
      const webhooks = yield* Webhooks.make({ secret: reference })
      yield* webhooks.verify(headers, body)
      // verified, but not an OpenAI event
      const notEvent = yield* Effect.flip(webhooks.unwrap(headers, body))
      assert.strictEqual(notEvent._tag, "WebhookPayloadError")
    }))

  it.effect("accepts deliveries signed by node:crypto: string or bytes body, any header form, batch events typed", () =>
    Effect.gen(function*() {
      yield* setNow
      for (const type of BatchEvents.batchEventTypes) {
        const body = event(type)
        const headers = delivery(body)
        const forms: ReadonlyArray<Webhooks.HeadersInput> = [
          headers,
          new Headers(headers),
          // Node's IncomingHttpHeaders: any case, arrays
          {
            "Webhook-Id": [headers["webhook-id"]],
            "WEBHOOK-TIMESTAMP": headers["webhook-timestamp"],
            "webhook-signature": headers["webhook-signature"]
          }
        ]
        for (const form of forms) {
          const decoded = yield* Webhooks.unwrap(form, new TextEncoder().encode(body))
          assert.strictEqual(decoded.type, type)
          assert.isTrue(BatchEvents.isBatchEvent(decoded))
          assert.strictEqual(BatchEvents.isBatchEvent(decoded) ? decoded.data.id : "", "batch_abc")
        }
        const fromString = yield* Webhooks.unwrap(headers, body)
        assert.strictEqual(fromString.created_at, now - 5)
      }
    }).pipe(atNow))

  it.effect("keeps an event of another type, data and all, instead of refusing it", () =>
    Effect.gen(function*() {
      yield* setNow
      const body = event("response.completed", { id: "resp_1", extra: [1, 2] })
      const decoded = yield* Webhooks.unwrap(delivery(body), body)
      assert.instanceOf(decoded, BatchEvents.UnknownEvent)
      assert.isFalse(BatchEvents.isBatchEvent(decoded))
      assert.deepStrictEqual(decoded.data, { id: "resp_1", extra: [1, 2] })
    }).pipe(atNow))

  it.effect("several signatures: the valid one among others passes; none valid is a WebhookSignatureError", () =>
    Effect.gen(function*() {
      yield* setNow
      const body = event("batch.completed")
      const headers = delivery(body)
      const other = nodeSign(`whsec_${randomBytes(32).toString("base64")}`, headers["webhook-id"], now, body)
      const mixed = [
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        "v1a,abc",
        "v2,xyz",
        headers["webhook-signature"],
        other
      ]
      yield* Webhooks.verify({ ...headers, "webhook-signature": mixed.join(" ") }, body)
      const error = yield* Effect.flip(
        Webhooks.verify({ ...headers, "webhook-signature": `${other} v1,not-base64!` }, body)
      )
      assert.strictEqual(error._tag, "WebhookSignatureError")
      assert.strictEqual(error._tag === "WebhookSignatureError" ? error.signatures : -1, 1)
      const partial = yield* Effect.flip(
        Webhooks.verify({ ...headers, "webhook-signature": headers["webhook-signature"].slice(0, 12) }, body)
      )
      assert.strictEqual(partial._tag, "WebhookSignatureError")
    }).pipe(atNow))

  it.effect("a body changed on the way fails, even re-serialized JSON that means the same", () =>
    Effect.gen(function*() {
      yield* setNow
      const body = event("batch.completed")
      const headers = delivery(body)
      for (const changed of [body.replace("batch_abc", "batch_abd"), JSON.stringify(JSON.parse(body), null, 1)]) {
        const error = yield* Effect.flip(Webhooks.unwrap(headers, changed))
        assert.strictEqual(error._tag, "WebhookSignatureError")
      }
    }).pipe(atNow))

  it.effect("rotated secrets: a delivery signed with any of them passes, with another fails", () =>
    Effect.gen(function*() {
      yield* setNow
      const old = `whsec_${randomBytes(24).toString("base64")}`
      const fresh = `whsec_${randomBytes(32).toString("base64")}`
      const webhooks = yield* Webhooks.make({ secret: [Redacted.make(old), Redacted.make(fresh)] })
      const body = event("batch.failed")
      yield* webhooks.verify(delivery(body, { secret: old }), body)
      yield* webhooks.verify(delivery(body, { secret: fresh }), body)
      const error = yield* Effect.flip(webhooks.verify(delivery(body), body))
      assert.match(error.message, /checked against 2 secrets/)
      // and the library's signer signs with every secret of a rotation
      const both = yield* Webhooks.sign([Redacted.make(old), Redacted.make(fresh)], { id: "wh_x", body })
      assert.strictEqual(both["webhook-signature"].split(" ").length, 2)
      yield* webhooks.verify(both, body)
    }))

  it.effect("timestamps: 300 s either way passes, one more second fails, each with its reason", () =>
    Effect.gen(function*() {
      yield* setNow
      const body = event("batch.expired")
      for (const offset of [-300, 0, 300]) yield* Webhooks.verify(delivery(body, { timestamp: now + offset }), body)
      const old = yield* Effect.flip(Webhooks.verify(delivery(body, { timestamp: now - 301 }), body))
      const ahead = yield* Effect.flip(Webhooks.verify(delivery(body, { timestamp: now + 301 }), body))
      const garbage = yield* Effect.flip(Webhooks.verify({ ...delivery(body), "webhook-timestamp": "12abc" }, body))
      assert.deepStrictEqual(
        [old, ahead, garbage].map((e) => e._tag === "WebhookTimestampError" ? e.reason : e._tag),
        ["TooOld", "TooNew", "Invalid"]
      )
      assert.match(old.message, /301 s old, beyond the tolerance of 300 s/)
      // the clock moves: a delivery verified now fails six minutes later (a replay)
      const headers = delivery(body)
      yield* TestClock.adjust("6 minutes")
      assert.strictEqual((yield* Effect.flip(Webhooks.verify(headers, body)))._tag, "WebhookTimestampError")
      // checked against its arrival when told: the body may take a while to read
      yield* Webhooks.verify(headers, body, { receivedAt: now * 1000 + 60_000 })
      const strict = yield* Webhooks.make({ secret, tolerance: "10 seconds" })
      yield* TestClock.setTime(now * 1000)
      assert.strictEqual(
        (yield* Effect.flip(strict.verify(delivery(body, { timestamp: now - 11 }), body)))._tag,
        "WebhookTimestampError"
      )
    }).pipe(atNow))

  it.effect("missing headers are named; an empty header is missing", () =>
    Effect.gen(function*() {
      yield* setNow
      const body = event("batch.cancelled")
      const { "webhook-id": _id, ...noId } = delivery(body)
      const error = yield* Effect.flip(Webhooks.verify(noId, body))
      assert.deepStrictEqual(error._tag === "WebhookHeadersError" ? error.missing : [], ["webhook-id"])
      const none = yield* Effect.flip(Webhooks.verify({ "webhook-signature": "" }, body))
      assert.deepStrictEqual(
        none._tag === "WebhookHeadersError" ? none.missing : [],
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
      )
    }).pipe(atNow))

  it.effect("each error names the operation called, first in its message: Webhooks.verify or Webhooks.unwrap", () =>
    Effect.gen(function*() {
      yield* setNow
      const body = event("batch.completed")
      const headers = delivery(body)
      const { "webhook-id": _id, ...noId } = headers
      const cases = [
        [Webhooks.verify(noId, body), "Webhooks.verify", "WebhookHeadersError"],
        [Webhooks.unwrap(noId, body), "Webhooks.unwrap", "WebhookHeadersError"],
        [Webhooks.verify(delivery(body, { timestamp: now - 301 }), body), "Webhooks.verify", "WebhookTimestampError"],
        [Webhooks.unwrap(headers, body.replace("batch_abc", "batch_abd")), "Webhooks.unwrap", "WebhookSignatureError"],
        [Webhooks.unwrap(delivery("[1]"), "[1]"), "Webhooks.unwrap", "WebhookPayloadError"]
      ] as const
      for (const [effect, operation, tag] of cases) {
        const error = yield* Effect.flip(effect)
        assert.deepStrictEqual([error._tag, error.operation], [tag, operation])
        assert.isTrue(error.message.startsWith(`${operation}: `), error.message)
      }
    }).pipe(atNow))

  it.effect("a verified body that is not JSON, not an event, or a batch event of the wrong shape", () =>
    Effect.gen(function*() {
      yield* setNow
      for (
        const [body, issue] of [
          ["{not json", /not JSON/],
          ["[1,2]", /not an event/],
          [event("batch.completed", { batch: "batch_abc" }), /not an event/],
          [JSON.stringify({ id: "evt_1", type: "batch.completed", data: { id: "b" } }), /created_at/]
        ] as const
      ) {
        const error = yield* Effect.flip(Webhooks.unwrap(delivery(body), body))
        assert.strictEqual(error._tag, "WebhookPayloadError")
        assert.match(error._tag === "WebhookPayloadError" ? error.issue : "", issue)
      }
    }).pipe(atNow))
})

describe("Webhooks: the secret", () => {
  it.effect("is read from OPENAI_WEBHOOK_SECRET, Redacted; a malformed one is refused without being shown", () =>
    Effect.gen(function*() {
      yield* setNow
      const body = event("batch.completed")
      const fromEnv = Webhooks.layerFromEnv
      const env = (value: string) =>
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromEnv({ env: { OPENAI_WEBHOOK_SECRET: value } })
        )
      const event_ = yield* Webhooks.unwrap(delivery(body), body).pipe(Effect.provide(fromEnv), env(secretText))
      assert.strictEqual(event_.type, "batch.completed")
      const badSecret = "whsec_not*base64*SECRET-VALUE-42"
      const refused = yield* Effect.flip(
        Webhooks.unwrap(delivery(body), body).pipe(Effect.provide(fromEnv), env(badSecret))
      )
      assert.notInclude(JSON.stringify(refused), "SECRET-VALUE-42")
      assert.notInclude(String(refused), "SECRET-VALUE-42")
      const invalid = yield* Effect.flip(Webhooks.make({ secret: Redacted.make(badSecret) }))
      assert.strictEqual(invalid.field, "secret")
      assert.notInclude(JSON.stringify(invalid), "SECRET-VALUE-42")
      assert.strictEqual((yield* Effect.flip(Webhooks.make({ secret: [] }))).field, "secret")
      assert.strictEqual((yield* Effect.flip(Webhooks.make({ secret: Redacted.make("whsec_") }))).field, "secret")
    }))

  it.effect("never appears in an error, a log line, or anything returned", () =>
    Effect.gen(function*() {
      yield* setNow
      const key = secretText.slice("whsec_".length)
      const lines: Array<string> = []
      const capture = Logger.layer([Logger.make(({ message }) => {
        lines.push(String(message))
      })])
      const webhooks = yield* Webhooks.make({ secret })
      const body = event("batch.completed")
      const errors = [
        yield* Effect.flip(webhooks.unwrap({ ...delivery(body), "webhook-signature": "v1,AAAA" }, body)),
        yield* Effect.flip(webhooks.unwrap(delivery(body, { timestamp: now - 999 }), body)),
        yield* Effect.flip(webhooks.unwrap({}, body)),
        yield* Effect.flip(webhooks.unwrap(delivery("{"), "{"))
      ]
      yield* Effect.forEach(errors, (error) => Effect.logError(error)).pipe(Effect.provide(capture))
      const returned = yield* webhooks.unwrap(delivery(body), body)
      for (
        const text of [
          ...errors.map((e) => JSON.stringify(e)),
          ...errors.map(String),
          ...lines,
          JSON.stringify(returned),
          JSON.stringify(webhooks),
          String(secret)
        ]
      ) {
        assert.notInclude(text, key)
      }
      assert.strictEqual(lines.length, 4)
    }))
})
