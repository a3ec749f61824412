/**
 * `Job.runBatch`: one batch from requests to results joined in memory, as a front door over the job engine. The
 * engine runs one part (more requests than one batch may hold are refused, naming the line), spooled in memory,
 * with no re-sends and no follow-ups; its sink keeps each result by `custom_id`, and the requests are joined to
 * them at the end. Everything else is the engine's: the checks, the duplicate-free create, the wait, the cancel
 * when the run is interrupted or reaches its deadline.
 *
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type * as Batch from "../../Batch.js"
import * as BatchError from "../../BatchError.js"
import type * as BatchLine from "../../BatchLine.js"
import type * as BatchResults from "../../BatchResults.js"
import type * as BatchSchedule from "../../BatchSchedule.js"
import type * as JobReport from "../../JobReport.js"
import type * as OpenAiFiles from "../../OpenAiFiles.js"
import * as Engine from "./engine.js"
import * as IdSet from "./idSet.js"
import * as Part from "./part.js"

/** Options of `Job.runBatch`. @internal */
export interface Options {
  /** The endpoint every request targets. */
  readonly endpoint: Batch.KnownEndpoint
  readonly metadata?: Batch.Metadata | undefined
  readonly output_expires_after?: Batch.CreateBatchParams["output_expires_after"]
  /**
   * Names this run: a run again with the same key (after a crash, say) finds its batch instead of making another.
   * Default: a fresh key per run.
   */
  readonly idempotencyKey?: string | undefined
  /** The input file: its limits (default the API's: 50,000 requests, 200 MB) and expiry; `precheck` reads a stream whole first. */
  readonly input?: {
    readonly maxRequests?: number | undefined
    readonly maxBytes?: number | undefined
    readonly file_expires_after?: OpenAiFiles.FileExpiresAfter | null | undefined
    /** Check a `Stream` source whole before anything is uploaded (it is read into memory first). */
    readonly precheck?: boolean | undefined
  } | undefined
  /** What a malformed result line does: `"fail"` (default) or `"skip"` (it is in `skipped`). */
  readonly malformed?: "fail" | "skip" | undefined
  /** The pace of the polls; default `BatchSchedule.poll()`. */
  readonly schedule?: BatchSchedule.PollSchedule | undefined
  /** The deadline of the wait; default the batch's `expires_at` plus an hour. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Called with every changed snapshot of the batch. */
  readonly onProgress?: ((batch: Batch.Batch) => Effect.Effect<void>) | undefined
  /** Called once the batch exists, e.g. to record its id. */
  readonly onCreated?: ((batch: Batch.Batch) => Effect.Effect<void>) | undefined
  /**
   * Cancel the batch when the run is interrupted, fails or reaches its deadline. Default `true`: a batch nobody
   * waits for keeps billing for up to its 24-hour window, and a cancel keeps what finished as partial results.
   * `false` detaches it (pick it up later by id, from `onCreated`).
   */
  readonly cancelOnInterrupt?: boolean | undefined
}

/** The outcome of `Job.runBatch`. @internal */
export interface BatchRun extends BatchResults.Joined<BatchLine.BatchRequestInput> {
  /** The final batch (completed, or expired or cancelled with partial results). */
  readonly batch: Batch.Batch
  readonly inputFileId: string
  /** Malformed result lines that were skipped (only with `malformed: "skip"`). */
  readonly skipped: ReadonlyArray<BatchError.MalformedLineError>
}

/** What `Job.runBatch` can fail with. @internal */
export type RunError =
  | BatchError.PlanError
  | BatchError.CreateError
  | BatchError.WaitTimeoutError
  | BatchError.BatchFailedError
  | BatchError.JobInputChangedError
  | BatchError.PartFailedError
  | BatchError.ResultsError

const isStream = <E, R>(
  requests: Iterable<BatchLine.BatchRequestInput> | Stream.Stream<BatchLine.BatchRequestInput, E, R>
): requests is Stream.Stream<BatchLine.BatchRequestInput, E, R> => Predicate.hasProperty(requests, Stream.StreamTypeId)

/** A job id for a run: named by its key (hashed to fit), or fresh. */
const jobIdOf = (key: string | undefined): string => {
  if (key === undefined) return `run-${crypto.randomUUID()}`
  const digest = IdSet.digest()
  digest.update(key)
  return `run-${digest.value()}`
}

/** @internal */
export const run = <E = never, R = never>(
  requests: Iterable<BatchLine.BatchRequestInput> | Stream.Stream<BatchLine.BatchRequestInput, E, R>,
  options: Options
): Effect.Effect<BatchRun, RunError | E, R | Engine.Services> =>
  Effect.gen(function*() {
    // The requests are needed again for the join: an iterable is read once, a stream recorded as it is planned.
    const inputs: Array<BatchLine.BatchRequestInput> = []
    let source: Stream.Stream<unknown, E, R> = Stream.fromIterable(inputs)
    let checkFirst = true
    if (!isStream(requests)) {
      for (const request of requests) inputs.push(request)
    } else if (options.input?.precheck === true) {
      for (const request of yield* Stream.runCollect(requests)) inputs.push(request)
    } else {
      source = Stream.tap(requests, (request) => Effect.sync(() => inputs.push(request)))
      checkFirst = false
    }

    const results = new Map<string, BatchLine.BatchResult>()
    const skipped: Array<BatchError.MalformedLineError> = []
    let batch: Batch.Batch | undefined
    let inputFileId = ""
    let told = false
    const onEvent = (event: JobReport.JobEvent): Effect.Effect<void> => {
      switch (event._tag) {
        case "PartUploaded":
          return Effect.sync(() => (inputFileId = event.fileId))
        case "PartCreated": {
          batch = event.batch
          if (told || options.onCreated === undefined) return Effect.void
          told = true
          return options.onCreated(event.batch)
        }
        case "PartProgress":
        case "PartEnded":
          batch = event.batch
          return options.onProgress === undefined ? Effect.void : options.onProgress(event.batch)
        default:
          return Effect.void
      }
    }
    const resolved = yield* Engine.resolveOrFail("Job.runBatch", {
      jobId: jobIdOf(options.idempotencyKey),
      endpoint: options.endpoint,
      plan: {
        maxRequestsPerPart: options.input?.maxRequests,
        maxBytesPerPart: options.input?.maxBytes,
        spool: "memory"
      },
      delivery: {
        sink: {
          sink: () =>
            Sink.forEachChunk((chunk: Chunk.Chunk<BatchLine.BatchResult>) =>
              Effect.sync(() => {
                for (const result of chunk) results.set(result.custom_id, result)
              })
            )
        },
        malformed: options.malformed,
        onMalformed: (error) => Effect.sync(() => skipped.push(error))
      },
      policy: {
        maxResends: 0,
        maxFollowUps: 0,
        poll: options.schedule,
        waitTimeout: options.timeout,
        cancelOnExit: options.cancelOnInterrupt ?? true
      },
      batches: {
        metadata: options.metadata,
        output_expires_after: options.output_expires_after,
        file_expires_after: options.input?.file_expires_after
      },
      onEvent
    })
    const fresh = options.idempotencyKey === undefined
    yield* Engine.run("Job.runBatch", source, checkFirst, { ...resolved, maxParts: 1, fresh }, { _tag: "Memory" }).pipe(
      Effect.catchIf(
        (error) => error instanceof BatchError.PartFailedError,
        (error): Effect.Effect<never, RunError> => {
          if (error.reason === "rejected" && Part.isRefusal(error.cause)) return Effect.fail(error.cause)
          return error.batch === undefined || error.reason === "delivery" || error.reason === "sink"
            ? Effect.fail(error)
            : Effect.fail(
              new BatchError.BatchFailedError({
                operation: "Job.runBatch",
                batch: error.batch,
                errors: error.batch.errors?.data ?? []
              })
            )
        }
      )
    )
    const unmatched: Array<BatchLine.BatchResult> = []
    const known = new Set<string>()
    const matched: Array<BatchResults.Matched<BatchLine.BatchRequestInput>> = []
    const missing: Array<BatchLine.BatchRequestInput> = []
    for (const input of inputs) {
      known.add(input.custom_id)
      const result = results.get(input.custom_id)
      if (result === undefined) missing.push(input)
      else matched.push({ input, result })
    }
    for (const [id, result] of results) if (!known.has(id)) unmatched.push(result)
    if (batch === undefined) return yield* Effect.dieMessage("Job.runBatch: the job ended without a batch")
    return { batch, inputFileId, matched, missing, unmatched, skipped }
  })
