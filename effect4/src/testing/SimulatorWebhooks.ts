/**
 * The simulator's webhooks: when a batch ends, a `batch.completed`, `batch.failed`, `batch.expired` or
 * `batch.cancelled` event is POSTed to your endpoint as OpenAI sends it (Standard Webhooks headers, signed with
 * the endpoint's secret, the attempt's own `webhook-timestamp`), and retried on a backoff until the endpoint answers
 * 2xx (72 hours at most, by default). On the simulator's Clock: under `TestClock` an event arrives at the virtual
 * instant its batch ends.
 *
 * - `layer({ url, secret })`: deliveries over the `HttpClient` you provide to it (a real endpoint; the simulator's
 *   HTTP server does this for you with its `webhooks` option).
 * - `layerToApp(app, { secret })`: deliveries straight into an `HttpApp` in the same process (no socket), e.g.
 *   `Webhooks.httpApp`, so a test sees the whole path: signature, verification, `BatchEvents`, waking waits.
 *
 * `failNext` makes the next attempts fail before they leave (as if the endpoint were unreachable): the event is
 * retried later under the same `webhook-id`. `events` and `deliveries` show what was sent.
 *
 * The Effect 4 edition: `layerToApp` takes an HTTP effect of `effect/http` (`Webhooks.httpApp()` is one), run
 * through `HttpEffect.toWebHandlerWith`; the services are `Context.Service`s.
 *
 * @since 4.0.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpEffect from "effect/http/HttpEffect"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import type * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as BatchApiSimulator from "./BatchApiSimulator.js"
import * as SimulatorClock from "./internal/clock.js"
import * as Deliverer from "./internal/webhooks.js"

/**
 * An event the simulator emitted when a batch ended.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Event {
  /** `evt_sim...`, the body's `id`. */
  readonly id: string
  readonly type: "batch.completed" | "batch.failed" | "batch.expired" | "batch.cancelled"
  readonly batchId: string
  /** When the batch ended, Unix seconds (the body's `created_at`). */
  readonly created_at: number
  /** The `webhook-id` of its deliveries: the same on every attempt. */
  readonly webhookId: string
}

/**
 * One delivery attempt.
 *
 * - `Delivered`: the endpoint answered 2xx.
 * - `Refused`: it answered another status (`status`); the event is sent again later.
 * - `Unreachable`: no answer (a transport failure, or no answer within `timeout`).
 * - `Injected`: failed by `failNext` before it left.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Delivery {
  readonly eventId: string
  readonly webhookId: string
  readonly type: Event["type"]
  readonly batchId: string
  /** 1 for the first attempt. */
  readonly attempt: number
  /** Clock time of the attempt, in milliseconds (its `webhook-timestamp`, in seconds). */
  readonly at: number
  readonly outcome: "Delivered" | "Refused" | "Unreachable" | "Injected"
  readonly status?: number
}

/**
 * @since 4.0.0
 * @category Models
 */
export interface Options {
  /** The endpoint's signing secret, `whsec_` + base64, as OpenAI shows it for an endpoint. */
  readonly secret: Redacted.Redacted<string>
  /** When a failed attempt is made again. Default `defaultRetry`. */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  /**
   * How long an attempt over HTTP may wait for its answer, in real time (the network's). Default 10 seconds. (An
   * app in the process is waited for: its answer may take real time, Web Crypto's, while a TestClock moves on.)
   */
  readonly timeout?: Duration.Input | undefined
  /**
   * The clock of each attempt's `webhook-timestamp`, which the endpoint checks against its own (300 s either way):
   * `"simulator"` (the default: the `Clock` of the deliveries, e.g. a test's `TestClock`, the same as an endpoint's
   * in the same test) or `"real"` (the wall clock: an endpoint in another process, when the simulator runs on an
   * accelerated clock).
   */
  readonly timestamps?: "simulator" | "real" | undefined
}

/**
 * The deliveries' handles.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Service {
  /** Every event emitted so far, in the order the batches ended. */
  readonly events: Effect.Effect<ReadonlyArray<Event>>
  /**
   * Every attempt so far, oldest first. An attempt still waiting for its answer is waited for (an app in the
   * process answers after Web Crypto's real time, which a TestClock does not wait for).
   */
  readonly deliveries: Effect.Effect<ReadonlyArray<Delivery>>
  /**
   * The next `times` (default 1) attempts (of events that `match`, default all) fail before they leave, as if the
   * endpoint were unreachable; each is retried on the schedule.
   */
  readonly failNext: (
    times?: number,
    options?: { readonly match?: ((event: Event) => boolean) | undefined }
  ) => Effect.Effect<void>
}

/**
 * @since 4.0.0
 * @category Context
 */
export class SimulatorWebhooks
  extends Context.Service<SimulatorWebhooks, Service>()("effect-openai-batch/testing/SimulatorWebhooks")
{}

/**
 * OpenAI's retry policy for failed deliveries: exponential from 5 seconds, at most an hour apart, for up to 72
 * hours.
 *
 * @since 4.0.0
 * @category Schedules
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Deliverer.defaultRetry

/**
 * The default timeout of an attempt.
 *
 * @since 4.0.0
 * @category Constants
 */
export const defaultTimeout: Duration.Input = "10 seconds"

const config = (options: Options, url: string, send: Deliverer.Send): Deliverer.Config => ({
  secret: options.secret,
  url,
  retry: options.retry ?? defaultRetry,
  timestamps: options.timestamps ?? "simulator",
  send
})

/** The network is real: an attempt's timeout runs on the wall clock, whatever clock the deliveries run on. */
const realClock = SimulatorClock.accelerated(1)

/**
 * Delivers the events of the `BatchApiSimulator` in context to `url`, with the `HttpClient` provided to this layer
 * (provide a real one, e.g. `FetchHttpClient.layer`: the simulator's own client only reaches the simulator).
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer = (
  options: Options & { readonly url: string }
): Layer.Layer<SimulatorWebhooks, never, BatchApiSimulator.BatchApiSimulator | HttpClient.HttpClient> =>
  Layer.effect(
    SimulatorWebhooks,
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const client = yield* HttpClient.HttpClient
      return yield* Deliverer.start(
        simulator,
        config(options, options.url, (request) =>
          Effect.scoped(Effect.flatMap(
            client.execute(
              HttpClientRequest.post(request.url, { headers: request.headers }).pipe(
                HttpClientRequest.bodyText(request.body, "application/json")
              )
            ),
            (response) => Effect.as(Effect.ignore(response.text), response.status)
          )).pipe(
            Effect.timeout(options.timeout ?? defaultTimeout),
            (effect) => SimulatorClock.withClock(effect, realClock)
          ))
      )
    })
  )

/**
 * Delivers the events of the `BatchApiSimulator` in context straight into `app`, in this process: each attempt
 * is a web `Request` to `url` (default `http://localhost/webhooks`) run through the app, its answer's status the
 * outcome. Give it `Webhooks.httpApp(...)` and provide `Webhooks` and `BatchEvents` to this layer.
 *
 * @example
 * ```ts
 * import { Effect, Fiber, Layer, Redacted } from "effect"
 * import { TestClock } from "effect/testing"
 * import { BatchApi, BatchEvents, Webhooks } from "effect-openai-batch"
 * import { BatchApiSimulator, SimulatorWebhooks } from "effect-openai-batch/testing"
 *
 * const secret = Redacted.make("whsec_c2VjcmV0LWtleS1vZi10aGlzLWVuZHBvaW50")
 * const TestLive = SimulatorWebhooks.layerToApp(Webhooks.httpApp(), { secret }).pipe(
 *   Layer.provideMerge(Layer.mergeAll(Webhooks.layer({ secret }), BatchEvents.layer)),
 *   Layer.provideMerge(BatchApiSimulator.layerBatchApi({ requireInputFile: false }))
 * )
 *
 * const program = Effect.gen(function*() {
 *   const batch = yield* BatchApi.createBatch({
 *     input_file_id: "file-any",
 *     endpoint: "/v1/embeddings",
 *     completion_window: "24h"
 *   })
 *   const event = yield* Effect.forkChild(BatchEvents.awaitEvent(batch.id))
 *   yield* TestClock.adjust("10 minutes") // the default lifecycle takes 6 minutes
 *   return (yield* Fiber.join(event)).type // "batch.completed"
 * }).pipe(Effect.provide(TestLive))
 * ```
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerToApp = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest | Scope.Scope>,
  options: Options & { readonly url?: string | undefined }
): Layer.Layer<SimulatorWebhooks, never, BatchApiSimulator.BatchApiSimulator | R> =>
  Layer.effect(
    SimulatorWebhooks,
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.BatchApiSimulator
      const handler = HttpEffect.toWebHandlerWith<
        R,
        R | HttpServerRequest.HttpServerRequest | Scope.Scope,
        never
      >(yield* Effect.context<R>())(app)
      return yield* Deliverer.start(
        simulator,
        config(options, options.url ?? "http://localhost/webhooks", (request) =>
          Effect.map(
            Effect.promise(() =>
              handler(new Request(request.url, { method: "POST", headers: request.headers, body: request.body }))
            ),
            (response) => response.status
          ))
      )
    })
  )
