/**
 * The duplicate-free create protocol of `BatchApi.createBatch`.
 *
 * A create whose outcome is unknown (a dropped connection, a timeout, a 408 or 5xx, a 2xx whose body cannot be
 * read) may have made the batch. So every create sends an `Idempotency-Key` that stays the same across its
 * retries, writes the key into the batch's metadata (the marker), and, once an attempt may have reached the
 * server, looks among the newest batches for its marker before sending again. The server's handling of the
 * header is not relied on.
 *
 * - A generated key only matches batches made since this call started (less clock skew).
 * - A caller's key names one logical batch: it is looked up first, across the 24-hour completion window, so a
 *   re-run after a crash finds the batch. Reused with other parameters, it is an `IdempotencyConflictError`.
 * - Without a marker (opted out, or metadata already full) an ambiguous failure is not retried.
 * - A 2xx whose body cannot be read is looked up at once and never re-sent: the server said it made the batch.
 *
 * The Effect 4 edition: the same protocol; an attempt's outcome is a `Result` (Effect 3: an `Either`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type * as Tracer from "effect/Tracer"
import * as Batch from "../Batch.js"
import * as BatchError from "../BatchError.js"
import * as Decoder from "./decoder.js"
import type * as Http from "./http/pipeline.js"
import * as Retry from "./http/retry.js"
import * as Params from "./params.js"

/** The metadata key that carries a create's idempotency key. @internal */
export const metadataKey = "eob_idempotency_key"

/** How far back (in seconds, against clock skew) a lookup for a generated key looks. */
const lookupSkewSeconds = 300
/** How far back a caller-supplied idempotency key is looked for: the 24-hour completion window. */
const callerKeyWindowSeconds = 24 * 3600
/** How many pages of 100 a lookup reads at most (the newest 1,000 batches). */
const lookupMaxPages = 10

/** What one create needs besides its parameters. @internal */
export interface Request {
  readonly params: Batch.CreateBatchParams
  readonly idempotencyKey: string | undefined
  readonly marker: boolean
  readonly span: Tracer.Span | undefined
}

/** One page of `GET /batches`, sent once. @internal */
export type ListOnce = (params: Batch.ListBatchesParams) => Effect.Effect<Batch.BatchPage, BatchError.RequestError>

/**
 * Looks among the newest batches, created since `sinceSeconds`, for one carrying `key`. Stops at older batches,
 * at the end of the list, at a repeated cursor, or after `lookupMaxPages` pages.
 *
 * @internal
 */
export const find = (
  listOnce: ListOnce,
  key: string,
  sinceSeconds: number
): Effect.Effect<Option.Option<Batch.Batch>, BatchError.RequestError> =>
  Effect.gen(function*() {
    let after: string | undefined
    for (let page = 0; page < lookupMaxPages; page++) {
      const result = yield* listOnce(after === undefined ? { limit: 100 } : { limit: 100, after })
      const found = result.data.find((batch) =>
        batch.metadata?.[metadataKey] === key && batch.created_at >= sinceSeconds
      )
      if (found !== undefined) return Option.some(found)
      const last = result.data[result.data.length - 1]
      if (!result.has_more || last === undefined || last.id === after || last.created_at < sinceSeconds) break
      after = last.id
    }
    return Option.none<Batch.Batch>()
  })

const validKey = /^[\x21-\x7e]{1,512}$/

/** A 2xx answer to the create that could not be read: the batch was made, its description was lost. */
const isUnreadableSuccess = (error: BatchError.RequestError) =>
  error._tag === "DecodeError" && error.status >= 200 && error.status < 300

const isAmbiguous = (error: BatchError.RequestError) => BatchError.transience(error) === "ambiguous"

/**
 * Creates a batch at most once (see the module comment).
 *
 * @internal
 */
export const create = (
  pipeline: Http.Pipeline,
  listOnce: ListOnce,
  request: Request
): Effect.Effect<Batch.Batch, BatchError.CreateError> =>
  Effect.gen(function*() {
    const valid = yield* Params.validate("createBatch", Batch.CreateBatchParams, request.params)
    const callerKey = request.idempotencyKey
    if (callerKey !== undefined && !validKey.test(callerKey)) {
      // It goes into a header (visible ASCII only) and a metadata value (at most 512 characters).
      return yield* Effect.fail(
        Params.invalid("createBatch", "must be 1 to 512 visible ASCII characters (no spaces)", "idempotencyKey")
      )
    }
    const key = callerKey ?? `eob-${crypto.randomUUID()}`
    // A marker already in the caller's metadata (copied from an older batch, say) is replaced, never reused.
    const metadata = Object.fromEntries(Object.entries(valid.metadata ?? {}).filter(([name]) => name !== metadataKey))
    const marked = request.marker && Object.keys(metadata).length < 16
    const body = marked ? { ...valid, metadata: { ...metadata, [metadataKey]: key } } : valid
    const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const since = nowSeconds - (callerKey === undefined ? lookupSkewSeconds : callerKeyWindowSeconds)

    type Outcome = Result.Result<Batch.Batch, BatchError.IdempotencyConflictError>
    const found = (batch: Batch.Batch): Effect.Effect<Outcome> =>
      batch.input_file_id === valid.input_file_id && batch.endpoint === valid.endpoint
        ? Effect.as(
          Effect.logInfo(`effect-openai-batch: create already succeeded as ${batch.id}`),
          Result.succeed(batch)
        )
        : Effect.succeed(Result.fail(
          new BatchError.IdempotencyConflictError({
            idempotencyKey: key,
            batchId: batch.id,
            existing: { input_file_id: batch.input_file_id, endpoint: batch.endpoint }
          })
        ))
    const lookup = find(listOnce, key, since)

    // Once an attempt may have reached the server, every later attempt first looks for its batch.
    let mayExist = marked && callerKey !== undefined
    const send: Effect.Effect<Outcome, BatchError.RequestError> = pipeline.request(
      {
        operation: "createBatch",
        method: "POST",
        path: "/batches",
        headers: { "idempotency-key": key },
        body,
        span: request.span
      },
      decodeBatch
    ).pipe(
      Effect.map((decoded): Outcome => Result.succeed(decoded.value)),
      Effect.catchIf(isUnreadableSuccess, (error) =>
        marked
          ? Effect.flatMap(lookup, Option.match({ onNone: () => Effect.fail(error), onSome: found }))
          : Effect.fail(error)),
      Effect.tapError((error) =>
        Effect.sync(() => {
          if (isAmbiguous(error) || isUnreadableSuccess(error)) mayExist = true
        })
      )
    )
    const attempt = Effect.suspend(() =>
      mayExist ? Effect.flatMap(lookup, Option.match({ onNone: () => send, onSome: found })) : send
    )
    // Without a marker nothing can be looked up: an ambiguous failure is returned, never re-sent.
    const outcome = yield* Retry.retry(attempt, marked ? undefined : isAmbiguous)
    return yield* Effect.fromResult(outcome)
  })

const decodeBatch = Decoder.make(Batch.Batch)
