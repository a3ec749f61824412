/**
 * An accelerated `Clock`, for serving the simulator with hours of batch time passing in minutes of real time.
 *
 * The Effect 4 edition: a `Clock` is provided as the `Clock.Clock` reference (`Effect.provideService`), Effect 3's
 * `Effect.withClock`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Early from "./early.js"
import type { Simulator } from "./model.js"
import * as Outbox from "./outbox.js"

/**
 * A `Clock` running `speed` times faster than the real one from `origin` on (its time starts at the real time).
 * Sleeps are shortened by the same factor, so a client's polling keeps pace with the batches. At `speed` 1 it is
 * the real clock.
 *
 * @internal
 */
export const accelerated = (speed: number, origin: number = Date.now()): Clock.Clock => {
  const now = () => origin + (Date.now() - origin) * speed
  const nanos = () => BigInt(Math.floor(now() * 1_000_000))
  const monotonic = () => BigInt(Math.floor(performance.now() * speed * 1_000_000))
  return {
    currentTimeMillisUnsafe: now,
    currentTimeMillis: Effect.sync(now),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: monotonic,
    monotonicTimeNanos: Effect.sync(monotonic),
    sleep: (duration) =>
      Effect.callback<void>((resume) => {
        const timer = setTimeout(() => resume(Effect.void), Duration.toMillis(duration) / speed)
        return Effect.sync(() => clearTimeout(timer))
      })
  }
}

/** `effect` run on `clock`. @internal */
export const withClock = <A, E, R>(effect: Effect.Effect<A, E, R>, clock: Clock.Clock): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, Clock.Clock, clock)

/**
 * The same simulator with every handle that reads Clock run on `clock`: what a server with an accelerated clock
 * hands to tests, so that `server.simulator.batch(id)` sees the time its HTTP clients see.
 *
 * @internal
 */
export const simulatorOn = (simulator: Simulator, clock: Clock.Clock): Simulator => {
  const on = <A, E>(effect: Effect.Effect<A, E>) => withClock(effect, clock)
  const onClock: Simulator = {
    ...simulator,
    handle: (request) => on(simulator.handle(request)),
    scriptBatch: (batchId, script) => on(simulator.scriptBatch(batchId, script)),
    seed: (options) => on(simulator.seed(options)),
    batch: (batchId) => on(simulator.batch(batchId)),
    file: (fileId) => on(simulator.file(fileId)),
    putFile: (options) => on(simulator.putFile(options)),
    enqueued: (model) => on(simulator.enqueued(model)),
    upload: (uploadId) => on(simulator.upload(uploadId))
  }
  const early = Early.checkOf(simulator)
  if (early !== undefined) Early.register(onClock, (head) => on(early(head)))
  const outbox = Outbox.of(simulator)
  if (outbox !== undefined) Outbox.register(onClock, { drain: on(outbox.drain), changed: outbox.changed })
  return onClock
}
