/**
 * Test layers for effect-openai-batch on Effect 4 (`effect-openai-batch/testing`). The HTTP server for the simulator
 * has its own subpath, `effect-openai-batch/testing/server`, because it needs `@effect/platform-node`; the
 * `effect-openai-batch-simulator` command serves it.
 *
 * @since 4.0.0
 */

/**
 * An in-memory, stateful simulation of the Batch and Files APIs that plugs in as the `HttpClient`.
 *
 * @since 4.0.0
 */
export * as BatchApiSimulator from "./BatchApiSimulator.js"

/**
 * An in-memory `FileSystem` and `Path`, for testing jobs under `TestClock`.
 *
 * @since 4.0.0
 */
export * as MemoryFileSystem from "./MemoryFileSystem.js"

/**
 * A `TestClock` that moves as fast as the work it wakes, and waits for it: a simulated day of polling in a second.
 *
 * @since 4.0.0
 */
export * as FastTestClock from "./FastTestClock.js"

/**
 * A `BatchApi` built from plain handler functions.
 *
 * @since 4.0.0
 */
export * as BatchApiTest from "./BatchApiTest.js"

/**
 * The simulator's webhooks: signed batch events delivered to an endpoint (or an HTTP effect in the process), retried.
 *
 * @since 4.0.0
 */
export * as SimulatorWebhooks from "./SimulatorWebhooks.js"
