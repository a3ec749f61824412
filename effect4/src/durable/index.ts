/**
 * effect-openai-batch/durable: jobs that survive crashes, on `effect/workflow`. The engines live in their own
 * entry points (`effect-openai-batch/durable/SqliteEngine`, `effect-openai-batch/durable/PostgresEngine`) so that
 * importing this one loads no database driver.
 *
 * @since 4.0.0
 */
import type * as Layer from "effect/Layer"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"

/**
 * A job as a durable workflow.
 *
 * @since 4.0.0
 */
export * as DurableJob from "./DurableJob.js"

/**
 * Requests to stop durable jobs, kept beside the engine's tables (see `DurableJob.interrupt`).
 *
 * @since 4.0.0
 */
export * as JobInterrupts from "./JobInterrupts.js"

/**
 * The engine in memory: nothing survives the process. For tests (it runs under `TestClock`) and for trying a
 * durable job out before choosing an engine.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerMemory: Layer.Layer<WorkflowEngine.WorkflowEngine> = WorkflowEngine.layerMemory
