/**
 * The simulator's webhook deliveries, as OpenAI makes them: when a batch ends (completed, failed, expired,
 * cancelled), a `batch.*` event is POSTed to the endpoint, signed the Standard Webhooks way with the endpoint's
 * secret, with the `webhook-timestamp` of the attempt; anything but a 2xx in time is retried on a backoff (up to 72
 * hours by default) under the same `webhook-id`. Tests can make the next attempts fail before they leave.
 *
 * One fiber follows the simulator's next instant (sleeping on Clock until a batch may end, woken early when a
 * change brings that instant forward); each event is delivered by a fiber of its own, so that a failing endpoint
 * holds back no other event. All of it runs on Clock: under TestClock, on the test's time.
 *
 * The Effect 4 edition: the same, with Effect 4's names (`Effect.result`, `Schedule.min` for Effect 3's `union`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Signature from "../../internal/webhooks/signature.js"
import type { Delivery, Event, Service } from "../SimulatorWebhooks.js"
import type { Simulator } from "./model.js"
import * as Outbox from "./outbox.js"
import { hmacSha256 } from "./sha256.js"
import { seconds } from "./state.js"

/** One delivery attempt as it leaves the simulator. @internal */
export interface Outgoing {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Sends an attempt and answers with the status it got. @internal */
export type Send = (request: Outgoing) => Effect.Effect<number, unknown>

/** @internal */
export interface Config {
  readonly secret: Redacted.Redacted<string>
  readonly url: string
  readonly retry: Schedule.Schedule<unknown, unknown>
  /** The clock of `webhook-timestamp`: the simulator's (`Clock`), or the real one. */
  readonly timestamps: "simulator" | "real"
  readonly send: Send
}

/** OpenAI's: exponential from 5 seconds, at most an hour apart, for up to 72 hours. @internal */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.min([
  Schedule.exponential("5 seconds"),
  Schedule.spaced("1 hour")
]).pipe(Schedule.upTo({ duration: "72 hours" }))

/** The header OpenAI's deliveries carry. @internal */
export const userAgent = "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"

interface Injected {
  remaining: number
  readonly match: ((event: Event) => boolean) | undefined
}

/**
 * Starts delivering the simulator's events; they stop when the scope closes.
 *
 * @internal
 */
export const start = (simulator: Simulator, config: Config): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const outbox = Outbox.of(simulator)
    if (outbox === undefined) return yield* Effect.die(new Error("this simulator cannot deliver webhooks"))
    const key = Signature.secretBytes(config.secret)
    if (key === undefined) return yield* Effect.die(new Error("the webhook secret must be whsec_ followed by base64"))
    const events: Array<Event> = []
    const log: Array<Delivery> = []
    const injected: Array<Injected> = []
    const inFlight = new Set<Deferred.Deferred<void>>()
    const takeInjected = (event: Event) => {
      const index = injected.findIndex((fault) => fault.match === undefined || fault.match(event))
      const fault = injected[index]
      if (fault === undefined) return false
      if (--fault.remaining <= 0) injected.splice(index, 1)
      return true
    }

    const deliver = (event: Event) => {
      const body = JSON.stringify({
        id: event.id,
        object: "event",
        created_at: event.created_at,
        type: event.type,
        data: { id: event.batchId }
      })
      let attempt = 0
      const once = Effect.gen(function*() {
        attempt++
        const at = yield* Clock.currentTimeMillis
        const entry = { eventId: event.id, webhookId: event.webhookId, type: event.type, batchId: event.batchId, at }
        if (takeInjected(event)) {
          log.push({ ...entry, attempt, outcome: "Injected" })
          return yield* Effect.fail("injected")
        }
        const timestamp = String(seconds(config.timestamps === "real" ? Date.now() : at))
        const mac = hmacSha256(key, Signature.signedContent(event.webhookId, timestamp, body))
        const headers = {
          "webhook-id": event.webhookId,
          "webhook-timestamp": timestamp,
          "webhook-signature": `v1,${Signature.toBase64(mac)}`,
          "content-type": "application/json",
          "user-agent": userAgent
        }
        // Counted in flight until its outcome is logged: `deliveries` waits for it.
        const done = yield* Deferred.make<void>()
        inFlight.add(done)
        const settle = Effect.suspend(() => {
          inFlight.delete(done)
          return Deferred.succeed(done, undefined)
        })
        return yield* Effect.gen(function*() {
          const sent = yield* Effect.result(config.send({ url: config.url, headers, body }))
          if (Result.isFailure(sent)) {
            log.push({ ...entry, attempt, outcome: "Unreachable" })
            return yield* Effect.fail("unreachable")
          }
          const status = sent.success
          const delivered = status >= 200 && status < 300
          log.push({ ...entry, attempt, outcome: delivered ? "Delivered" : "Refused", status })
          if (!delivered) return yield* Effect.fail("refused")
        }).pipe(Effect.ensuring(settle))
      })
      return Effect.ignore(Effect.retry(once, config.retry))
    }

    const deliveries = yield* FiberSet.make()
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const { events: ended, nextAt } = yield* outbox.drain
      for (const ending of ended) {
        const event: Event = {
          id: ending.id,
          type: ending.type,
          batchId: ending.batchId,
          created_at: seconds(ending.endedAtMs),
          webhookId: `wh_${ending.id.slice("evt_".length)}`
        }
        events.push(event)
        yield* FiberSet.run(deliveries, deliver(event))
      }
      const now = yield* Clock.currentTimeMillis
      const sleep = Number.isFinite(nextAt) ? Effect.sleep(Duration.millis(Math.max(1, nextAt - now))) : Effect.never
      yield* Effect.raceFirst(sleep, outbox.changed)
    })))

    return {
      events: Effect.sync(() => events.slice()),
      // An attempt in flight (an app in the process may answer after real time passes) is waited for.
      deliveries: Effect.flatMap(
        Effect.suspend(() => Effect.forEach([...inFlight], Deferred.await, { discard: true })),
        () => Effect.sync(() => log.slice())
      ),
      failNext: (times = 1, options = {}) =>
        Effect.sync(() => {
          injected.push({ remaining: Math.max(1, times), match: options.match })
        })
    } satisfies Service
  })
