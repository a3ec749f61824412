/**
 * Test layers for effect-openai-batch (`effect-openai-batch/testing`). The HTTP server for the simulator has its
 * own subpath, `effect-openai-batch/testing/server`, because it needs `@effect/platform-node`.
 *
 * @since 0.1.0
 */

/**
 * An in-memory, stateful simulation of the Batch and Files APIs that plugs in as the `HttpClient`.
 *
 * @since 0.1.0
 */
export * as BatchApiSimulator from "./BatchApiSimulator.js"

/**
 * The simulator's webhooks: signed batch events delivered to an endpoint (or an HttpApp in the process), retried.
 *
 * @since 0.3.0
 */
export * as SimulatorWebhooks from "./SimulatorWebhooks.js"

/**
 * A `TestClock` that moves as fast as the work it wakes: a simulated day of polling in under a second.
 *
 * @since 0.3.0
 */
export * as FastTestClock from "./FastTestClock.js"

/**
 * A `BatchApi` built from plain handler functions.
 *
 * @since 0.1.0
 */
export * as BatchApiTest from "./BatchApiTest.js"

/**
 * An in-memory `FileSystem` and `Path`, for testing jobs under `TestClock`.
 *
 * @since 0.2.0
 */
export * as MemoryFileSystem from "./MemoryFileSystem.js"
