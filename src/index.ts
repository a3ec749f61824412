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

/**
 * Waiting for a batch: until it ends, until it completes, through the cancel window; progress as a stream.
 *
 * @since 0.2.0
 */
export * as BatchWait from "./BatchWait.js"

/**
 * The lines of batch files: request inputs and typed results.
 *
 * @since 0.1.0
 */
export * as BatchLine from "./BatchLine.js"

/**
 * The Files API operations a batch needs (streamed upload and download).
 *
 * @since 0.1.0
 */
export * as OpenAiFiles from "./OpenAiFiles.js"

/**
 * The Uploads API: a file of up to 8 GB in parts of up to 64 MB, and any Stream of bytes uploaded in parts.
 *
 * @since 0.3.0
 */
export * as OpenAiUploads from "./OpenAiUploads.js"

/**
 * OpenAI's webhooks: Standard Webhooks signatures verified, batch events decoded, an HTTP endpoint.
 *
 * @since 0.3.0
 */
export * as Webhooks from "./Webhooks.js"

/**
 * OpenAI's webhook events (batch events typed, others kept) and the feed a process received them into: what
 * waits wake up on.
 *
 * @since 0.3.0
 */
export * as BatchEvents from "./BatchEvents.js"

/**
 * Building, checking and uploading a batch input file.
 *
 * @since 0.1.0
 */
export * as BatchInput from "./BatchInput.js"

/**
 * A batch's results, streamed, decoded and joined by custom_id.
 *
 * @since 0.1.0
 */
export * as BatchResults from "./BatchResults.js"

/**
 * The model's answer in a result line, decoded against your own Schema: a typed value, or a typed failure per line
 * naming the line and the field.
 *
 * @since 0.3.0
 */
export * as StructuredOutput from "./StructuredOutput.js"

/**
 * The layers that provide the batch operations, files and the shared enqueued-limit ledger together.
 *
 * @since 0.3.0
 */
export * as BatchClient from "./BatchClient.js"

/**
 * A job's requests split into parts, one batch each: deterministic, streamed, checked line by line.
 *
 * @since 0.2.0
 */
export * as JobPlan from "./JobPlan.js"

/**
 * Admission under the per-model enqueued token and request limits: budgets and the ledger jobs share.
 *
 * @since 0.2.0
 */
export * as JobBudget from "./JobBudget.js"

/**
 * A request's tokens, estimated before it is sent (what the enqueued-token limit counts), conservatively.
 *
 * @since 0.3.0
 */
export * as TokenEstimate from "./TokenEstimate.js"

/**
 * Where a job's results go, as each part ends.
 *
 * @since 0.2.0
 */
export * as JobSink from "./JobSink.js"

/**
 * What a job tells: events and summaries.
 *
 * @since 0.2.0
 */
export * as JobReport from "./JobReport.js"

/**
 * A job's progress: a fold of its events, text lines, and a live view for terminals and logs.
 *
 * @since 0.3.0
 */
export * as JobProgress from "./JobProgress.js"

/**
 * Money, not only tokens: a price table turned into the cost of batches, parts and jobs.
 *
 * @since 0.3.0
 */
export * as Pricing from "./Pricing.js"

/**
 * The engine from requests to results: a job of any size (split, admitted under the shared budget, re-sent,
 * followed up, resumable from the API alone), or one batch joined in memory (`runBatch`).
 *
 * @since 0.2.0
 */
export * as Job from "./Job.js"
