/**
 * The Batch API wire model: the `Batch` object, its list page, and the parameters of create and list, as
 * `effect/Schema` schemas. Field names are OpenAI's snake_case wire names, unchanged.
 *
 * Decoding is forward compatible: every optional field accepts absent or `null` (the spec's own examples send
 * `null` where its schema says non-nullable), an optional file id or cursor sent as `""` (Responses-only batches
 * report `error_file_id: ""`) reads as absent, unknown fields are ignored, and a status or endpoint this version
 * does not know decodes to a branded string instead of failing the whole response.
 *
 * @since 4.0.0
 */
import * as Schema from "effect/Schema"
import { optional, optionalId } from "./internal/nullable.js"
import * as PathSegment from "./internal/pathSegment.js"

/**
 * The statuses the Batch API documents, in lifecycle order.
 *
 * @since 4.0.0
 * @category Models
 */
export const knownStatuses = [
  "validating",
  "failed",
  "in_progress",
  "finalizing",
  "completed",
  "expired",
  "cancelling",
  "cancelled"
] as const

/**
 * A documented status.
 *
 * @since 4.0.0
 * @category Models
 */
export type KnownBatchStatus = typeof knownStatuses[number]

/**
 * A status the API sent that this version does not know (say a future `"paused"`). It decodes instead of failing;
 * waits treat it as not yet terminal.
 *
 * @since 4.0.0
 * @category Models
 */
export const UnknownBatchStatus = Schema.String.pipe(Schema.brand("UnknownBatchStatus"))

/**
 * @since 4.0.0
 * @category Models
 */
export type UnknownBatchStatus = typeof UnknownBatchStatus.Type

/**
 * A batch status: the documented literals (for autocompletion and exhaustive matches) or an unknown one.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchStatus = Schema.Union([Schema.Literals(knownStatuses), UnknownBatchStatus])

/**
 * @since 4.0.0
 * @category Models
 */
export type BatchStatus = typeof BatchStatus.Type

/**
 * The endpoints a batch may target (the spec's `CreateBatchRequest.endpoint` enum).
 *
 * @since 4.0.0
 * @category Models
 */
export const knownEndpoints = [
  "/v1/responses",
  "/v1/chat/completions",
  "/v1/embeddings",
  "/v1/completions",
  "/v1/moderations",
  "/v1/images/generations",
  "/v1/images/edits",
  "/v1/videos"
] as const

/**
 * An endpoint this version knows.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const KnownEndpoint = Schema.Literals(knownEndpoints)

/**
 * @since 4.0.0
 * @category Models
 */
export type KnownEndpoint = typeof KnownEndpoint.Type

/**
 * An endpoint in a response: a known one, or a branded string for one added to the API later.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchEndpoint = Schema.Union([KnownEndpoint, Schema.String.pipe(Schema.brand("UnknownEndpoint"))])

/**
 * @since 4.0.0
 * @category Models
 */
export type BatchEndpoint = typeof BatchEndpoint.Type

/**
 * Set of at most 16 key-value pairs attached to a batch.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const Metadata = Schema.Record(Schema.String, Schema.String)

/**
 * @since 4.0.0
 * @category Models
 */
export type Metadata = typeof Metadata.Type

/**
 * One validation error of a batch (an item of `errors.data`). `line` is the line of the input file.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchErrorItem = Schema.Struct({
  code: optional(Schema.String),
  message: optional(Schema.String),
  param: optional(Schema.String),
  line: optional(Schema.Number)
})

/**
 * @since 4.0.0
 * @category Models
 */
export type BatchErrorItem = typeof BatchErrorItem.Type

/**
 * The `errors` object of a batch (set when validation failed).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchErrors = Schema.Struct({
  object: optional(Schema.String),
  data: optional(Schema.Array(BatchErrorItem))
})

/**
 * @since 4.0.0
 * @category Models
 */
export type BatchErrors = typeof BatchErrors.Type

/**
 * Request counts: `completed` counts requests that completed successfully.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const RequestCounts = Schema.Struct({
  total: Schema.Number,
  completed: Schema.Number,
  failed: Schema.Number
})

/**
 * @since 4.0.0
 * @category Models
 */
export type RequestCounts = typeof RequestCounts.Type

/**
 * Token usage (only populated on batches created after September 7, 2025).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const Usage = Schema.Struct({
  input_tokens: Schema.Number,
  input_tokens_details: Schema.Struct({ cached_tokens: Schema.Number }),
  output_tokens: Schema.Number,
  output_tokens_details: Schema.Struct({ reasoning_tokens: Schema.Number }),
  total_tokens: Schema.Number
})

/**
 * @since 4.0.0
 * @category Models
 */
export type Usage = typeof Usage.Type

/**
 * A batch, as the API returns it. Timestamps are Unix seconds.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const Batch = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("batch"),
  endpoint: BatchEndpoint,
  model: optional(Schema.String),
  errors: optional(BatchErrors),
  input_file_id: Schema.String,
  completion_window: Schema.String,
  status: BatchStatus,
  output_file_id: optionalId,
  error_file_id: optionalId,
  created_at: Schema.Number,
  in_progress_at: optional(Schema.Number),
  expires_at: optional(Schema.Number),
  finalizing_at: optional(Schema.Number),
  completed_at: optional(Schema.Number),
  failed_at: optional(Schema.Number),
  expired_at: optional(Schema.Number),
  cancelling_at: optional(Schema.Number),
  cancelled_at: optional(Schema.Number),
  request_counts: optional(RequestCounts),
  usage: optional(Usage),
  metadata: optional(Metadata)
}).annotate({ identifier: "Batch" })

/**
 * A batch: a plain, immutable object (decoded values are not class instances, which keeps decoding cheap).
 *
 * @since 4.0.0
 * @category Models
 */
export interface Batch extends Schema.Schema.Type<typeof Batch> {}

/**
 * One page of `GET /v1/batches`. `first_id`/`last_id` are optional in the spec.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchPage = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Batch),
  first_id: optionalId,
  last_id: optionalId,
  has_more: Schema.Boolean
}).annotate({ identifier: "BatchPage" })

/**
 * @since 4.0.0
 * @category Models
 */
export interface BatchPage extends Schema.Schema.Type<typeof BatchPage> {}

// ---------------------------------------------------------------------------------------------------------------
// Request parameters: validated on the client before anything is sent.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Metadata as accepted by create: at most 16 pairs, keys at most 64 characters, values at most 512.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const MetadataParam = Schema.Record(
  Schema.String,
  Schema.String.check(Schema.isMaxLength(512, { message: "has at most 512 characters" }))
).check(
  // Checked on the whole record: a refined key schema would make Schema.Record skip long keys, not reject them.
  Schema.makeFilter((record) => {
    const keys = Object.keys(record)
    if (keys.length > 16) return `holds at most 16 key-value pairs, got ${keys.length}`
    const long = keys.find((key) => key.length > 64)
    return long === undefined || `has a key longer than 64 characters (${long.slice(0, 20)}...)`
  })
)

/**
 * Expiration policy for the output and error files of a batch (1 hour to 30 days after the file's creation).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const OutputExpiresAfter = Schema.Struct({
  anchor: Schema.Literal("created_at"),
  seconds: Schema.Int.check(
    Schema.isBetween({ minimum: 3600, maximum: 2_592_000 }, { message: "must be between 3600 and 2592000" })
  )
})

/**
 * The body of `POST /v1/batches`.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const CreateBatchParams = Schema.Struct({
  input_file_id: Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" })),
  endpoint: KnownEndpoint,
  completion_window: Schema.Literal("24h"),
  metadata: Schema.optional(MetadataParam),
  output_expires_after: Schema.optional(OutputExpiresAfter)
})

/**
 * @since 4.0.0
 * @category Models
 */
export type CreateBatchParams = typeof CreateBatchParams.Type

/**
 * The query of `GET /v1/batches`: `after` is a batch id cursor, `limit` 1..100 (the API's default is 20).
 *
 * @since 4.0.0
 * @category Schemas
 */
export const ListBatchesParams = Schema.Struct({
  after: Schema.optional(Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" }))),
  limit: Schema.optional(
    Schema.Number.check(
      Schema.isInt({ message: "must be an integer between 1 and 100" }),
      Schema.isBetween({ minimum: 1, maximum: 100 }, { message: "must be an integer between 1 and 100" })
    )
  )
})

/**
 * @since 4.0.0
 * @category Models
 */
export type ListBatchesParams = typeof ListBatchesParams.Type

/**
 * A batch id that is safe to put in a URL path: non-empty, at most 256 characters, and free of `/`, `?`, `#`,
 * `%`, `\`, `..`, whitespace and control characters. Anything else could change the request's path.
 *
 * @since 4.0.0
 * @category Schemas
 */
export const BatchId = Schema.String.check(Schema.makeFilter((id) => {
  const rule = PathSegment.issue(id)
  return rule === undefined || `a batch id ${rule}`
}))

// ---------------------------------------------------------------------------------------------------------------
// Fields from later versions of the API
// ---------------------------------------------------------------------------------------------------------------

const batchKeys: ReadonlySet<string> = new Set(Object.keys(Batch.fields))
const pageKeys: ReadonlySet<string> = new Set(Object.keys(BatchPage.fields))

/**
 * The fields of a decoded batch (or page) that this version does not know: responses are decoded keeping them, so
 * a field the API adds is readable before a release types it.
 *
 * @since 4.0.0
 * @category Accessors
 */
export const unknownFields = (value: Batch | BatchPage): { readonly [key: string]: unknown } => {
  const known = value.object === "list" ? pageKeys : batchKeys
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) if (!known.has(key)) out[key] = field
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Status predicates
// ---------------------------------------------------------------------------------------------------------------

/**
 * The statuses after which a batch never changes again.
 *
 * @since 4.0.0
 * @category Models
 */
export const terminalStatuses: ReadonlySet<string> = new Set(["completed", "failed", "expired", "cancelled"])

/**
 * True for `completed`, `failed`, `expired` and `cancelled`. Unknown statuses are not terminal, so a wait keeps
 * polling (at its normal pace) rather than returning early.
 *
 * @example
 * ```ts
 * import { Batch } from "effect-openai-batch"
 *
 * assert.strictEqual(Batch.isTerminal({ status: "expired" }), true)
 * assert.strictEqual(Batch.isTerminal({ status: "finalizing" }), false)
 * ```
 *
 * @since 4.0.0
 * @category Predicates
 */
export const isTerminal = (batch: Pick<Batch, "status">): boolean => terminalStatuses.has(batch.status)

/**
 * True when the status is one this version documents.
 *
 * @since 4.0.0
 * @category Predicates
 */
export const isKnownStatus = (status: BatchStatus): status is KnownBatchStatus =>
  (knownStatuses as ReadonlyArray<string>).includes(status)

/**
 * True while the batch can still be cancelled (`validating`, `in_progress`, `finalizing`).
 *
 * @since 4.0.0
 * @category Predicates
 */
export const isCancellable = (batch: Pick<Batch, "status">): boolean =>
  batch.status === "validating" || batch.status === "in_progress" || batch.status === "finalizing"

/**
 * True when the batch may hold results to download: completed, or expired/cancelled with partial output.
 *
 * @since 4.0.0
 * @category Predicates
 */
export const hasResults = (batch: Pick<Batch, "output_file_id" | "error_file_id">): boolean =>
  batch.output_file_id !== undefined || batch.error_file_id !== undefined
