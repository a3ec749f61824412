/**
 * A layer built once for the tests of a `describe` block, and closed after them, on the live services: what
 * `@effect/vitest`'s `layer(...)` does, without its side effect. That `layer` assigns its `effect` and `scoped`
 * onto the module-wide `it` object, so with `isolate: false` (one process running many test files) every later file's
 * `it.effect` would run on that layer's runtime instead of the TestClock environment. The suite runs with
 * `isolate: false` (vitest.config.ts): each file then does not pay for loading effect and the library again.
 */
import { afterAll, beforeAll, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Scope } from "effect"

/** The tests' runner over a layer shared by the block that calls it. */
export interface Shared<ROut> {
  readonly effect: <A, E>(
    name: string,
    self: () => Effect.Effect<A, E, ROut>,
    timeout?: number
  ) => void
  readonly scoped: <A, E>(
    name: string,
    self: () => Effect.Effect<A, E, ROut | Scope.Scope>,
    timeout?: number
  ) => void
}

/** Call inside a `describe` block: the layer is built before its first test and closed after its last. */
export const make = <ROut, E>(
  layer: Layer.Layer<ROut, E>,
  options: { readonly timeout: Duration.DurationInput }
): Shared<ROut> => {
  const timeout = Duration.toMillis(options.timeout)
  const memoMap = Effect.runSync(Layer.makeMemoMap)
  const scope = Effect.runSync(Scope.make())
  const runtime = Layer.toRuntimeWithMemoMap(layer, memoMap).pipe(
    Scope.extend(scope),
    Effect.orDie,
    Effect.cached,
    Effect.runSync
  )
  beforeAll(() => Effect.runPromise(Effect.asVoid(runtime)), timeout)
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)), timeout)
  return {
    effect: (name, self, testTimeout) =>
      it.live(name, () => Effect.flatMap(runtime, (rt) => Effect.provide(self(), rt)), testTimeout),
    scoped: (name, self, testTimeout) =>
      it.scopedLive(name, () => Effect.flatMap(runtime, (rt) => Effect.provide(self(), rt)), testTimeout)
  }
}
