/**
 * A `BatchApi` built from plain functions, for unit tests of code that calls the service but does not care about
 * HTTP. An operation without a handler dies with a message naming the handler to add: reaching it is a bug in the
 * test, not an error the code under test should handle (a typed error could be swallowed by the very
 * `catchTag` being tested). The derived operations (`streamBatches`,
 * `awaitBatch`, `cancelBatchAndWait`, ...) work on it, since they only use the service's primitives.
 *
 * For tests that should exercise the real HTTP pipeline, use `BatchApiSimulator.layerBatchApi` instead.
 *
 * The Effect 4 edition: a missing handler dies with an `Error` carrying the message (Effect 4 has no
 * `Effect.dieMessage`).
 *
 * @since 4.0.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Batch from "../Batch.js"
import * as BatchApi from "../BatchApi.js"

/**
 * The operations a test supplies. `pollBatch` defaults to `retrieveBatch` without a pacing hint.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Handlers {
  readonly createBatch?: BatchApi.Service["createBatch"]
  readonly retrieveBatch?: BatchApi.Service["retrieveBatch"]
  readonly listBatches?: BatchApi.Service["listBatches"]
  readonly cancelBatch?: BatchApi.Service["cancelBatch"]
  readonly pollBatch?: BatchApi.Service["pollBatch"]
}

const missing = (operation: keyof Handlers) =>
  Effect.die(
    new Error(`BatchApiTest: no handler for ${operation}; pass one to BatchApiTest.layer({ ${operation}: ... })`)
  )

/**
 * Builds the service from handlers.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make = (handlers: Handlers): BatchApi.Service => {
  const retrieveBatch = handlers.retrieveBatch
  return {
    createBatch: handlers.createBatch ?? (() => missing("createBatch")),
    retrieveBatch: retrieveBatch ?? (() => missing("retrieveBatch")),
    listBatches: handlers.listBatches ?? (() => missing("listBatches")),
    cancelBatch: handlers.cancelBatch ?? (() => missing("cancelBatch")),
    pollBatch: handlers.pollBatch ??
      (retrieveBatch === undefined
        ? () => missing("pollBatch")
        : (batchId) =>
          Effect.map(
            retrieveBatch(batchId),
            (batch): BatchApi.PollResult => ({ batch, pollAfter: Option.none() })
          ))
  }
}

/**
 * A `BatchApi` layer from handlers.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchApi, BatchWait } from "effect-openai-batch"
 * import { BatchApiTest } from "effect-openai-batch/testing"
 *
 * // waits and streams run unchanged on a BatchApi made of plain functions
 * const batch = BatchApiTest.batch({ id: "batch_1", status: "completed" })
 * const TestApi = BatchApiTest.layer({ retrieveBatch: () => Effect.succeed(batch) })
 *
 * const done = BatchWait.awaitBatch("batch_1").pipe(Effect.provide(TestApi)) // completed at once
 * ```
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer = (handlers: Handlers): Layer.Layer<BatchApi.BatchApi> =>
  Layer.sync(BatchApi.BatchApi, () => make(handlers))

/**
 * The fields of a `Batch`, for `batch`.
 *
 * @since 4.0.0
 * @category Models
 */
export type BatchFields = Batch.Batch

/**
 * A valid `Batch` for handlers to return: a `validating` chat-completions batch created at 0, with `fields` on
 * top.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const batch = (fields: Partial<BatchFields> = {}): Batch.Batch => ({
  id: "batch_test",
  object: "batch",
  endpoint: "/v1/chat/completions",
  input_file_id: "file-test",
  completion_window: "24h",
  status: "validating",
  created_at: 0,
  expires_at: 86_400,
  ...fields
})
