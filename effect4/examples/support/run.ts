/**
 * How every example of the Effect 4 edition runs: on the embedded Batch API simulator by default (no key, no
 * network; batch time runs `speed` times faster than real time), or against the real API with `--live` and
 * OPENAI_API_KEY set. The root's examples/support/run.ts on Effect 4: `NodeServices.layer` is Effect 3's
 * `NodeContext.layer`, and a `Clock` is provided as the `Clock.Clock` reference (Effect 3's `Effect.withClock`).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Clock, Effect, Layer } from "effect"
import { BatchClient } from "effect-openai-batch"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import * as UndiciTransport from "effect-openai-batch/transport/UndiciTransport"

/** True when the example should talk to the real API. */
export const isLive = process.argv.includes("--live")

/** The value after `--name` on the command line. */
export const argument = (name: string): string | undefined => {
  const index = process.argv.indexOf(`--${name}`)
  return index === -1 ? undefined : process.argv[index + 1]
}

/** The client services over undici, configured from OPENAI_API_KEY and friends. */
export const liveLayer = BatchClient.layerFromEnv.pipe(Layer.provide(UndiciTransport.layer))

/** One simulated minute per 100 real milliseconds. */
export const speed = 600

/** Options of `run`. */
export interface RunOptions {
  /** Simulator options (ignored with --live). Input file ids are accepted without an upload by default. */
  readonly simulator?: BatchApiSimulator.Options
  /** Prepares the simulator (seeding batches, say); skipped with --live. */
  readonly setup?: Effect.Effect<void, never, BatchApiSimulator.BatchApiSimulator>
}

/**
 * Runs an example with the live layer, or on the simulator with an accelerated clock (so the simulator's batches
 * and the library's polling sleeps both run fast).
 */
export const run = <A, E>(
  program: Effect.Effect<A, E, BatchClient.Services | NodeServices.NodeServices>,
  options: RunOptions = {}
): void => {
  const main = isLive
    ? Effect.provide(program, Layer.merge(liveLayer, NodeServices.layer))
    : Effect.andThen(options.setup ?? Effect.void, program).pipe(
      Effect.provide(
        Layer.merge(
          BatchApiSimulator.layerBatchApi({ requireInputFile: false, ...options.simulator }),
          NodeServices.layer
        )
      ),
      Effect.provideService(Clock.Clock, BatchApiSimulator.acceleratedClock(speed))
    )
  NodeRuntime.runMain(main)
}
