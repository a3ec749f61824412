/**
 * One part of a job, from its input file to its last batch: upload, admission under the budget, create, wait,
 * results to the sink; a re-send after a late enqueued-limit failure; follow-ups of the requests an expired or
 * cancelled batch left undone. A part first replays the batches an earlier run made (found from the API), so a
 * re-run continues where that run stopped and creates no batch twice.
 *
 * Each attempt is decided from the one before, the same way in every run: a `completed`, `expired` or
 * `cancelled` batch gives its results and then a follow-up of what is missing (up to `maxFollowUps`); a batch
 * failed on an enqueued limit is re-sent with the same input file (up to `maxResends`), once a batch of the same
 * model ends or after `resendBackoff`; any other failure fails the part.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Batch from "../Batch.js"
import * as BatchApi from "../BatchApi.js"
import * as BatchError from "../BatchError.js"
import * as BatchLine from "../BatchLine.js"
import * as BatchResults from "../BatchResults.js"
import type * as BatchSchedule from "../BatchSchedule.js"
import * as BatchWait from "../BatchWait.js"
import * as JobBudget from "../JobBudget.js"
import * as JobPlan from "../JobPlan.js"
import * as JobReport from "../JobReport.js"
import type * as JobSink from "../JobSink.js"
import * as OpenAiFiles from "../OpenAiFiles.js"
import * as Cancel from "./cancel.js"
import * as IdSet from "./idSet.js"
import * as JobBatches from "./jobBatches.js"

/** What every part of a job shares. @internal */
export interface Env<E, R> {
  readonly jobId: string
  readonly endpoint: Batch.KnownEndpoint
  readonly metadata: Batch.Metadata
  readonly outputExpiresAfter: Batch.CreateBatchParams["output_expires_after"]
  readonly api: BatchApi.Service
  readonly files: OpenAiFiles.Service
  readonly fs: FileSystem.FileSystem
  readonly ledger: JobBudget.Ledger
  readonly sink: JobSink.Sink<E, R>
  readonly emit: (event: JobReport.JobEvent) => Effect.Effect<void>
  readonly estimate: JobBudget.Estimator
  readonly uploads: Effect.Semaphore
  readonly maxResends: number
  readonly maxFollowUps: number
  readonly resendBackoff: Duration.Duration
  readonly resendWhen: ((result: BatchLine.BatchResult) => boolean) | undefined
  readonly poll: BatchSchedule.PollSchedule | undefined
  readonly waitTimeout: Duration.DurationInput | undefined
  readonly cancelOnInterrupt: boolean
  /** A failed part ends with a failed summary instead of failing the job. */
  readonly continueOnFailure: boolean
}

/** What a part can fail with, besides its sink's errors. @internal */
export type PartError =
  | BatchError.PartFailedError
  | BatchError.JobInputChangedError
  | BatchError.CreateError
  | BatchError.WaitTimeoutError
  | BatchError.ResultsError
  | BatchError.LocalFileError

type Decision =
  | { readonly _tag: "Start" }
  | { readonly _tag: "Done" }
  | { readonly _tag: "FollowUp" }
  | {
    readonly _tag: "Resend"
    readonly reason: "token_limit_exceeded" | "request_limit_exceeded"
    readonly kind: JobReport.AttemptKind
    readonly fileId: string
  }
  | { readonly _tag: "Fail"; readonly error: BatchError.PartFailedError }

/** Errors that mean "your enqueued limit was full when this batch passed validation": send it again later. */
const limitCodes: ReadonlySet<string> = new Set(["token_limit_exceeded", "request_limit_exceeded"])

/** Error lines that are no result: the request never ran (its batch expired or was cancelled first). */
const notRunCodes: ReadonlySet<string> = new Set(["batch_expired", "batch_cancelled"])

/** @internal */
export const run = <E, R>(
  part: JobPlan.Part,
  history: ReadonlyArray<readonly [JobBatches.Tag, Batch.Batch]>,
  env: Env<E, R>
): Effect.Effect<JobReport.PartSummary, PartError | E, R> =>
  Effect.suspend(() => {
    const covered = IdSet.make(Math.min(part.requests, 65_536))
    const counts = { succeeded: 0, failed: 0, errored: 0 }
    const attempts: Array<JobReport.Attempt> = []
    let usage = JobReport.noUsage
    let resends = 0
    let followUps = 0
    const partClaim: JobBudget.Claim = { model: part.model, tokens: part.tokens, requests: part.requests }
    const keep = (customId: string) => covered.get(customId) === undefined

    // ------------------------------------------------------------------------------------------------------------
    // Steps
    // ------------------------------------------------------------------------------------------------------------

    /** The requests still without a result, counted and estimated (for a follow-up's claim). */
    const tallyMissing = Effect.provideService(JobPlan.tally(part, keep, env.estimate), FileSystem.FileSystem, env.fs)

    const upload = (attempt: number, kind: JobReport.AttemptKind, requests: number) =>
      env.uploads.withPermits(1)(
        env.files.uploadFile({
          file: Stream.provideService(
            kind === "full" ? JobPlan.lines(part, () => true) : JobPlan.lines(part, keep),
            FileSystem.FileSystem,
            env.fs
          ),
          filename: `${env.jobId}.part-${part.index}.attempt-${attempt}.jsonl`,
          purpose: "batch",
          replayable: true
        })
      ).pipe(
        Effect.tap((file) => env.emit(JobReport.JobEvent.PartUploaded({ part: part.index, attempt, fileId: file.id, requests })))
      )

    const budgetChanged = Effect.flatMap(env.ledger.usage(part.model), (u) => env.emit(JobReport.JobEvent.BudgetChanged({ usage: u })))

    /** Waits for a batch to end, holding `claim` meanwhile; cancels it if the job is interrupted. */
    const awaitEnd = (batch: Batch.Batch, attempt: number, claim: JobBudget.Claim) =>
      BatchWait.awaitBatch(batch.id, {
        schedule: env.poll,
        timeout: env.waitTimeout,
        onProgress: (snapshot) => env.emit(JobReport.JobEvent.PartProgress({ part: part.index, attempt, batch: snapshot }))
      }).pipe(
        env.cancelOnInterrupt
          ? (wait) => Effect.onInterrupt(wait, () => Cancel.cancelAbandoned(env.api, batch.id, `job ${env.jobId} was interrupted`))
          : (wait) => wait,
        Effect.provideService(BatchApi.BatchApi, env.api),
        Effect.ensuring(Effect.zipRight(env.ledger.release(claim), budgetChanged)),
        Effect.tap((ended) => env.emit(JobReport.JobEvent.PartEnded({ part: part.index, attempt, batch: ended })))
      )

    /** Reads an ended batch's results: to the sink (unless it has them), and into the part's counts. */
    const collect = (batch: Batch.Batch, attempt: number) =>
      Effect.gen(function*() {
        const delivery: JobSink.Delivery = { jobId: env.jobId, part: part.index, attempt, batchId: batch.id }
        // Results a later follow-up may replace are held back, unless none may follow.
        const final = followUps >= env.maxFollowUps
        let results = 0
        const taken = BatchResults.stream(batch).pipe(
          Stream.provideService(OpenAiFiles.OpenAiFiles, env.files),
          Stream.filter((result) => {
            if (result._tag === "Errored" && notRunCodes.has(result.error.code ?? "")) return false
            if (!final && env.resendWhen !== undefined && env.resendWhen(result)) return false
            // A request already answered by an earlier batch of the part keeps its first result.
            return covered.add(result.custom_id, attempt) === undefined
          }),
          Stream.tap((result) =>
            Effect.sync(() => {
              results++
              if (result._tag === "Succeeded") counts.succeeded++
              else if (result._tag === "FailedResponse") counts.failed++
              else counts.errored++
            })
          )
        )
        const stored = env.sink.stored === undefined ? false : yield* env.sink.stored(delivery)
        yield* stored ? Stream.runDrain(taken) : env.sink.deliver(delivery, taken)
        yield* env.emit(JobReport.JobEvent.ResultsDelivered({ part: part.index, attempt, batchId: batch.id, results, skipped: stored }))
      })

    const failure = (reason: "failed" | "limits" | "rejected", message: string, batch?: Batch.Batch) =>
      new BatchError.PartFailedError({
        jobId: env.jobId,
        part: part.index,
        reason,
        errors: batch?.errors?.data ?? [],
        message: `job ${env.jobId}, part ${part.index}: ${message}`,
        ...(batch === undefined ? {} : { batch })
      })

    /** Records an ended batch and decides what comes next. */
    const ended = (batch: Batch.Batch, tag: JobBatches.Tag, resumed: boolean): Effect.Effect<Decision, PartError | E, R> =>
      Effect.gen(function*() {
        const code = batch.errors?.data?.[0]?.code
        attempts.push({
          attempt: tag.attempt,
          kind: tag.kind,
          batchId: batch.id,
          status: batch.status,
          requests: batch.request_counts?.total ?? 0,
          errorCode: code,
          resumed
        })
        usage = JobReport.addUsage(usage, JobReport.usageOf(batch))
        if (batch.status === "failed") {
          if (code !== undefined && limitCodes.has(code)) {
            const reason = code === "token_limit_exceeded" ? "token_limit_exceeded" : "request_limit_exceeded"
            return { _tag: "Resend", reason, kind: tag.kind, fileId: batch.input_file_id } satisfies Decision
          }
          const first = batch.errors?.data?.[0]
          const why = first === undefined ? "" : `: ${first.code ?? "error"}: ${first.message ?? ""}`
          return { _tag: "Fail", error: failure("failed", `batch ${batch.id} failed${why}`, batch) } satisfies Decision
        }
        yield* collect(batch, tag.attempt)
        const missing = part.requests - covered.size()
        const next: Decision = missing > 0 && followUps < env.maxFollowUps ? { _tag: "FollowUp" } : { _tag: "Done" }
        return next
      })

    const create = (attempt: number, kind: JobReport.AttemptKind, fileId: string) =>
      env.api.createBatch(
        {
          input_file_id: fileId,
          endpoint: env.endpoint,
          completion_window: "24h",
          metadata: { ...env.metadata, ...JobBatches.metadata(env.jobId, { part: part.index, attempt, kind, digest: part.digest }) },
          ...(env.outputExpiresAfter === undefined ? {} : { output_expires_after: env.outputExpiresAfter })
        },
        { idempotencyKey: JobBatches.idempotencyKey(env.jobId, part.index, attempt) }
      )

    // ------------------------------------------------------------------------------------------------------------
    // The batches an earlier run made
    // ------------------------------------------------------------------------------------------------------------

    let decision: Decision = { _tag: "Start" }
    let attempt = 0
    const main = Effect.gen(function*() {
    for (const [tag, found] of history) {
      if (tag.digest !== part.digest) {
        return yield* Effect.fail(
          new BatchError.JobInputChangedError({
            jobId: env.jobId,
            part: part.index,
            batchId: found.id,
            expected: part.digest,
            found: tag.digest,
            message: `job ${env.jobId}: batch ${found.id} of part ${part.index} was made from other requests than the part has now (the input or the options that split it changed)`
          })
        )
      }
      // The same decisions as when the batches were made: a re-send after a limit, else a follow-up.
      if (decision._tag === "Resend") resends++
      else if (tag.kind === "missing") followUps++
      attempt = tag.attempt
      yield* env.emit(JobReport.JobEvent.PartCreated({ part: part.index, attempt, kind: tag.kind, batch: found, resumed: true }))
      let batch = found
      if (!Batch.isTerminal(found)) {
        const claim = tag.kind === "full" ? partClaim : { model: part.model, ...(yield* tallyMissing) }
        yield* env.ledger.reserveNow(claim)
        batch = yield* awaitEnd(found, attempt, claim)
      }
      decision = yield* ended(batch, tag, true)
    }

    // ------------------------------------------------------------------------------------------------------------
    // New batches
    // ------------------------------------------------------------------------------------------------------------

    for (;;) {
      let kind: JobReport.AttemptKind
      let fileId: string
      let claim: JobBudget.Claim
      switch (decision._tag) {
        case "Done":
          return summary()
        case "Fail":
          return yield* Effect.fail(decision.error)
        case "Start": {
          attempt = 1
          kind = "full"
          claim = partClaim
          fileId = (yield* upload(attempt, kind, part.requests)).id
          break
        }
        case "FollowUp": {
          followUps++
          attempt++
          kind = "missing"
          const tally = yield* tallyMissing
          claim = { model: part.model, ...tally }
          yield* env.emit(JobReport.JobEvent.PartResent({ part: part.index, attempt, reason: "missing", requests: tally.requests }))
          fileId = (yield* upload(attempt, kind, tally.requests)).id
          break
        }
        case "Resend": {
          if (resends >= env.maxResends) {
            return yield* Effect.fail(failure("limits", `its batches kept failing with ${decision.reason} after ${resends} re-sends`))
          }
          resends++
          attempt++
          kind = decision.kind
          fileId = decision.fileId
          claim = kind === "full" ? partClaim : { model: part.model, ...(yield* tallyMissing) }
          yield* env.emit(JobReport.JobEvent.PartResent({ part: part.index, attempt, reason: decision.reason, requests: claim.requests }))
          // The API's count includes what this job cannot see: wait until a batch of the model ends (freeing room
          // there too), or for the backoff when none is in flight.
          const now = yield* env.ledger.usage(part.model)
          yield* now.tokens > 0 || now.requests > 0
            ? env.ledger.awaitRelease(part.model, now.released, env.resendBackoff)
            : Effect.sleep(env.resendBackoff)
          break
        }
      }
      yield* env.emit(JobReport.JobEvent.PartQueued({ part: part.index, attempt, tokens: claim.tokens, usage: yield* env.ledger.usage(part.model) }))
      yield* env.ledger.reserve(claim)
      yield* budgetChanged
      const created = yield* create(attempt, kind, fileId).pipe(
        Effect.catchIf(
          (error) => error._tag === "BadRequestError" || error._tag === "NotFoundError" || error._tag === "UnprocessableEntityError",
          (error) => Effect.fail(failure("rejected", `the API refused its batch: ${error.message}`))
        ),
        Effect.tapError(() => Effect.zipRight(env.ledger.release(claim), budgetChanged))
      )
      yield* env.emit(JobReport.JobEvent.PartCreated({ part: part.index, attempt, kind, batch: created, resumed: false }))
      const batch = Batch.isTerminal(created) ? created : yield* awaitEnd(created, attempt, claim)
      if (Batch.isTerminal(created)) yield* Effect.zipRight(env.ledger.release(claim), budgetChanged)
      decision = yield* ended(batch, { part: part.index, attempt, kind, digest: part.digest }, false)
    }
    })

    function summary(failed?: BatchError.PartFailedError): JobReport.PartSummary {
      const missing = part.requests - covered.size()
      return {
        part: part.index,
        model: part.model,
        requests: part.requests,
        status: failed !== undefined ? "failed" : missing === 0 ? "completed" : "partial",
        attempts,
        ...counts,
        missing,
        resends,
        followUps,
        usage,
        ...(failed === undefined ? {} : { failure: failed.message })
      }
    }

    return main.pipe(
      Effect.catchIf(
        (error): error is BatchError.PartFailedError => error instanceof BatchError.PartFailedError,
        (error) => env.continueOnFailure ? Effect.succeed(summary(error)) : Effect.fail(error)
      ),
      Effect.tap((done) => env.emit(JobReport.JobEvent.PartDone({ summary: done }))),
      Effect.withSpan("Job.part", { attributes: { "job.id": env.jobId, "job.part": part.index } })
    )
  })
