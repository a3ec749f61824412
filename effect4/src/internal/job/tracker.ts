/**
 * What a job may have left billing: every batch it created, every batch it found made by an earlier run, and every
 * create still in flight (its batch may exist, its id unknown). When the job is interrupted or fails (unless the
 * user opted out), `cancelAll` cancels each batch that may still run, and finds the creates in flight by their
 * marker in one listing of the job's batches since it started (the same listing finds duplicate batches, which it
 * cancels too). When the job succeeds, `sweep` lists once more and cancels what may still run: only duplicates
 * can be there.
 *
 * Every cancel is bounded (see `./cancel.ts`), they run in parallel, and each is reported.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Batch from "../../Batch.js"
import type * as BatchApi from "../../BatchApi.js"
import * as BatchSchedule from "../../BatchSchedule.js"
import * as Cancel from "./cancel.js"
import * as History from "./history.js"

/** One cancel, reported. @internal */
export interface Cancelled {
  readonly part: number
  readonly attempt: number
  readonly batchId: string
  readonly outcome: Cancel.Outcome
}

interface Entry {
  readonly part: number
  readonly attempt: number
  /** Absent while its create is in flight. */
  readonly batch: Batch.Batch | undefined
  readonly ended: boolean
}

/** @internal */
export interface Tracker {
  /** A create for (part, attempt) is about to be sent. */
  readonly creating: (part: number, attempt: number) => Effect.Effect<void>
  /** The batch of (part, attempt) exists (made now, adopted, or found). */
  readonly created: (part: number, attempt: number, batch: Batch.Batch) => Effect.Effect<void>
  /** The create of (part, attempt) made nothing (the API refused it). */
  readonly refused: (part: number, attempt: number) => Effect.Effect<void>
  /** The batch of (part, attempt) ended. */
  readonly ended: (part: number, attempt: number) => Effect.Effect<void>
  /** Cancels everything that may still run; `why` goes into the log. */
  readonly cancelAll: (why: string) => Effect.Effect<ReadonlyArray<Cancelled>>
  /** After a job that succeeded: cancels any batch of the job that may still run (a duplicate). */
  readonly sweep: Effect.Effect<ReadonlyArray<Cancelled>>
}

/** How many pages of 100 the final listing reads at most. */
const sweepPages = 20

/** A tracker for `jobId`, whose batches were all created at or after `sinceSeconds`. @internal */
export const make = (api: BatchApi.Service, jobId: string, sinceSeconds: number): Effect.Effect<Tracker> =>
  Effect.map(Ref.make(new Map<string, Entry>()), (entries) => {
    const key = (part: number, attempt: number) => `${part}/${attempt}`
    const set = (part: number, attempt: number, f: (entry: Entry | undefined) => Entry | undefined) =>
      Ref.update(entries, (all) => {
        const next = new Map(all)
        const entry = f(all.get(key(part, attempt)))
        if (entry === undefined) next.delete(key(part, attempt))
        else next.set(key(part, attempt), entry)
        return next
      })

    const cancel = (part: number, attempt: number, batchId: string, why: string) =>
      Effect.map(
        Cancel.cancelAbandoned(api, batchId, why),
        (outcome): Cancelled => ({ part, attempt, batchId, outcome })
      )

    /** The job's batches since it started that may still run and are not `known`. */
    const listed = (known: ReadonlySet<string>) => {
      const found: Array<{ readonly part: number; readonly attempt: number; readonly batch: Batch.Batch }> = []
      return History.scan(api, sinceSeconds, sweepPages, (batch) => {
        const tag = History.tagOf(batch, jobId)
        if (tag !== undefined && !known.has(batch.id) && History.mayRun(batch)) {
          found.push({ part: tag.part, attempt: tag.attempt, batch })
        }
      }).pipe(
        Effect.as(found),
        // As bounded as a cancel: transient failures retried briefly, 10 s in all.
        Effect.timeoutOrElse({
          duration: Cancel.cancelTimeout,
          orElse: () => Effect.fail({ _tag: "a timeout" } as const)
        }),
        BatchSchedule.withRetry(Cancel.retry),
        Effect.catch((error) =>
          Effect.as(
            Effect.logWarning(
              `effect-openai-batch: could not list the batches of job ${jobId} to cancel them (${error._tag}); a batch whose create was in flight may keep running`
            ),
            found
          )
        )
      )
    }

    const cancelAll = (why: string) =>
      Effect.gen(function*() {
        const all = [...(yield* Ref.get(entries)).values()]
        const known = all.flatMap((entry) =>
          entry.batch !== undefined && !entry.ended && History.mayRun(entry.batch) ? [entry] : []
        )
        const inFlight = all.some((entry) => entry.batch === undefined)
        const ids = new Set(all.flatMap((entry) => (entry.batch === undefined ? [] : [entry.batch.id])))
        const [direct, others] = yield* Effect.all([
          Effect.forEach(known, (entry) => cancel(entry.part, entry.attempt, entry.batch!.id, why), {
            concurrency: "unbounded"
          }),
          // Creates in flight, and duplicates, are found by listing (a create's batch may exist, its id unknown).
          inFlight || known.length > 0
            ? Effect.flatMap(
              listed(ids),
              (found) =>
                Effect.forEach(found, ({ attempt, batch, part }) => cancel(part, attempt, batch.id, why), {
                  concurrency: "unbounded"
                })
            )
            : Effect.succeed([])
        ], { concurrency: 2 })
        return [...direct, ...others]
      })

    const sweep = Effect.gen(function*() {
      const all = [...(yield* Ref.get(entries)).values()]
      const ids = new Set(all.flatMap((entry) => (entry.batch === undefined ? [] : [entry.batch.id])))
      const found = yield* listed(ids)
      return yield* Effect.forEach(
        found,
        ({ attempt, batch, part }) => cancel(part, attempt, batch.id, `a duplicate batch of job ${jobId}`),
        { concurrency: "unbounded" }
      )
    })

    return {
      creating: (part, attempt) => set(part, attempt, () => ({ part, attempt, batch: undefined, ended: false })),
      created: (part, attempt, batch) =>
        set(part, attempt, () => ({ part, attempt, batch, ended: Batch.isTerminal(batch) })),
      refused: (part, attempt) => set(part, attempt, () => undefined),
      ended: (part, attempt) => set(part, attempt, (entry) => entry === undefined ? entry : { ...entry, ended: true }),
      cancelAll,
      sweep
    } satisfies Tracker
  })
