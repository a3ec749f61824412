/**
 * A job run in-process, start to end: its options resolved, its parts planned (into memory or a work directory),
 * the batches an earlier run made found from the API, every part run (`./part.ts`) under the shared ledger, and
 * on the way out, whatever may still bill cancelled (`./tracker.ts`) when the job failed or was interrupted, and
 * duplicates swept when it succeeded.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as BatchApi from "../../BatchApi.js"
import type * as BatchError from "../../BatchError.js"
import * as JobBudget from "../../JobBudget.js"
import type * as JobPlan from "../../JobPlan.js"
import * as JobReport from "../../JobReport.js"
import * as OpenAiFiles from "../../OpenAiFiles.js"
import * as OpenAiUploads from "../../OpenAiUploads.js"
import * as Operation from "../http/operation.js"
import * as Budgets from "./budgets.js"
import * as History from "./history.js"
import { requestsOf } from "./input.js"
import * as Options from "./options.js"
import * as Part from "./part.js"
import * as Planner from "./planner.js"
import * as Spool from "./spool.js"
import * as Summary from "./summary.js"
import * as Tracker from "./tracker.js"
import * as WorkDir from "./workDir.js"

/** What a job needs besides its input's and its sink's requirements. @internal */
export type Services = BatchApi.BatchApi | OpenAiFiles.OpenAiFiles | OpenAiUploads.OpenAiUploads | JobBudget.Ledger

/** Where a job's parts are spooled: in memory, or a work directory (given, or a temporary one). @internal */
export type SpoolSource =
  | { readonly _tag: "Memory" }
  | { readonly _tag: "Files"; readonly fs: FileSystem.FileSystem; readonly path: Path.Path }

/**
 * Runs a job whose requests are `requests` (unknown values, checked by the planner). `checkFirst`: the whole input
 * is checked before anything is sent (it is in memory, or can be read twice).
 *
 * @internal
 */
export const run = <IE, IR, E, R>(
  operation: string,
  requests: Stream.Stream<unknown, IE, IR>,
  checkFirst: boolean,
  options: Options.Resolved<E, R>,
  spoolSource: SpoolSource
): Effect.Effect<JobReport.JobSummary, BatchError.JobError | IE | E, IR | R | Services> =>
  Effect.gen(function*() {
    const api = yield* BatchApi.BatchApi
    const files = yield* OpenAiFiles.OpenAiFiles
    const uploadsApi = yield* OpenAiUploads.OpenAiUploads
    const ledger = yield* JobBudget.Ledger
    const startedAt = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const spool = spoolSource._tag === "Memory"
      ? Spool.memory()
      : Spool.files(
        spoolSource.fs,
        spoolSource.path,
        options.workDir ?? (yield* WorkDir.make(spoolSource.fs, spoolSource.path, options.jobId, options.lookback))
      )
    const emit = options.onEvent
    const history: ReadonlyMap<number, ReadonlyArray<History.Found>> = options.fresh === true
      ? new Map()
      : yield* History.list(api, options.jobId, { lookback: options.lookback, maxPages: options.maxPages })
    // A re-run's batches were made before this run started: the sweep looks back to the oldest of them.
    const oldest = Math.min(
      startedAt,
      ...[...history.values()].flatMap((found) => found.map((attempt) => attempt.batch.created_at))
    )
    const tracker = yield* Tracker.make(api, options.jobId, oldest)
    const env = yield* makeEnv(
      operation,
      options,
      { api, files, uploadsApi, ledger, spool, tracker },
      Part.inProcess,
      Effect.void
    )
    let planned = 0
    let requested = 0
    const unbudgeted = warnUnbudgeted(options.limits)
    const parts = Planner.plan(requests, planOptions(options, operation), spool).pipe(
      Stream.tap((part) => unbudgeted(part.model)),
      Stream.tap((part) =>
        Effect.zipRight(
          Effect.sync(() => {
            planned++
            requested += part.requests
          }),
          emit(
            JobReport.JobEvent.PartPlanned({
              part: part.index,
              model: part.model,
              requests: part.requests,
              tokens: part.tokens
            })
          )
        )
      ),
      Stream.onEnd(Effect.suspend(() => emit(JobReport.JobEvent.PlanDone({ parts: planned, requests: requested }))))
    )
    const source: Stream.Stream<JobPlan.Part, IE | BatchError.PlanError, IR> = checkFirst
      ? Stream.fromIterable(yield* Stream.runCollect(parts))
      : parts
    const summaries = yield* source.pipe(
      Stream.mapEffect((part) => Part.run(part, history.get(part.index) ?? [], env), {
        concurrency: options.concurrency,
        unordered: true
      }),
      Stream.runCollect,
      Effect.onExit((exit) => {
        const report = (cancelled: ReadonlyArray<Tracker.Cancelled>) =>
          Effect.forEach(cancelled, (c) => emit(JobReport.JobEvent.BatchCancelled(c)), { discard: true })
        if (Exit.isSuccess(exit)) return Effect.flatMap(tracker.sweep, report)
        if (!options.cancelOnExit) return Effect.void
        const why = Exit.isInterrupted(exit)
          ? `job ${options.jobId} was interrupted`
          : `job ${options.jobId} failed`
        return Effect.flatMap(tracker.cancelAll(why), report)
      })
    )
    const summary = Summary.summarize(options.jobId, Chunk.toReadonlyArray(summaries), options.pricing)
    yield* emit(JobReport.JobEvent.JobDone({ summary }))
    return summary
  }).pipe(
    Effect.scoped,
    // The user called `operation`: the errors of the requests it sends name it, not the service call under it.
    Operation.named(operation),
    Effect.withSpan(operation, { attributes: { "job.id": options.jobId } })
  )

/** What the steps of every part need besides the options. @internal */
export interface Shared {
  readonly api: BatchApi.Service
  readonly files: OpenAiFiles.Service
  readonly uploadsApi: OpenAiUploads.Service
  readonly ledger: JobBudget.LedgerService
  readonly spool: Spool.Spool
  readonly tracker: Tracker.Tracker
}

/**
 * Tells a part's model that the job's per-model budgets leave out: a WARN, once per model, when its first part is
 * planned (the job goes on: a budget may name only the models it means to hold back).
 *
 * @internal
 */
export const warnUnbudgeted = (budgets: JobBudget.Budgets | undefined): (model: string) => Effect.Effect<void> => {
  const warned = new Set<string>()
  return (model) => {
    if (warned.has(model) || !Budgets.leavesOut(budgets, model)) return Effect.void
    warned.add(model)
    return Effect.logWarning(
      `effect-openai-batch: the job's budget names no limit for model ${model} (nor "*"): its parts are admitted ` +
        "with no limit on its enqueued budget"
    )
  }
}

/** The parts' environment, in-process or durable (`steps`). @internal */
export const makeEnv = <E, R, X, RX>(
  operation: string,
  options: Options.Resolved<E, R>,
  shared: Shared,
  steps: Part.Steps<X, RX>,
  ensureFiles: Effect.Effect<void, BatchError.PlanError>
): Effect.Effect<Part.Env<E, R, X, RX>> =>
  Effect.map(
    Effect.all([Effect.makeSemaphore(options.uploadConcurrency), Effect.makeSemaphore(1)]),
    ([uploads, downloads]) => ({
      ...shared,
      operation,
      jobId: options.jobId,
      endpoint: options.endpoint,
      metadata: options.metadata,
      outputExpiresAfter: options.outputExpiresAfter,
      fileExpiresAfter: options.fileExpiresAfter,
      uploadsAbove: options.uploadsApiAbove,
      ceiling: (model) => Budgets.ceilingOf(options.limits, options.safetyFactor, model),
      safetyFactor: options.safetyFactor,
      sink: options.sink,
      emit: options.onEvent,
      estimate: options.estimate,
      uploads,
      downloads,
      policy: { maxResends: options.maxResends, maxFollowUps: options.maxFollowUps },
      resendBackoff: options.resendBackoff,
      patience: options.patience,
      resendWhen: options.resendWhen,
      malformed: options.malformed,
      onMalformed: options.onMalformed,
      poll: options.poll,
      waitTimeout: options.waitTimeout,
      continueOnFailure: options.continueOnFailure,
      pricing: options.pricing,
      steps,
      ensureFiles,
      derivedKeys: options.fresh !== true
    })
  )

/** The planner's options from a job's. @internal */
export const planOptions = <E, R>(options: Options.Resolved<E, R>, operation: string): Planner.Options => ({
  operation,
  endpoint: options.endpoint,
  maxRequests: options.maxRequestsPerPart,
  maxBytes: options.maxBytesPerPart,
  maxInputs: options.maxInputsPerPart,
  budgets: options.limits,
  safetyFactor: options.safetyFactor,
  partFraction: options.partFraction,
  estimate: options.estimate,
  maxParts: options.maxParts
})

/** Whether the whole input can be checked before anything is sent (it is in memory, or can be read twice). */
const checkFirst = <E, R>(input: JobPlan.Input<E, R>) => !Predicate.hasProperty(input, Stream.StreamTypeId)

const spoolIsMemory = <E, R>(input: JobPlan.Input<E, R>, spool: "auto" | "memory" | "files") =>
  spool === "memory" ||
  (spool === "auto" && Array.isArray(input) && input.length <= Options.defaults.memorySpoolRequests)

/**
 * `Job.run`, `Job.stream` and `Job.events` from the user's input and options: resolved, spooled in memory or on
 * disk, run; errors and span name `operation`, the public function called.
 *
 * @internal
 */
export const runInput = <IE, IR, E, R>(
  operation: string,
  input: JobPlan.Input<IE, IR>,
  options: Options.Input<E, R>
) =>
  Effect.gen(function*() {
    const resolved = yield* resolveOrFail(operation, options)
    const source: SpoolSource = spoolIsMemory(input, resolved.spool) ? { _tag: "Memory" } : yield* filesSource
    return yield* run(operation, requestsOf(input), checkFirst(input), resolved, source)
  })

/** Resolves `input` options, or fails with the typed error naming the option. @internal */
export const resolveOrFail = <E, R>(operation: string, input: Options.Input<E, R>) =>
  Either.match(Options.resolve(operation, input), { onLeft: Effect.fail, onRight: Effect.succeed })

/** A file system spool source, from the context. @internal */
export const filesSource: Effect.Effect<SpoolSource, never, FileSystem.FileSystem | Path.Path> = Effect.map(
  Effect.all([FileSystem.FileSystem, Path.Path]),
  ([fs, path]) => ({ _tag: "Files", fs, path })
)
