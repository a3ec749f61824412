/**
 * effect-openai-batch: the OpenAI Batch API for Effect 3.
 *
 * @since 0.1.0
 */

/**
 * The Batch API wire model.
 *
 * @since 0.1.0
 */
export * as Batch from "./Batch.js"

/**
 * Every error the library can fail with.
 *
 * @since 0.1.0
 */
export * as BatchError from "./BatchError.js"

/**
 * Connection settings.
 *
 * @since 0.1.0
 */
export * as OpenAiConfig from "./OpenAiConfig.js"

/**
 * Retry, poll and cancel-window schedules.
 *
 * @since 0.1.0
 */
export * as BatchSchedule from "./BatchSchedule.js"

/**
 * The service and its operations.
 *
 * @since 0.1.0
 */
export * as BatchApi from "./BatchApi.js"
