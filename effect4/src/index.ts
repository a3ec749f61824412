/**
 * effect-openai-batch: the OpenAI Batch API for Effect 4.
 *
 * The Effect 4 edition, in progress: this release carries the wire model, the lines of batch files, the error
 * model, the connection settings, the request policies, the Batch API's operations and the waits, the files and uploads, the input and results files, the token
 * estimate, the enqueued budget's ledger and the job report's model; the rest of the library follows (see
 * MIGRATION.md).
 *
 * @since 4.0.0
 */

/**
 * The Batch API wire model.
 *
 * @since 4.0.0
 */
export * as Batch from "./Batch.js"

/**
 * The lines of batch files: request inputs and typed results.
 *
 * @since 4.0.0
 */
export * as BatchLine from "./BatchLine.js"

/**
 * The one error model: every error a public function can fail with, as `Schema.TaggedError` classes.
 *
 * @since 4.0.0
 */
export * as BatchError from "./BatchError.js"

/**
 * Connection settings.
 *
 * @since 4.0.0
 */
export * as OpenAiConfig from "./OpenAiConfig.js"

/**
 * Retry, poll and cancel-window schedules.
 *
 * @since 4.0.0
 */
export * as BatchSchedule from "./BatchSchedule.js"

/**
 * The service and its operations.
 *
 * @since 4.0.0
 */
export * as BatchApi from "./BatchApi.js"

/**
 * The Files API a batch needs: upload (duplicate-free), retrieve, download (resuming), delete, list.
 *
 * @since 4.0.0
 */
export * as OpenAiFiles from "./OpenAiFiles.js"

/**
 * A batch's input file, built from requests: checked line by line and uploaded as it is produced.
 *
 * @since 4.0.0
 */
export * as BatchInput from "./BatchInput.js"

/**
 * The Uploads API: a file of up to 8 GB in parts, and any `Stream` of bytes uploaded in parts as it arrives.
 *
 * @since 4.0.0
 */
export * as OpenAiUploads from "./OpenAiUploads.js"

/**
 * A batch's results, streamed from its output and error files and decoded line by line.
 *
 * @since 4.0.0
 */
export * as BatchResults from "./BatchResults.js"

/**
 * Waiting for a batch: until it ends, until it completes, through the cancel window; progress as a stream.
 *
 * @since 4.0.0
 */
export * as BatchWait from "./BatchWait.js"

/**
 * OpenAI's webhook events and their feed in a process: waits wake on them.
 *
 * @since 4.0.0
 */
export * as BatchEvents from "./BatchEvents.js"

/**
 * OpenAI's webhooks for batches: Standard Webhooks verification, the events decoded, a ready HTTP handler.
 *
 * @since 4.0.0
 */
export * as Webhooks from "./Webhooks.js"

/**
 * Admission under the per-model enqueued token and request limits: budgets and the ledger jobs share.
 *
 * @since 4.0.0
 */
export * as JobBudget from "./JobBudget.js"

/**
 * A request's tokens, estimated before it is sent (what the enqueued-token limit counts), conservatively.
 *
 * @since 4.0.0
 */
export * as TokenEstimate from "./TokenEstimate.js"

/**
 * What a job tells: events and summaries.
 *
 * @since 4.0.0
 */
export * as JobReport from "./JobReport.js"

/**
 * Money, not only tokens: a price table turned into the cost of batches, parts and jobs.
 *
 * @since 4.0.0
 */
export * as Pricing from "./Pricing.js"

/**
 * The layers that provide the batch operations, files, uploads and the shared enqueued-limit ledger together.
 *
 * @since 4.0.0
 */
export * as BatchClient from "./BatchClient.js"

/**
 * A job's requests split into parts, one batch each: deterministic, streamed, checked line by line.
 *
 * @since 4.0.0
 */
export * as JobPlan from "./JobPlan.js"

/**
 * Where a job's results go, as each part ends.
 *
 * @since 4.0.0
 */
export * as JobSink from "./JobSink.js"

/**
 * A job's progress: a fold of its events, text lines, and a live view for terminals and logs.
 *
 * @since 4.0.0
 */
export * as JobProgress from "./JobProgress.js"

/**
 * The engine from requests to results: a job of any size (split, admitted under the shared budget, re-sent,
 * followed up, resumable from the API alone), or one batch joined in memory (`runBatch`).
 *
 * @since 4.0.0
 */
export * as Job from "./Job.js"

/**
 * The model's answer in each result line, decoded with your own Schema: a typed value, or a typed failure naming
 * the line and the fields at fault (never the values).
 *
 * @since 4.0.0
 */
export * as StructuredOutput from "./StructuredOutput.js"
