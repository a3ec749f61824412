/**
 * OpenAI's webhook events, and their feed in a process. The events: `batch.completed`, `batch.failed`,
 * `batch.expired`, `batch.cancelled` as a Schema union, where an event of any other type is kept as an
 * `UnknownEvent` rather than refused. The feed: `Webhooks.httpApp` publishes every verified event here, and waits
 * read it. `wakeups(batchId)` is a `Stream<void>` that ticks when an event about the batch arrives (at once if one
 * already has): merge it with a poll schedule and a wait ends moments after the batch does, while a slow poll stays
 * as the safety net for a delivery that never comes. `awaitEvent(batchId)` waits for the batch's event itself.
 *
 * Events are kept as OpenAI delivers them: at least once, possibly out of order. `publish` drops a repeated event
 * id; the last event of each batch is kept (`latest`), for the most recent 10,000 batches.
 *
 * The Effect 4 edition: the feed and the events as in the Effect 3 edition; `BatchEvents` is a `Context.Service`.
 * The webhook endpoint that publishes to it (`Webhooks`) is not ported yet: publish events yourself (`publish`).
 *
 * @since 4.0.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { optional } from "./internal/nullable.js"

// ---------------------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------------------

const eventFields = {
  /** The event's id (`evt_...`): the same on every delivery of it. */
  id: Schema.String,
  /** `"event"`, when sent. */
  object: optional(Schema.String),
  /** When it happened (the batch ended), Unix seconds. */
  created_at: Schema.Number
}

const batchData = Schema.Struct({
  /** The batch's id. */
  id: Schema.String
})

/**
 * `batch.completed`: the batch completed; its results are ready.
 *
 * @since 4.0.0
 * @category Events
 */
export class BatchCompletedEvent extends Schema.Class<BatchCompletedEvent>("effect-openai-batch/BatchCompletedEvent")({
  ...eventFields,
  type: Schema.Literal("batch.completed"),
  data: batchData
}) {}

/**
 * `batch.failed`: the batch failed (its `errors` say why: retrieve it).
 *
 * @since 4.0.0
 * @category Events
 */
export class BatchFailedEvent extends Schema.Class<BatchFailedEvent>("effect-openai-batch/BatchFailedEvent")({
  ...eventFields,
  type: Schema.Literal("batch.failed"),
  data: batchData
}) {}

/**
 * `batch.expired`: the batch did not finish in its window (it may hold partial results).
 *
 * @since 4.0.0
 * @category Events
 */
export class BatchExpiredEvent extends Schema.Class<BatchExpiredEvent>("effect-openai-batch/BatchExpiredEvent")({
  ...eventFields,
  type: Schema.Literal("batch.expired"),
  data: batchData
}) {}

/**
 * `batch.cancelled`: the batch's cancel finished (it may hold partial results).
 *
 * @since 4.0.0
 * @category Events
 */
export class BatchCancelledEvent extends Schema.Class<BatchCancelledEvent>("effect-openai-batch/BatchCancelledEvent")({
  ...eventFields,
  type: Schema.Literal("batch.cancelled"),
  data: batchData
}) {}

/**
 * The batch event types.
 *
 * @since 4.0.0
 * @category Events
 */
export const batchEventTypes = ["batch.completed", "batch.failed", "batch.expired", "batch.cancelled"] as const

const batchTypes: ReadonlySet<string> = new Set(batchEventTypes)

/**
 * An event of another type (`response.completed`, `eval.run.succeeded`, a type added later, ...): kept, with its
 * `data` undecoded, so that an endpoint subscribed to more than batches does not refuse it.
 *
 * @since 4.0.0
 * @category Events
 */
export class UnknownEvent extends Schema.Class<UnknownEvent>("effect-openai-batch/UnknownEvent")({
  ...eventFields,
  type: Schema.String.check(Schema.makeFilter((type) => !batchTypes.has(type) || `a batch event of its own shape`)),
  data: optional(Schema.Unknown)
}) {}

/**
 * One of the four batch events.
 *
 * @since 4.0.0
 * @category Events
 */
export type BatchEvent = BatchCompletedEvent | BatchFailedEvent | BatchExpiredEvent | BatchCancelledEvent

/**
 * Any event: a batch event, or another kept as `UnknownEvent`.
 *
 * @since 4.0.0
 * @category Events
 */
export const WebhookEvent = Schema.Union([
  BatchCompletedEvent,
  BatchFailedEvent,
  BatchExpiredEvent,
  BatchCancelledEvent,
  UnknownEvent
])

/**
 * @since 4.0.0
 * @category Events
 */
export type WebhookEvent = typeof WebhookEvent.Type

/**
 * True for the four batch events.
 *
 * @since 4.0.0
 * @category Events
 */
export const isBatchEvent = (event: WebhookEvent): event is BatchEvent => batchTypes.has(event.type)

/**
 * The feed.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Service {
  /** Adds an event; `false` (and nothing published) when its id was seen already. */
  readonly publish: (event: WebhookEvent) => Effect.Effect<boolean>
  /** Whether an event with this id was published (among the most recent 10,000). */
  readonly has: (eventId: string) => Effect.Effect<boolean>
  /** Subscribes: the stream holds every event published after this effect ran, until the scope closes. */
  readonly subscribe: Effect.Effect<Stream.Stream<WebhookEvent>, never, Scope.Scope>
  /** The last batch event about `batchId`, if one arrived. */
  readonly latest: (batchId: string) => Effect.Effect<Option.Option<BatchEvent>>
  /** A tick whenever a batch event about `batchId` arrives; one at once if one arrived before the stream ran. */
  readonly wakeups: (batchId: string) => Stream.Stream<void>
  /** The first batch event about `batchId` (at once if one arrived already). */
  readonly awaitEvent: (batchId: string) => Effect.Effect<BatchEvent>
}

/**
 * @since 4.0.0
 * @category Context
 */
export class BatchEvents extends Context.Service<BatchEvents, Service>()("effect-openai-batch/BatchEvents") {}

/** How many event ids (for duplicates) and batches (for `latest`) are remembered. */
const remembered = 10_000

/** Sets `key` as the newest entry, dropping the oldest past `remembered`. */
const remember = <V>(map: Map<string, V>, key: string, value: V) => {
  map.delete(key)
  map.set(key, value)
  if (map.size > remembered) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
}

/**
 * An empty feed.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make: Effect.Effect<Service> = Effect.gen(function*() {
  const pubsub = yield* PubSub.unbounded<WebhookEvent>()
  const seen = new Map<string, true>()
  const last = new Map<string, BatchEvent>()

  const publish = (event: WebhookEvent) =>
    Effect.suspend(() => {
      if (seen.has(event.id)) return Effect.succeed(false)
      remember(seen, event.id, true)
      // Recorded before it is published: a subscriber that checks `last` after subscribing misses nothing.
      if (isBatchEvent(event)) remember(last, event.data.id, event)
      return Effect.as(PubSub.publish(pubsub, event), true)
    })

  const about = (batchId: string) => (event: WebhookEvent): event is BatchEvent =>
    isBatchEvent(event) && event.data.id === batchId

  /** A subscription, then what had arrived before it: nothing in between is missed. */
  const subscribe = (batchId: string) =>
    Effect.map(PubSub.subscribe(pubsub), (queue) => ({ queue, before: Option.fromNullishOr(last.get(batchId)) }))

  const wakeups = (batchId: string) =>
    Stream.unwrap(Effect.map(subscribe(batchId), ({ before, queue }) =>
      Stream.concat(
        Option.isSome(before) ? Stream.succeed(undefined) : Stream.empty,
        Stream.fromSubscription(queue).pipe(Stream.filter(about(batchId)), Stream.as(undefined))
      )))

  const awaitEvent = (batchId: string) =>
    Effect.scoped(Effect.flatMap(subscribe(batchId), ({ before, queue }) => {
      if (Option.isSome(before)) return Effect.succeed(before.value)
      const next: Effect.Effect<BatchEvent> = Effect.flatMap(
        PubSub.take(queue),
        (event) => about(batchId)(event) ? Effect.succeed(event) : next
      )
      return next
    }))

  return {
    publish,
    has: (eventId) => Effect.sync(() => seen.has(eventId)),
    subscribe: Effect.map(PubSub.subscribe(pubsub), Stream.fromSubscription),
    latest: (batchId) => Effect.sync(() => Option.fromNullishOr(last.get(batchId))),
    wakeups,
    awaitEvent
  } satisfies Service
})

/**
 * An empty feed for the layer's lifetime: provide the same layer to the webhook endpoint and to the waits.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer: Layer.Layer<BatchEvents> = Layer.effect(BatchEvents, make)

/**
 * Ticks of `BatchEvents.wakeups` with the feed in context.
 *
 * @example
 * ```ts
 * import { Effect, Fiber, Stream } from "effect"
 * import { BatchEvents } from "effect-openai-batch"
 *
 * const program = Effect.gen(function*() {
 *   const events = yield* BatchEvents.BatchEvents
 *   const woken = yield* Effect.forkChild(BatchEvents.wakeups("batch_1").pipe(Stream.take(1), Stream.runDrain))
 *   yield* Effect.yieldNow
 *   yield* events.publish(
 *     new BatchEvents.BatchCompletedEvent({ id: "evt_1", created_at: 1, type: "batch.completed", data: { id: "batch_1" } })
 *   )
 *   yield* Fiber.join(woken)
 *   return yield* events.latest("batch_1")
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(BatchEvents.layer))).then((latest) => {
 *   assert.strictEqual(latest._tag, "Some")
 * })
 * ```
 *
 * @since 4.0.0
 * @category Waiting
 */
export const wakeups = (batchId: string): Stream.Stream<void, never, BatchEvents> =>
  Stream.unwrap(Effect.map(Effect.service(BatchEvents), (events) => events.wakeups(batchId)))

/**
 * `BatchEvents.awaitEvent` with the feed in context: the batch's first event.
 *
 * @since 4.0.0
 * @category Waiting
 */
export const awaitEvent = (batchId: string): Effect.Effect<BatchEvent, never, BatchEvents> =>
  Effect.flatMap(Effect.service(BatchEvents), (events) => events.awaitEvent(batchId))

/**
 * `wakeups(batchId)` when a `BatchEvents` feed is in context, else a stream that never ticks: what a wait merges
 * with its poll schedule so that it works the same with and without webhooks.
 *
 * @since 4.0.0
 * @category Waiting
 */
export const wakeupsIfAny = (batchId: string): Stream.Stream<void> =>
  Stream.unwrap(Effect.map(
    Effect.serviceOption(BatchEvents),
    Option.match({ onNone: () => Stream.never, onSome: (events) => events.wakeups(batchId) })
  ))
