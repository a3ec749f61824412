/**
 * Verifying a Standard Webhooks delivery and decoding its event: the implementation of `Webhooks.make`. The
 * event schema comes in as a function (an internal module takes no value from the public one it implements).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as BatchError from "../../BatchError.js"
import type * as BatchEvents from "../../BatchEvents.js"
import type * as Webhooks from "../../Webhooks.js"
import * as DurationOption from "../durationOption.js"
import * as Params from "../params.js"
import * as Signature from "./signature.js"

/** A header of a delivery, whatever form the framework gives them in. @internal */
export const headerOf = (headers: Webhooks.HeadersInput, name: string): string | undefined => {
  if (headers instanceof globalThis.Headers) return headers.get(name) ?? undefined
  for (const key in headers) {
    if (key.toLowerCase() !== name) continue
    const value = headers[key]
    return typeof value === "string" ? value : value?.[0]
  }
  return undefined
}

const decoder = new TextDecoder()

/** @internal */
export const make = (
  options: Webhooks.Options,
  defaultTolerance: Duration.Duration,
  decodeEvent: (json: unknown) => Either.Either<BatchEvents.WebhookEvent, ParseResult.ParseError>
): Effect.Effect<Webhooks.Service, BatchError.InvalidParamsError> =>
  Effect.gen(function*() {
    const secrets = Redacted.isRedacted(options.secret) ? [options.secret] : options.secret
    if (secrets.length === 0) return yield* Effect.fail(Params.invalid("Webhooks.make", "needs a secret", "secret"))
    const keys: Array<CryptoKey> = []
    for (const secret of secrets) {
      const bytes = Signature.secretBytes(secret)
      if (bytes === undefined) {
        return yield* Effect.fail(
          Params.invalid("Webhooks.make", "must be whsec_ followed by the base64 of the key", "secret")
        )
      }
      keys.push(yield* Signature.importKey(bytes))
    }
    // A negative or NaN tolerance (zero on Effect 3, negative on Effect 4: no delivery would pass) is refused.
    if (options.tolerance !== undefined && DurationOption.breaks(options.tolerance, ">= 0")) {
      return yield* Effect.fail(Params.invalid("Webhooks.make", DurationOption.issue(">= 0"), "tolerance"))
    }
    const tolerance = Duration.decode(options.tolerance ?? defaultTolerance)
    const toleranceSeconds = Math.floor(Duration.toSeconds(tolerance))

    /** Verifies a delivery; its errors name `operation`, the public function called. */
    const check = (
      operation: string,
      headers: Webhooks.HeadersInput,
      body: string | Uint8Array,
      verifyOptions: Webhooks.VerifyOptions | undefined
    ) =>
      Effect.gen(function*() {
        const id = headerOf(headers, "webhook-id")
        const timestamp = headerOf(headers, "webhook-timestamp")
        const signature = headerOf(headers, "webhook-signature")
        const missing = [
          ...(id === undefined || id === "" ? ["webhook-id"] : []),
          ...(timestamp === undefined || timestamp === "" ? ["webhook-timestamp"] : []),
          ...(signature === undefined || signature === "" ? ["webhook-signature"] : [])
        ]
        if (id === undefined || timestamp === undefined || signature === undefined || missing.length > 0) {
          return yield* Effect.fail(
            new BatchError.WebhookHeadersError({ missing, operation })
          )
        }
        const now = Math.floor((verifyOptions?.receivedAt ?? (yield* Clock.currentTimeMillis)) / 1000)
        const seconds = /^\d+$/.test(timestamp) ? Number(timestamp) : Number.NaN
        const reason = !Number.isSafeInteger(seconds)
          ? "Invalid" as const
          : now - seconds > toleranceSeconds
          ? "TooOld" as const
          : seconds - now > toleranceSeconds
          ? "TooNew" as const
          : undefined
        if (reason !== undefined) {
          return yield* Effect.fail(
            new BatchError.WebhookTimestampError({
              webhookId: id,
              reason,
              timestamp,
              now,
              toleranceSeconds,
              operation
            })
          )
        }
        const candidates = Signature.v1Signatures(signature)
        const content = Signature.signedContent(id, timestamp, body)
        for (const key of keys) {
          const expected = yield* Signature.hmac(key, content)
          // Every candidate is compared, in constant time each: how many match never shows in the timing.
          let matched = false
          for (const candidate of candidates) matched = Signature.constantTimeEqual(candidate, expected) || matched
          if (matched) return
        }
        return yield* Effect.fail(
          new BatchError.WebhookSignatureError({
            webhookId: id,
            signatures: candidates.length,
            secrets: keys.length,
            operation
          })
        )
      })

    const verify: Webhooks.Service["verify"] = (headers, body, verifyOptions) =>
      check("Webhooks.verify", headers, body, verifyOptions)

    const unwrap: Webhooks.Service["unwrap"] = (headers, body, verifyOptions) =>
      Effect.flatMap(check("Webhooks.unwrap", headers, body, verifyOptions), () => {
        const id = headerOf(headers, "webhook-id") ?? ""
        const payload = (issue: string) =>
          Effect.fail(
            new BatchError.WebhookPayloadError({ webhookId: id, issue, operation: "Webhooks.unwrap" })
          )
        let json: unknown
        try {
          json = JSON.parse(typeof body === "string" ? body : decoder.decode(body))
        } catch {
          return payload("the body is not JSON")
        }
        const decoded = decodeEvent(json)
        return Either.isRight(decoded)
          ? Effect.succeed(decoded.right)
          : payload(`the body is not an event: ${ParseResult.TreeFormatter.formatIssueSync(decoded.left.issue)}`)
      })

    return { verify, unwrap }
  })
