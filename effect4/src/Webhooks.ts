/**
 * OpenAI's webhooks for batches, verified and decoded. OpenAI signs every delivery the Standard Webhooks way:
 * headers `webhook-id`, `webhook-timestamp` and `webhook-signature`, an HMAC-SHA256 over
 * `${id}.${timestamp}.${body}` keyed with the endpoint's secret (`whsec_` + base64), space-separated `v1,<base64>`
 * signatures. `unwrap` checks the headers, the timestamp (300 s either way by default, on `Clock`), and the
 * signatures (in constant time, against every secret given: several during a rotation), then decodes the event
 * (`BatchEvents.WebhookEvent`: the four batch events, and any other type kept as an `UnknownEvent`).
 *
 * - `httpApp`: a ready handler for `effect/http`'s `HttpServer`/`HttpRouter` that verifies, decodes,
 *   hands the event to `BatchEvents` (so waits wake up) and to your callback, and answers 200 at once (400 for a
 *   request that is not a genuine, timely delivery).
 * - `Service.unwrap`: the same as a plain function `(headers, rawBody) => Effect<BatchEvents.WebhookEvent, WebhookError>`, for
 *   any other framework. Give it the raw body: a parsed and re-serialized one no longer matches its signature.
 *
 * The secret is `Redacted` throughout (`OPENAI_WEBHOOK_SECRET` through `layerFromEnv`, as openai-node reads it) and
 * appears in no error, log or span. Web Crypto only: no `node:` module, so it runs on Node 20, Deno, Bun, workers
 * and browsers alike.
 *
 * The Effect 4 edition: the handler is over `effect/http`'s `HttpServerRequest`; a payload issue is described as
 * `Params.describe` words it (the field and the rule), where the Effect 3 edition printed Schema's tree.
 *
 * @since 4.0.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"
import type * as BatchError from "./BatchError.js"
import * as BatchEvents from "./BatchEvents.js"
import * as Params from "./internal/params.js"
import * as Signature from "./internal/webhooks/signature.js"
import * as Verify from "./internal/webhooks/verify.js"

const decodeEvent = SchemaParser.decodeUnknownResult(BatchEvents.WebhookEvent)

// ---------------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------------

/**
 * Request headers as frameworks hand them over: a web `Headers`, or a record (any case; Node's string arrays too).
 *
 * @since 4.0.0
 * @category Models
 */
export type HeadersInput =
  | globalThis.Headers
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * @since 4.0.0
 * @category Models
 */
export interface Options {
  /**
   * The endpoint's signing secret (`whsec_...`), or several while you rotate it: a delivery signed with any of
   * them is accepted.
   */
  readonly secret: Redacted.Redacted<string> | ReadonlyArray<Redacted.Redacted<string>>
  /** How far a delivery's timestamp may be from this side's clock, either way. Default 300 seconds. */
  readonly tolerance?: Duration.Input | undefined
}

/**
 * @since 4.0.0
 * @category Models
 */
export interface VerifyOptions {
  /**
   * When the request arrived, in `Clock` milliseconds: what its timestamp is checked against. Default: `Clock` now,
   * when the check runs (after the body was read).
   */
  readonly receivedAt?: number | undefined
}

/**
 * Verification and decoding under the configured secrets.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Service {
  /** Checks a delivery's headers, timestamp and signature against its raw body. */
  readonly verify: (
    headers: HeadersInput,
    body: string | Uint8Array,
    options?: VerifyOptions
  ) => Effect.Effect<
    void,
    BatchError.WebhookHeadersError | BatchError.WebhookTimestampError | BatchError.WebhookSignatureError
  >
  /** `verify`, then the event decoded. */
  readonly unwrap: (
    headers: HeadersInput,
    body: string | Uint8Array,
    options?: VerifyOptions
  ) => Effect.Effect<BatchEvents.WebhookEvent, BatchError.WebhookError>
}

/**
 * @since 4.0.0
 * @category Context
 */
export class Webhooks extends Context.Service<Webhooks, Service>()("effect-openai-batch/Webhooks") {}

/**
 * The default tolerance between a delivery's timestamp and this side's clock.
 *
 * @since 4.0.0
 * @category Constants
 */
export const defaultTolerance: Duration.Duration = Duration.seconds(300)

/**
 * Builds the service: every secret's key is imported once. A secret that is not `whsec_` + base64 fails with
 * `InvalidParamsError` (the secret itself is never shown).
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<Service, BatchError.InvalidParamsError> =>
  Verify.make(options, defaultTolerance, decodeEvent)

/**
 * The service under `options`' secrets.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<Webhooks, BatchError.InvalidParamsError> =>
  Layer.effect(Webhooks, make(options))

/**
 * The secret from `OPENAI_WEBHOOK_SECRET` (the variable openai-node reads), `Redacted`, refused at once unless it
 * is `whsec_` + base64.
 *
 * @since 4.0.0
 * @category Config
 */
export const secretConfig: Config.Config<Redacted.Redacted<string>> = Config.Redacted("OPENAI_WEBHOOK_SECRET").pipe(
  Config.mapEffect((secret) =>
    Signature.secretBytes(secret) !== undefined
      ? Effect.succeed(secret)
      : Effect.fail(
        new Config.ConfigError(
          new Schema.SchemaError(
            new SchemaIssue.Pointer(
              ["OPENAI_WEBHOOK_SECRET"],
              new SchemaIssue.InvalidValue({ message: "must be whsec_ followed by the base64 of the key" })
            )
          )
        )
      )
  )
)

/**
 * The service configured from `Config`s.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Wrap<Options>
): Layer.Layer<Webhooks, Config.ConfigError | BatchError.InvalidParamsError> =>
  Layer.effect(Webhooks, Effect.flatMap(Config.unwrap(options), make))

/**
 * The service with its secret from `OPENAI_WEBHOOK_SECRET`.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerFromEnv: Layer.Layer<Webhooks, Config.ConfigError | BatchError.InvalidParamsError> = layerConfig(
  { secret: secretConfig }
)

/**
 * Verifies a delivery with the `Webhooks` in context.
 *
 * @since 4.0.0
 * @category Verifying
 */
export const verify = (
  headers: HeadersInput,
  body: string | Uint8Array,
  options?: VerifyOptions
): Effect.Effect<
  void,
  BatchError.WebhookHeadersError | BatchError.WebhookTimestampError | BatchError.WebhookSignatureError,
  Webhooks
> => Effect.flatMap(Effect.service(Webhooks), (webhooks) => webhooks.verify(headers, body, options))

/**
 * Verifies a delivery and decodes its event, with the `Webhooks` in context: the plain function for any framework.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Webhooks } from "effect-openai-batch"
 *
 * const secret = Redacted.make("whsec_c2VjcmV0LWtleS1vZi10aGlzLWVuZHBvaW50")
 * const body = JSON.stringify({
 *   id: "evt_1",
 *   object: "event",
 *   created_at: 1_700_000_000,
 *   type: "batch.completed",
 *   data: { id: "batch_1" }
 * })
 *
 * const program = Effect.gen(function*() {
 *   // what OpenAI sends: here signed by Webhooks.sign; in a server, the request's headers and raw body
 *   const headers = yield* Webhooks.sign(secret, { id: "wh_1", body })
 *   const event = yield* Webhooks.unwrap(headers, body)
 *   const forged = yield* Effect.flip(Webhooks.unwrap(headers, body.replace("batch_1", "batch_2")))
 *   return { type: event.type, forged: forged._tag }
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(Webhooks.layer({ secret })))).then((result) => {
 *   assert.deepStrictEqual(result, { type: "batch.completed", forged: "WebhookSignatureError" })
 * })
 * ```
 *
 * @since 4.0.0
 * @category Verifying
 */
export const unwrap = (
  headers: HeadersInput,
  body: string | Uint8Array,
  options?: VerifyOptions
): Effect.Effect<BatchEvents.WebhookEvent, BatchError.WebhookError, Webhooks> =>
  Effect.flatMap(Effect.service(Webhooks), (webhooks) => webhooks.unwrap(headers, body, options))

/**
 * Signs a delivery as OpenAI does: the three Standard Webhooks headers for `body`, its `webhook-timestamp` Clock
 * now (unless given, in seconds), one `v1` signature per secret. For tests of your own endpoint, and for the
 * simulator's deliveries.
 *
 * @since 4.0.0
 * @category Signing
 */
export const sign = (
  secret: Redacted.Redacted<string> | ReadonlyArray<Redacted.Redacted<string>>,
  message: { readonly id: string; readonly body: string | Uint8Array; readonly timestamp?: number | undefined }
): Effect.Effect<
  { readonly "webhook-id": string; readonly "webhook-timestamp": string; readonly "webhook-signature": string },
  BatchError.InvalidParamsError
> =>
  Effect.gen(function*() {
    const timestamp = String(message.timestamp ?? Math.floor((yield* Clock.currentTimeMillis) / 1000))
    const content = Signature.signedContent(message.id, timestamp, message.body)
    const signatures: Array<string> = []
    for (const one of Redacted.isRedacted(secret) ? [secret] : secret) {
      const bytes = Signature.secretBytes(one)
      if (bytes === undefined) {
        return yield* Effect.fail(
          Params.invalid("Webhooks.sign", "must be whsec_ followed by the base64 of the key", "secret")
        )
      }
      const mac = yield* Signature.hmac(yield* Signature.importKey(bytes), content)
      signatures.push(`v1,${Signature.toBase64(mac)}`)
    }
    return { "webhook-id": message.id, "webhook-timestamp": timestamp, "webhook-signature": signatures.join(" ") }
  })

// ---------------------------------------------------------------------------------------------------------------
// The HTTP handler
// ---------------------------------------------------------------------------------------------------------------

/**
 * Options of `httpApp`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface AppOptions<E, R> {
  /**
   * Called with every new event (a repeated delivery of an event already taken is answered 200 and not passed
   * on), before the 200 is sent: keep it short (hand the event to a queue). If it fails, the delivery is answered
   * 500 and OpenAI sends it again later.
   */
  readonly onEvent?: ((event: BatchEvents.WebhookEvent) => Effect.Effect<void, E, R>) | undefined
}

const refuse = (status: number, error: { readonly _tag: string; readonly message: string }) =>
  HttpServerResponse.jsonUnsafe({ error: { type: error._tag, message: error.message } }, { status })

/**
 * The webhook endpoint as a handler: mount it on a route of your `HttpRouter` (or serve it alone). It reads the
 * raw body, verifies and decodes it with the `Webhooks` in context, publishes the event to `BatchEvents` (where
 * `BatchEvents.wakeups` and `awaitEvent` see it), calls `onEvent`, and answers `200`. A request that is not a
 * genuine, timely delivery is answered `400` with the error's tag and message (never a secret); one whose `onEvent`
 * failed, `500`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 * import { BatchEvents, Webhooks } from "effect-openai-batch"
 *
 * const Route = HttpRouter.add(
 *   "POST",
 *   "/openai/webhooks",
 *   Webhooks.httpApp({ onEvent: (event) => Effect.log(`${event.type} ${event.id}`) })
 * )
 * // serve the router with HttpServer (e.g. NodeHttpServer.layer); the handler's requirements:
 * const Handlers = Layer.mergeAll(Webhooks.layerFromEnv, BatchEvents.layer)
 * ```
 *
 * @since 4.0.0
 * @category HTTP
 */
export const httpApp = <E = never, R = never>(
  options: AppOptions<E, R> = {}
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  HttpServerRequest.HttpServerRequest | Webhooks | BatchEvents.BatchEvents | R
> =>
  Effect.gen(function*() {
    // Its timestamp is checked against when it arrived, not when its body was read.
    const receivedAt = yield* Clock.currentTimeMillis
    const request = yield* HttpServerRequest.HttpServerRequest
    const webhooks = yield* Webhooks
    const events = yield* BatchEvents.BatchEvents
    const body = yield* Effect.result(request.arrayBuffer)
    if (Result.isFailure(body)) return refuse(400, { _tag: "RequestError", message: "the body could not be read" })
    const unwrapped = yield* Effect.result(
      webhooks.unwrap(request.headers, new Uint8Array(body.success), { receivedAt })
    )
    if (Result.isFailure(unwrapped)) return refuse(400, unwrapped.failure)
    const event = unwrapped.success
    if (yield* events.has(event.id)) return HttpServerResponse.empty({ status: 200 })
    if (options.onEvent !== undefined) {
      const handled = yield* Effect.result(options.onEvent(event))
      if (Result.isFailure(handled)) {
        yield* Effect.logWarning(`effect-openai-batch: the webhook handler failed on ${event.id}; answering 500`)
        return refuse(500, { _tag: "HandlerError", message: "the event could not be handled; send it again" })
      }
    }
    yield* events.publish(event)
    return HttpServerResponse.empty({ status: 200 })
  })
