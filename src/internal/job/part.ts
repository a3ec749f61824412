/**
 * The runner of one part: it carries out the decisions of the part's machine (`./machine.ts`) and feeds back what
 * happened. Upload, admission under the model's ledger, create (adopting the batch an earlier run made for the
 * same attempt), wait, delivery of results to the sink.
 *
 * Every step with an effect outside the process goes through `Steps`: run as it is in-process, or as a journaled
 * activity on the durable engine. Steps keep no state between them that is not in their results or in the API, so
 * a replayed step is enough to continue: a follow-up finds what is missing by reading the part's earlier results
 * again.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Batch from "../../Batch.js"
import * as BatchApiTag from "../../BatchApi.js"
import * as BatchError from "../../BatchError.js"
import type * as BatchLine from "../../BatchLine.js"
import * as BatchWait from "../../BatchWait.js"
import type * as JobBudget from "../../JobBudget.js"
import type * as JobPlan from "../../JobPlan.js"
import * as JobReport from "../../JobReport.js"
import type * as JobSink from "../../JobSink.js"
import * as Cancel from "./cancel.js"
import * as History from "./history.js"
import * as Machine from "./machine.js"
import type { Env } from "./partEnv.js"
import * as PartFile from "./partFile.js"
import * as PartResults from "./partResults.js"
import * as PartUpload from "./partUpload.js"
import * as Patience from "./patience.js"
import * as Summary from "./summary.js"

export { type Env, inProcess, type Steps } from "./partEnv.js"

/** What a part can fail with, besides its sink's errors. @internal */
export type PartError = BatchError.JobError

const Uploaded = Schema.Struct({ fileId: Schema.String, requests: Schema.Number, tokens: Schema.Number })
const Counts = Schema.Struct({ succeeded: Schema.Number, failed: Schema.Number, errored: Schema.Number })

/** A create the API refused for good (a 400, 404 or 422): nothing was made. @internal */
export const isRefusal = (
  error: unknown
): error is BatchError.BadRequestError | BatchError.NotFoundError | BatchError.UnprocessableEntityError =>
  BatchError.isBatchError(error) &&
  (error._tag === "BadRequestError" || error._tag === "NotFoundError" || error._tag === "UnprocessableEntityError")

/** @internal */
export const run = <E, R, X = never, RX = never>(
  part: JobPlan.Part,
  found: ReadonlyArray<History.Found>,
  env: Env<E, R, X, RX>
): Effect.Effect<JobReport.PartSummary, PartError | E | X, R | RX> =>
  Effect.suspend(() => {
    const name = (step: string, attempt: number) => `${step}/p${part.index}/a${attempt}`
    const ceiling = env.ceiling(part.model)
    /** The reservation of the batch in flight. */
    let reservation: JobBudget.Reservation | undefined
    /** The API's refusal of the last create, if it refused one. */
    let rejection: unknown

    const budgetChanged = Effect.flatMap(
      env.ledger.usage(part.model, ceiling),
      (usage) => env.emit(JobReport.JobEvent.BudgetChanged({ usage }))
    )

    const results = (batch: Batch.Batch, final: boolean) => PartResults.results(env, part, batch, final)
    const covered = (batches: ReadonlyArray<Batch.Batch>) => PartResults.covered(env, part, batches)

    const upload = (decision: Extract<Machine.Decision, { _tag: "Upload" }>, state: Machine.State) =>
      Effect.zipRight(
        decision.kind === "missing"
          ? env.emit(
            JobReport.JobEvent.PartResent({
              part: part.index,
              attempt: decision.attempt,
              reason: "missing",
              requests: decision.missing
            })
          )
          : Effect.void,
        uploadStep(decision, state)
      )

    const uploadStep = (decision: Extract<Machine.Decision, { _tag: "Upload" }>, state: Machine.State) =>
      env.steps.step(
        name("upload", decision.attempt),
        Uploaded,
        Effect.gen(function*() {
          yield* env.ensureFiles
          // A follow-up holds the requests without a result: the part's file, less the ones its batches answered.
          const ids = decision.kind === "full" ? undefined : yield* covered(state.delivered)
          const keep = ids === undefined ? undefined : (customId: string) => !ids.has(customId)
          const tally = keep === undefined
            ? { requests: part.requests, tokens: part.tokens }
            : yield* PartFile.tally(env.spool, part, keep, env.estimate)
          // A part waiting to try again holds no upload slot.
          const fileId = yield* env.uploads.withPermits(1)(PartUpload.upload(env, part, decision.attempt, keep)).pipe(
            Patience.patiently(`job ${env.jobId}: the upload of part ${part.index}`, env.patience)
          )
          yield* env.emit(
            JobReport.JobEvent.PartUploaded({
              part: part.index,
              attempt: decision.attempt,
              fileId,
              requests: tally.requests
            })
          )
          return { fileId, ...tally }
        })
      )

    /** Creates the attempt's batch, or adopts the one an earlier run made for it (same job, part and attempt). */
    const createOrAdopt = (decision: Extract<Machine.Decision, { _tag: "Create" }>) => {
      const tag: History.Tag = { part: part.index, attempt: decision.attempt, kind: decision.kind, digest: part.digest }
      return env.api.createBatch(
        {
          input_file_id: decision.fileId,
          endpoint: env.endpoint,
          completion_window: "24h",
          metadata: { ...env.metadata, ...History.metadata(env.jobId, tag) },
          ...(env.outputExpiresAfter === undefined ? {} : { output_expires_after: env.outputExpiresAfter })
        },
        env.derivedKeys === false
          ? {}
          : { idempotencyKey: History.idempotencyKey(env.jobId, part.index, decision.attempt) }
      ).pipe(
        Effect.catchTag("IdempotencyConflictError", (conflict) =>
          Effect.flatMap(env.api.retrieveBatch(conflict.batchId), (existing) => {
            const theirs = History.tagOf(existing, env.jobId)
            const same = theirs !== undefined && theirs.part === tag.part && theirs.attempt === tag.attempt &&
              theirs.digest === tag.digest
            if (!same) {
              return Effect.fail(conflict)
            }
            // The key is the job's own: this attempt's batch, made by an earlier run from an earlier upload.
            return Effect.logInfo(
              `effect-openai-batch: job ${env.jobId}, part ${part.index}, attempt ${decision.attempt}: adopting batch ${existing.id}, made by an earlier run`
            ).pipe(
              Effect.zipRight(
                existing.input_file_id === decision.fileId
                  ? Effect.void
                  : Effect.ignore(env.files.deleteFile(decision.fileId))
              ),
              Effect.as(existing)
            )
          }))
      )
    }

    const create = (decision: Extract<Machine.Decision, { _tag: "Create" }>) =>
      Effect.gen(function*() {
        const { attempt, claim } = decision
        if (decision.resend !== undefined) {
          yield* env.emit(
            JobReport.JobEvent.PartResent({
              part: part.index,
              attempt,
              reason: decision.resend,
              requests: claim.requests
            })
          )
          // Room is freed only by a batch that ends: with none of the model in flight, nothing will end, so back off.
          const usage = yield* env.ledger.usage(part.model, ceiling)
          if (usage.tokens === 0 && usage.requests === 0) {
            yield* env.steps.sleep(name("backoff", attempt), env.resendBackoff)
          }
        }
        yield* env.emit(
          JobReport.JobEvent.PartQueued({
            part: part.index,
            attempt,
            tokens: claim.tokens,
            usage: yield* env.ledger.usage(part.model, ceiling)
          })
        )
        const taken = yield* env.steps.admit(name("admit", attempt), env.ledger, claim, ceiling)
        reservation = taken
        yield* budgetChanged
        yield* env.tracker.creating(part.index, attempt)
        const withdraw = Effect.suspend(() => {
          reservation = undefined
          return Effect.zipRight(taken.release({ _tag: "Withdrawn" }), budgetChanged)
        })
        const made = env.steps.step(
          name("create", attempt),
          Batch.Batch,
          Patience.patiently(`job ${env.jobId}: the create of part ${part.index}`, env.patience)(
            createOrAdopt(decision)
          )
        )
        return yield* env.steps.compensate(made, (batch) =>
          Effect.asVoid(
            Cancel.cancelAbandoned(
              env.api,
              batch.id,
              `job ${env.jobId} failed or was interrupted (part ${part.index}, attempt ${attempt})`
            )
          )).pipe(
            Effect.tap((batch) =>
              Effect.zipRight(
                env.tracker.created(part.index, attempt, batch),
                env.emit(
                  JobReport.JobEvent.PartCreated({
                    part: part.index,
                    attempt,
                    kind: decision.kind,
                    batch,
                    resumed: false
                  })
                )
              )
            ),
            Effect.map((batch): Machine.Event => ({ _tag: "Created", batch })),
            Effect.catchIf(isRefusal, (error) =>
              Effect.gen(function*() {
                rejection = error
                yield* withdraw
                yield* env.tracker.refused(part.index, attempt)
                // The input file was made for this batch: nothing else will read it.
                yield* Effect.ignore(env.files.deleteFile(decision.fileId))
                return { _tag: "Rejected", message: error.message } satisfies Machine.Event
              })),
            Effect.tapError(() =>
              withdraw
            )
          )
      })

    /** Waits for a batch to end, in rounds of at most `steps.round`. */
    const awaitEnd = (batch: Batch.Batch, attempt: number) =>
      Effect.gen(function*() {
        let current = batch
        const deadline = env.waitTimeout === undefined ? undefined : Duration.decode(env.waitTimeout)
        const rounds = Duration.isFinite(env.steps.round) && deadline !== undefined
          ? Math.ceil(Duration.toMillis(deadline) / Duration.toMillis(env.steps.round))
          : undefined
        for (let round = 0; !Batch.isTerminal(current); round++) {
          if (rounds !== undefined && round >= rounds) {
            return yield* Effect.fail(
              new BatchError.WaitTimeoutError({
                batchId: batch.id,
                waitedMs: Duration.toMillis(deadline ?? Duration.zero),
                lastBatch: current,
                reason: "Deadline"
              })
            )
          }
          const wait = BatchWait.awaitBatch(batch.id, {
            schedule: env.poll,
            timeout: Duration.isFinite(env.steps.round) ? env.steps.round : env.waitTimeout,
            onProgress: (snapshot) =>
              env.emit(JobReport.JobEvent.PartProgress({ part: part.index, attempt, batch: snapshot }))
          }).pipe(
            Effect.provideService(BatchApiTag.BatchApi, env.api),
            // A round that ends before the batch does is not a failure: the next round goes on.
            Duration.isFinite(env.steps.round)
              ? Effect.catchTag("WaitTimeoutError", (error) => Effect.succeed(error.lastBatch ?? current))
              : (effect) => effect
          )
          current = yield* env.steps.step(`${name("await", attempt)}/r${round}`, Batch.Batch, wait)
        }
        return current
      })

    const await_ = (decision: Extract<Machine.Decision, { _tag: "Await" }>) =>
      Effect.gen(function*() {
        const { attempt, batch } = decision
        if (decision.resumed) {
          // A batch an earlier run made: in flight, it holds room again; ended, it is only told.
          reservation = Batch.isTerminal(batch) ? undefined : yield* env.ledger.reserveNow(decision.claim, ceiling)
          yield* env.tracker.created(part.index, attempt, batch)
          yield* env.emit(
            JobReport.JobEvent.PartCreated({ part: part.index, attempt, kind: decision.kind, batch, resumed: true })
          )
        }
        const held = reservation
        reservation = undefined
        // Told before the reservation is released, so that what its room lets start comes after it in the events.
        const ended = yield* awaitEnd(batch, attempt).pipe(
          Effect.tap((ended) =>
            Effect.zipRight(
              env.tracker.ended(part.index, attempt),
              env.emit(
                JobReport.JobEvent.PartEnded({
                  part: part.index,
                  attempt,
                  batch: ended,
                  cost: Summary.batchCost(env.pricing, part.model, ended)
                })
              )
            )
          ),
          // A batch that ended frees room, one that failed on a limit teaches the ledger; a wait that failed or was
          // interrupted only gives its claim back.
          Effect.onExit((exit) =>
            held === undefined ? Effect.void : Effect.zipRight(
              held.release(
                Exit.isSuccess(exit) ? Machine.releaseOutcome(exit.value, env.safetyFactor) : { _tag: "Withdrawn" }
              ),
              budgetChanged
            )
          )
        )
        return { _tag: "Ended", batch: ended } satisfies Machine.Event
      })

    /** Reads an ended batch's results: to the sink (unless it has them); returns what they were. */
    const deliver = (decision: Extract<Machine.Decision, { _tag: "Deliver" }>) =>
      env.steps.step(
        name("results", decision.attempt),
        Counts,
        Effect.gen(function*() {
          const { attempt, batch } = decision
          const delivery: JobSink.Delivery = { jobId: env.jobId, part: part.index, attempt, batchId: batch.id }
          const tally = { succeeded: 0, failed: 0, errored: 0 }
          const taken = results(batch, decision.final).pipe(
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
          // The sink, then one more pull: a result still there after the sink ended is one it never saw (a
          // `Sink.take(n)`, a `Sink.collectAllN` used for a first batch): the part fails rather than lose it.
          const left = yield* env.downloads.withPermits(1)(
            stored
              ? Effect.as(Stream.runDrain(taken), Option.none())
              : Stream.run(taken, Sink.flatMap(env.sink.sink(delivery), () => Sink.head<BatchLine.BatchResult>()))
          )
          if (Option.isSome(left)) {
            return yield* new BatchError.PartFailedError({
              jobId: env.jobId,
              part: part.index,
              reason: "sink",
              errors: [],
              batch,
              operation: env.operation
            })
          }
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
          return tally
        })
      ).pipe(Effect.map((counts): Machine.Event => ({ _tag: "Delivered", counts })))

    /** A failed batch's errors, each mapped back to its input line (for a full attempt: lines run in order). */
    const inputLines = (batch: Batch.Batch | undefined, kind: JobReport.AttemptKind | undefined) =>
      (batch?.errors?.data ?? []).map((item) =>
        item.line === undefined || kind !== "full" ? null : PartFile.inputLine(part, item.line) ?? null
      )

    const failure = (
      decision: Extract<Machine.Decision, { _tag: "Fail" }>,
      kind: JobReport.AttemptKind | undefined
    ) => {
      const lines = inputLines(decision.batch, kind)
      return new BatchError.PartFailedError({
        jobId: env.jobId,
        part: part.index,
        reason: decision.reason,
        errors: decision.batch?.errors?.data ?? [],
        ...(decision.batch === undefined ? {} : { batch: decision.batch, inputLines: lines }),
        ...(decision.reason === "rejected" && rejection !== undefined ? { cause: rejection } : {}),
        operation: env.operation
      })
    }

    /** Duplicates of an attempt (the create protocol's documented race): cancelled now, never delivered. */
    const cancelDuplicates = Effect.forEach(
      found.flatMap((attempt) => attempt.duplicates.map((batch) => [attempt, batch] as const)),
      ([attempt, batch]) =>
        Effect.gen(function*() {
          const outcome = History.mayRun(batch)
            ? yield* Cancel.cancelAbandoned(
              env.api,
              batch.id,
              `a duplicate of batch ${attempt.batch.id} (job ${env.jobId}, part ${part.index}, attempt ${attempt.tag.attempt})`
            )
            : "ended"
          yield* env.emit(
            JobReport.JobEvent.DuplicateFound({
              part: part.index,
              attempt: attempt.tag.attempt,
              batchId: batch.id,
              keptBatchId: attempt.batch.id,
              outcome
            })
          )
        }),
      { discard: true }
    )

    const main = Effect.gen(function*() {
      yield* cancelDuplicates
      let [state, decision] = Machine.start(
        { index: part.index, model: part.model, requests: part.requests, tokens: part.tokens, digest: part.digest },
        found,
        env.policy
      )
      for (;;) {
        let event: Machine.Event
        switch (decision._tag) {
          case "Upload": {
            const uploaded = yield* upload(decision, state)
            event = { _tag: "Uploaded", ...uploaded }
            break
          }
          case "Create":
            event = yield* create(decision)
            break
          case "Await":
            event = yield* await_(decision)
            break
          case "Deliver":
            event = yield* deliver(decision)
            break
          case "Done":
            return decision.summary
          case "Changed":
            return yield* Effect.fail(
              new BatchError.JobInputChangedError({
                jobId: env.jobId,
                part: part.index,
                batchId: decision.batch.id,
                expected: part.digest,
                found: decision.found,
                operation: env.operation
              })
            )
          case "Fail": {
            const error = failure(decision, state.current?.kind)
            if (env.continueOnFailure) return { ...decision.summary, failure: error.message }
            return yield* Effect.fail(error)
          }
        }
        ;[state, decision] = Machine.step(state, event)
      }
    })

    return main.pipe(
      // A part interrupted (or failed) between its admission and its wait (a create in flight, an event handler)
      // gives its claim back: the ledger is shared by every job of the layer, and a claim kept forever stalls them.
      Effect.onExit(() => {
        const held = reservation
        reservation = undefined
        return held === undefined ? Effect.void : Effect.zipRight(held.release({ _tag: "Withdrawn" }), budgetChanged)
      }),
      Effect.map((done) => Summary.withCost(env.pricing, done)),
      Effect.tap((done) => env.emit(JobReport.JobEvent.PartDone({ summary: done }))),
      Effect.withSpan("Job.part", { attributes: { "job.id": env.jobId, "job.part": part.index } })
    )
  })
