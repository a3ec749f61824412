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
 * Every step with an effect outside the process (upload, admission, create, a round of waiting, results) goes
 * through `Steps`: run as it is in-process, or as a journaled activity on the durable engine. Steps keep no
 * state between them that is not in their results or in the API, so a replayed step is enough to continue: a
 * follow-up finds what is missing by reading the part's earlier results again.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Batch from "../Batch.js"
import * as BatchApi from "../BatchApi.js"
import * as BatchError from "../BatchError.js"
import * as BatchLine from "../BatchLine.js"
import * as BatchResults from "../BatchResults.js"
import type * as BatchSchedule from "../BatchSchedule.js"
import * as BatchWait from "../BatchWait.js"
import type * as JobBudget from "../JobBudget.js"
import * as JobPlan from "../JobPlan.js"
import * as JobReport from "../JobReport.js"
import type * as JobSink from "../JobSink.js"
import * as OpenAiFiles from "../OpenAiFiles.js"
import * as Cancel from "./cancel.js"
import * as IdSet from "./idSet.js"
import * as JobBatches from "./jobBatches.js"

/**
 * How the steps of a part are run: in-process, or journaled by a workflow engine (which may fail a step with any
 * `X` and needs `RX`).
 *
 * @internal
 */
export interface Steps<X = never, RX = never> {
  /**
   * Runs `effect` as a step named `name` whose result `success` encodes (replayed from a journal if it has one). A
   * journal can keep the library's errors (`BatchError`); it makes any other failure a defect.
   */
  readonly step: <A, I, E, R>(
    name: string,
    success: Schema.Schema<A, I>,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | X, R | RX>
  /** Takes `claim` from the ledger, waiting for room; on a replay, takes it at once. */
  readonly admit: (name: string, ledger: JobBudget.Ledger, claim: JobBudget.Claim) => Effect.Effect<void, X, RX>
  /** A backoff (durable on an engine). */
  readonly sleep: (name: string, duration: Duration.Duration) => Effect.Effect<void, X, RX>
  /** How long one waiting step may last (`Infinity`: one step waits to the end). */
  readonly round: Duration.Duration
}

/** Steps in-process: each runs as it is. @internal */
export const inProcess: Steps = {
  step: (_name, _success, effect) => effect,
  admit: (_name, ledger, claim) => ledger.reserve(claim),
  sleep: (_name, duration) => Effect.sleep(duration),
  round: Duration.infinity
}

/** What every part of a job shares. @internal */
export interface Env<E, R, X = never, RX = never> {
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
  /**
   * Reading results is CPU work on the one JavaScript thread: several parts read at once go no faster, and hold more
   * memory in transit. Deliveries take turns.
   */
  readonly downloads: Effect.Semaphore
  readonly maxResends: number
  readonly maxFollowUps: number
  readonly resendBackoff: Duration.Duration
  readonly resendWhen: ((result: BatchLine.BatchResult) => boolean) | undefined
  readonly poll: BatchSchedule.PollSchedule | undefined
  readonly waitTimeout: Duration.DurationInput | undefined
  readonly cancelOnInterrupt: boolean
  /** A failed part ends with a failed summary instead of failing the job. */
  readonly continueOnFailure: boolean
  readonly steps: Steps<X, RX>
  /** Makes sure the part files exist before they are read (a durable job's runner may not have them). */
  readonly ensureFiles: Effect.Effect<void, BatchError.PlanError>
}

/** What a part can fail with, besides its sink's errors. @internal */
export type PartError = BatchError.JobError

type Decision =
  | { readonly _tag: "Start" }
  | { readonly _tag: "Done" }
  | { readonly _tag: "FollowUp" }
  | {
    readonly _tag: "Resend"
    readonly reason: "token_limit_exceeded" | "request_limit_exceeded"
    readonly kind: JobReport.AttemptKind
    readonly fileId: string
    readonly requests: number
    readonly tokens: number
  }
  | { readonly _tag: "Fail"; readonly error: BatchError.PartFailedError }

/** Errors that mean "your enqueued limit was full when this batch passed validation": send it again later. */
const limitCodes: ReadonlySet<string> = new Set(["token_limit_exceeded", "request_limit_exceeded"])

const Uploaded = Schema.Struct({ fileId: Schema.String, requests: Schema.Number, tokens: Schema.Number })
const Counts = Schema.Struct({ succeeded: Schema.Number, failed: Schema.Number, errored: Schema.Number })
type Counts = typeof Counts.Type

/** @internal */
export const run = <E, R, X = never, RX = never>(
  part: JobPlan.Part,
  history: ReadonlyArray<readonly [JobBatches.Tag, Batch.Batch]>,
  env: Env<E, R, X, RX>
): Effect.Effect<JobReport.PartSummary, PartError | E | X, R | RX> =>
  Effect.suspend(() => {
    const counts = { succeeded: 0, failed: 0, errored: 0 }
    const attempts: Array<JobReport.Attempt> = []
    /** Ended batches whose results count (completed, expired, cancelled), in order. */
    const withResults: Array<Batch.Batch> = []
    let usage = JobReport.noUsage
    let resends = 0
    let followUps = 0
    const name = (step: string, attempt: number) => `${step}/p${part.index}/a${attempt}`
    const partClaim: JobBudget.Claim = { model: part.model, tokens: part.tokens, requests: part.requests }
    const withFs = <A, E1, R1>(effect: Effect.Effect<A, E1, R1>) =>
      Effect.provideService(effect, FileSystem.FileSystem, env.fs)

    // ------------------------------------------------------------------------------------------------------------
    // Steps
    // ------------------------------------------------------------------------------------------------------------

    /** The results of a batch that count: not the lines of requests that never ran, not the ones to re-send. */
    const results = (batch: Batch.Batch, final: boolean) =>
      BatchResults.stream(batch).pipe(
        Stream.provideService(OpenAiFiles.OpenAiFiles, env.files),
        Stream.filter((result) =>
          !BatchLine.neverRan(result) &&
          (final || env.resendWhen === undefined || !env.resendWhen(result))
        )
      )

    /** The `custom_id`s with a result so far, read again from the part's earlier batches. */
    const covered = (final: boolean) =>
      Effect.gen(function*() {
        const ids = IdSet.make(Math.min(part.requests, 65_536))
        for (const batch of withResults) {
          yield* env.downloads.withPermits(1)(
            Stream.runForEach(results(batch, final), (result) => Effect.sync(() => ids.add(result.custom_id, 0)))
          )
        }
        return ids
      })

    const upload = (attempt: number, kind: JobReport.AttemptKind) =>
      env.steps.step(
        name("upload", attempt),
        Uploaded,
        Effect.gen(function*() {
          yield* env.ensureFiles
          // A follow-up holds the requests without a result: the part's file, less the ones its batches answered.
          const ids = kind === "full" ? undefined : yield* covered(false)
          const keep = ids === undefined ? undefined : (customId: string) => ids.get(customId) === undefined
          const tally = keep === undefined
            ? { requests: part.requests, tokens: part.tokens }
            : yield* withFs(JobPlan.tally(part, keep, env.estimate))
          const file = yield* env.uploads.withPermits(1)(env.files.uploadFile({
            file: Stream.provideService(JobPlan.lines(part, keep), FileSystem.FileSystem, env.fs),
            filename: `${env.jobId}.part-${part.index}.attempt-${attempt}.jsonl`,
            purpose: "batch",
            replayable: true
          }))
          yield* env.emit(
            JobReport.JobEvent.PartUploaded({ part: part.index, attempt, fileId: file.id, requests: tally.requests })
          )
          return { fileId: file.id, ...tally }
        })
      )

    const budgetChanged = Effect.flatMap(env.ledger.usage(part.model), (u) =>
      env.emit(JobReport.JobEvent.BudgetChanged({ usage: u })))
    const release = (claim: JobBudget.Claim) =>
      Effect.zipRight(env.ledger.release(claim), budgetChanged)

    /** Waits for a batch to end, in rounds of at most `steps.round`; cancels it if the job is interrupted. */
    const awaitEnd = (batch: Batch.Batch, attempt: number) =>
      Effect.gen(function*() {
        let current = batch
        for (let round = 0; !Batch.isTerminal(current); round++) {
          const deadline = env.waitTimeout === undefined ? undefined : Duration.decode(env.waitTimeout)
          const rounds = Duration.isFinite(env.steps.round) && deadline !== undefined
            ? Math.ceil(Duration.toMillis(deadline) / Duration.toMillis(env.steps.round))
            : undefined
          if (rounds !== undefined && round >= rounds) {
            return yield* Effect.fail(
              new BatchError.WaitTimeoutError({
                batchId: batch.id,
                waitedMs: Duration.toMillis(deadline ?? Duration.zero),
                lastBatch: current,
                message:
                  `gave up waiting for batch ${batch.id} of job ${env.jobId}, part ${part.index}: deadline reached`
              })
            )
          }
          const wait = BatchWait.awaitBatch(batch.id, {
            schedule: env.poll,
            timeout: Duration.isFinite(env.steps.round) ? env.steps.round : env.waitTimeout,
            onProgress: (snapshot) =>
              env.emit(JobReport.JobEvent.PartProgress({ part: part.index, attempt, batch: snapshot }))
          }).pipe(
            Effect.provideService(BatchApi.BatchApi, env.api),
            // A round that ends before the batch does is not a failure: the next round goes on.
            Duration.isFinite(env.steps.round)
              ? Effect.catchTag("WaitTimeoutError", (error) => Effect.succeed(error.lastBatch ?? current))
              : (effect) => effect
          )
          current = yield* env.steps.step(`${name("await", attempt)}/r${round}`, Batch.Batch, wait)
        }
        yield* env.emit(JobReport.JobEvent.PartEnded({ part: part.index, attempt, batch: current }))
        return current
      }).pipe(
        env.cancelOnInterrupt
          ? (wait) =>
            Effect.onInterrupt(
              wait,
              () => Cancel.cancelAbandoned(env.api, batch.id, `job ${env.jobId} was interrupted`)
            )
          : (wait) => wait
      )

    /** Reads an ended batch's results: to the sink (unless it has them); returns what they were. */
    const collect = (batch: Batch.Batch, attempt: number) =>
      env.steps.step(
        name("results", attempt),
        Counts,
        Effect.gen(function*() {
          const delivery: JobSink.Delivery = { jobId: env.jobId, part: part.index, attempt, batchId: batch.id }
          // Results a later follow-up may replace are held back, unless none may follow.
          const tally: { succeeded: number; failed: number; errored: number } = { succeeded: 0, failed: 0, errored: 0 }
          const taken = results(batch, followUps >= env.maxFollowUps).pipe(
            Stream.mapChunks((chunk) => {
              for (const result of chunk) {
                if (result._tag === "Succeeded") tally.succeeded++
                else if (result._tag === "FailedResponse") tally.failed++
                else tally.errored++
              }
              return chunk
            })
          )
          const stored = env.sink.stored === undefined ? false : yield* env.sink.stored(delivery)
          yield* env.downloads.withPermits(1)(stored ? Stream.runDrain(taken) : env.sink.deliver(delivery, taken))
          const total = tally.succeeded + tally.failed + tally.errored
          yield* env.emit(
            JobReport.JobEvent.ResultsDelivered({
              part: part.index,
              attempt,
              batchId: batch.id,
              results: total,
              skipped: stored
            })
          )
          return tally satisfies Counts
        })
      )

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
    const ended = (
      batch: Batch.Batch,
      tag: JobBatches.Tag,
      resumed: boolean,
      claim: JobBudget.Claim
    ): Effect.Effect<Decision, PartError | E | X, R | RX> =>
      Effect.gen(function*() {
        const code = batch.errors?.data?.[0]?.code
        attempts.push({
          attempt: tag.attempt,
          kind: tag.kind,
          batchId: batch.id,
          status: batch.status,
          requests: batch.request_counts?.total ?? claim.requests,
          errorCode: code,
          resumed
        })
        usage = JobReport.addUsage(usage, JobReport.usageOf(batch))
        if (batch.status === "failed") {
          if (code !== undefined && limitCodes.has(code)) {
            const reason = code === "token_limit_exceeded" ? "token_limit_exceeded" : "request_limit_exceeded"
            return {
              _tag: "Resend",
              reason,
              kind: tag.kind,
              fileId: batch.input_file_id,
              requests: claim.requests,
              tokens: claim.tokens
            } satisfies Decision
          }
          const first = batch.errors?.data?.[0]
          const why = first === undefined ? "" : `: ${first.code ?? "error"}: ${first.message ?? ""}`
          return { _tag: "Fail", error: failure("failed", `batch ${batch.id} failed${why}`, batch) } satisfies Decision
        }
        const got = yield* collect(batch, tag.attempt)
        withResults.push(batch)
        counts.succeeded += got.succeeded
        counts.failed += got.failed
        counts.errored += got.errored
        const next: Decision = missing() > 0 && followUps < env.maxFollowUps ? { _tag: "FollowUp" } : { _tag: "Done" }
        return next
      })

    const missing = () => Math.max(0, part.requests - counts.succeeded - counts.failed - counts.errored)

    const create = (attempt: number, kind: JobReport.AttemptKind, fileId: string) =>
      env.steps.step(
        name("create", attempt),
        Batch.Batch,
        env.api.createBatch(
          {
            input_file_id: fileId,
            endpoint: env.endpoint,
            completion_window: "24h",
            metadata: {
              ...env.metadata,
              ...JobBatches.metadata(env.jobId, { part: part.index, attempt, kind, digest: part.digest })
            },
            ...(env.outputExpiresAfter === undefined ? {} : { output_expires_after: env.outputExpiresAfter })
          },
          { idempotencyKey: JobBatches.idempotencyKey(env.jobId, part.index, attempt) }
        )
      )

    // ------------------------------------------------------------------------------------------------------------
    // The attempts
    // ------------------------------------------------------------------------------------------------------------

    let decision: Decision = { _tag: "Start" }
    let attempt = 0

    const main = Effect.gen(function*() {
      // The batches an earlier run made, decided again the same way.
      for (const [tag, found] of history) {
        if (tag.digest !== part.digest) {
          return yield* Effect.fail(
            new BatchError.JobInputChangedError({
              jobId: env.jobId,
              part: part.index,
              batchId: found.id,
              expected: part.digest,
              found: tag.digest,
              message:
                `job ${env.jobId}: batch ${found.id} of part ${part.index} was made from other requests than the part has now (the input or the options that split it changed)`
            })
          )
        }
        if (decision._tag === "Resend") resends++
        else if (tag.kind === "missing") followUps++
        attempt = tag.attempt
        yield* env.emit(
          JobReport.JobEvent.PartCreated({ part: part.index, attempt, kind: tag.kind, batch: found, resumed: true })
        )
        const claim: JobBudget.Claim = tag.kind === "full"
          ? partClaim
          : { model: part.model, tokens: part.tokens, requests: found.request_counts?.total ?? part.requests }
        let batch = found
        if (!Batch.isTerminal(found)) {
          yield* env.ledger.reserveNow(claim)
          batch = yield* Effect.ensuring(awaitEnd(found, attempt), release(claim))
        }
        decision = yield* ended(batch, tag, true, claim)
      }

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
            fileId = (yield* upload(attempt, kind)).fileId
            break
          }
          case "FollowUp": {
            followUps++
            attempt++
            kind = "missing"
            yield* env.emit(
              JobReport.JobEvent.PartResent({ part: part.index, attempt, reason: "missing", requests: missing() })
            )
            const uploaded = yield* upload(attempt, kind)
            fileId = uploaded.fileId
            claim = { model: part.model, tokens: uploaded.tokens, requests: uploaded.requests }
            break
          }
          case "Resend": {
            if (resends >= env.maxResends) {
              return yield* Effect.fail(
                failure("limits", `its batches kept failing with ${decision.reason} after ${resends} re-sends`)
              )
            }
            resends++
            attempt++
            kind = decision.kind
            fileId = decision.fileId
            claim = { model: part.model, tokens: decision.tokens, requests: decision.requests }
            yield* env.emit(
              JobReport.JobEvent.PartResent({
                part: part.index,
                attempt,
                reason: decision.reason,
                requests: claim.requests
              })
            )
            // The API's count includes what this job cannot see: wait until a batch of the model ends (freeing room
            // there too), or for the backoff when none is in flight.
            const now = yield* env.ledger.usage(part.model)
            yield* now.tokens > 0 || now.requests > 0
              ? env.ledger.awaitRelease(part.model, now.released, env.resendBackoff)
              : env.steps.sleep(name("backoff", attempt), env.resendBackoff)
            break
          }
        }
        yield* env.emit(
          JobReport.JobEvent.PartQueued({
            part: part.index,
            attempt,
            tokens: claim.tokens,
            usage: yield* env.ledger.usage(part.model)
          })
        )
        yield* env.steps.admit(name("admit", attempt), env.ledger, claim)
        yield* budgetChanged
        const created = yield* create(attempt, kind, fileId).pipe(
          Effect.catchIf(
            (
              error
            ): error is BatchError.BadRequestError | BatchError.NotFoundError | BatchError.UnprocessableEntityError =>
              error instanceof BatchError.BadRequestError || error instanceof BatchError.NotFoundError ||
              error instanceof BatchError.UnprocessableEntityError,
            (error) => Effect.fail(failure("rejected", `the API refused its batch: ${error.message}`))
          ),
          Effect.tapError(() => release(claim))
        )
        yield* env.emit(
          JobReport.JobEvent.PartCreated({ part: part.index, attempt, kind, batch: created, resumed: false })
        )
        const batch = yield* Effect.ensuring(awaitEnd(created, attempt), release(claim))
        decision = yield* ended(batch, { part: part.index, attempt, kind, digest: part.digest }, false, claim)
      }
    })

    function summary(failed?: BatchError.PartFailedError): JobReport.PartSummary {
      const left = missing()
      return {
        part: part.index,
        model: part.model,
        requests: part.requests,
        status: failed !== undefined ? "failed" : left === 0 ? "completed" : "partial",
        attempts,
        ...counts,
        missing: left,
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
