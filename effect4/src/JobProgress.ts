/**
 * A job's progress as people expect to see it: a state folded from the job's events (`update`), drawn as text lines
 * (`render`: requests done of the total, elapsed time, rate and ETA, the cost so far with a price table, each
 * model's enqueued estimate against its limit, the parts at work), and a live view (`view`) that redraws in place on a terminal, without leftovers, or
 * prints a line per interval anywhere else (a CI log, a file).
 *
 * The totals are honest: until the input is split the view says "planning" with the requests read so far, not
 * `0/0`; a part whose batch ended is "delivering" until its results are in the sink.
 *
 * @since 4.0.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Batch from "./Batch.js"
import type * as BatchError from "./BatchError.js"
import * as DurationOption from "./internal/durationOption.js"
import * as Params from "./internal/params.js"
import type * as JobBudget from "./JobBudget.js"
import type * as JobReport from "./JobReport.js"

// ---------------------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------------------

/**
 * One part as the view sees it.
 *
 * @since 4.0.0
 * @category Models
 */
export interface PartState {
  readonly part: number
  readonly model: string
  readonly requests: number
  readonly attempt: number
  readonly state: "planned" | "uploaded" | "queued" | "running" | "delivering" | "done" | "failed"
  readonly status?: Batch.BatchStatus | undefined
  /** Requests of the part with a result so far (its earlier batches' included). */
  readonly completed: number
  readonly failed: number
}

/**
 * The state of a job drawn from its events.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Progress {
  /** When the first event came (Clock milliseconds). */
  readonly startedAt: number | undefined
  /** When the last event came. */
  readonly updatedAt: number | undefined
  /** `true` once the input is split (`PlanDone`): `requestsTotal` is then the job's total. */
  readonly planned: boolean
  readonly parts: ReadonlyMap<number, PartState>
  readonly budgets: ReadonlyMap<string, JobBudget.Usage>
  /** Requests in the parts known so far (the job's total once `planned`). */
  readonly requestsTotal: number
  /** Requests with a result (succeeded or failed). */
  readonly requestsDone: number
  /** Batches cancelled because the job stopped. */
  readonly cancelled: number
  /**
   * USD spent so far: the cost of the batches that ended (`PartEnded`), with a `pricing` option; `undefined` until
   * one is priced. At the end, the summary's exact total.
   */
  readonly cost: number | undefined
  /** Models the price table does not price (known at the end, from the summary). */
  readonly unpriced: ReadonlyArray<string>
  /** Batches that ran requests but reported no usage: `cost` leaves their parts out (known at the end). */
  readonly usageUnreported: number
  /** Requests the job ended without a result for (the summary's `missing`, known at the end). */
  readonly missing: number
  readonly done: boolean
}

/**
 * Nothing happened yet.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const initial: Progress = {
  startedAt: undefined,
  updatedAt: undefined,
  planned: false,
  parts: new Map(),
  budgets: new Map(),
  requestsTotal: 0,
  requestsDone: 0,
  cancelled: 0,
  cost: undefined,
  unpriced: [],
  usageUnreported: 0,
  missing: 0,
  done: false
}

const withPart = (progress: Progress, part: number, f: (current: PartState) => PartState): Progress => {
  const current = progress.parts.get(part)
  if (current === undefined) return progress
  const parts = new Map(progress.parts).set(part, f(current))
  let done = 0
  // A part that ended counts what has a result, not its size: one that ended partial left requests without one.
  for (const p of parts.values()) done += Math.min(p.requests, p.completed + p.failed)
  return { ...progress, parts, requestsDone: done }
}

const withBudget = (progress: Progress, usage: JobBudget.Usage): Progress => ({
  ...progress,
  budgets: new Map(progress.budgets).set(usage.model, usage)
})

/**
 * Folds one event, seen at `now` (Clock milliseconds), into the progress.
 *
 * @since 4.0.0
 * @category Progress
 */
export const update = (state: Progress, event: JobReport.JobEvent, now: number): Progress => {
  const timed: Progress = { ...state, startedAt: state.startedAt ?? now, updatedAt: now }
  switch (event._tag) {
    case "PartPlanned":
      return {
        ...timed,
        requestsTotal: timed.requestsTotal + event.requests,
        parts: new Map(timed.parts).set(event.part, {
          part: event.part,
          model: event.model,
          requests: event.requests,
          attempt: 0,
          state: "planned",
          completed: 0,
          failed: 0
        })
      }
    case "PlanDone":
      return { ...timed, planned: true, requestsTotal: event.requests }
    case "PartUploaded":
      return withPart(timed, event.part, (p) => ({ ...p, state: p.state === "planned" ? "uploaded" : p.state }))
    case "PartQueued":
      return withPart(
        withBudget(timed, event.usage),
        event.part,
        (p) => ({ ...p, attempt: event.attempt, state: "queued" })
      )
    case "PartCreated":
    case "PartProgress":
    case "PartEnded": {
      const cost = event._tag === "PartEnded" && event.cost !== undefined
        ? (timed.cost ?? 0) + event.cost.total
        : timed.cost
      const counts = event.batch.request_counts
      const ended = event._tag === "PartEnded" && event.batch.status !== "failed"
      return withPart({ ...timed, cost }, event.part, (p) => ({
        ...p,
        attempt: event.attempt,
        state: ended ? "delivering" : "running",
        status: event.batch.status,
        // Follow-ups add to what earlier batches of the part did.
        completed: counts === undefined ? p.completed : Math.max(p.completed, counts.completed),
        failed: counts === undefined ? p.failed : Math.max(p.failed, counts.failed)
      }))
    }
    case "ResultsDelivered":
      return withPart(timed, event.part, (p) => ({ ...p, state: p.state === "delivering" ? "running" : p.state }))
    case "PartDone":
      return withPart(timed, event.summary.part, (p) => ({
        ...p,
        state: event.summary.status === "failed" ? "failed" : "done",
        completed: event.summary.succeeded,
        failed: event.summary.failed + event.summary.errored
      }))
    case "BudgetChanged":
      return withBudget(timed, event.usage)
    case "BatchCancelled":
      return { ...timed, cancelled: timed.cancelled + 1 }
    case "JobDone":
      return {
        ...timed,
        done: true,
        planned: true,
        missing: event.summary.missing,
        cost: event.summary.cost?.total ?? timed.cost,
        unpriced: event.summary.unpriced?.map((u) => u.model) ?? timed.unpriced,
        usageUnreported: event.summary.usageUnreported ?? 0
      }
    default:
      return timed
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------------------

const bar = (done: number, total: number, width = 20): string => {
  const filled = total === 0 ? 0 : Math.round((Math.min(done, total) / total) * width)
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`
}

const count = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "∞")

const clock = (millis: number): string => {
  const seconds = Math.max(0, Math.round(millis / 1000))
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`
}

/**
 * Options of `render` and `view`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface RenderOptions {
  /** How many parts to list at most (the busiest first); default 8. */
  readonly maxParts?: number | undefined
  /** Lines are cut to this many characters (a terminal's width); default no limit. */
  readonly width?: number | undefined
}

/** USD with cents; below a dollar, to the hundredth of a cent, so that a small cost does not show as $0.00. */
const dollars = (usd: number): string =>
  usd >= 1 || usd === 0
    ? `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
    : usd < 0.0001
    ? "<$0.0001"
    : `$${usd.toFixed(4)}`

/**
 * The progress as text lines, at `now` (Clock milliseconds): the job (a bar, requests done of the total, elapsed
 * time, rate, ETA and, with a price table, the cost so far: `cost $1.23 so far`; the models without a price at the
 * end), each model's reserved estimate against its limit, and the parts at work.
 *
 * @since 4.0.0
 * @category Rendering
 */
export const render = (state: Progress, now: number, options: RenderOptions = {}): ReadonlyArray<string> => {
  const elapsed = state.startedAt === undefined ? 0 : Math.max(0, now - state.startedAt)
  const rate = elapsed > 0 ? state.requestsDone / (elapsed / 1000) : 0
  const left = state.requestsTotal - state.requestsDone
  const eta = state.done || !state.planned || rate <= 0 ? undefined : (left / rate) * 1000
  const head = !state.planned
    ? `job planning: ${count(state.requestsTotal)} requests split into ${state.parts.size} parts so far`
    : `job ${bar(state.requestsDone, state.requestsTotal)} ${count(state.requestsDone)}/${
      count(state.requestsTotal)
    } requests`
  const timing = [
    clock(elapsed),
    ...(rate > 0 ? [`${rate >= 10 ? count(rate) : rate.toFixed(1)}/s`] : []),
    ...(eta === undefined ? [] : [`ETA ${clock(eta)}`]),
    ...(state.cost === undefined ? [] : [`cost ${dollars(state.cost)}${state.done ? "" : " so far"}`]),
    ...(state.cancelled > 0 ? [`${state.cancelled} batches cancelled`] : []),
    ...(state.done ? [state.missing > 0 ? `done, ${count(state.missing)} requests without a result` : "done"] : [])
  ].join(", ")
  const lines = [`${head} (${timing})`]
  if (state.unpriced.length > 0) lines.push(`  no price for ${state.unpriced.join(", ")} (tokens in the summary)`)
  if (state.usageUnreported > 0) {
    const batches = state.usageUnreported === 1 ? "1 batch" : `${count(state.usageUnreported)} batches`
    lines.push(`  ${batches} reported no usage: their parts' cost is unknown, not in the cost`)
  }
  for (const usage of state.budgets.values()) {
    const share = Number.isFinite(usage.tokenBudget) && usage.tokenBudget > 0
      ? ` (${Math.round((usage.tokens / usage.tokenBudget) * 100)}%)`
      : ""
    const learned = usage.learned ? ", limit learned from the API" : ""
    lines.push(
      `  ${usage.model}: ${count(usage.tokens)}/${
        count(usage.tokenBudget)
      } enqueued tokens${share}, ${usage.waiting} waiting${learned}`
    )
  }
  const maxParts = options.maxParts ?? 8
  const parts = [...state.parts.values()].sort((a, b) => a.part - b.part)
  const active = parts.filter((p) => p.state !== "done" && p.state !== "planned")
  const shown = parts.length <= maxParts ? parts : active.slice(0, maxParts)
  for (const p of shown) {
    const attempt = p.attempt > 1 ? ` (attempt ${p.attempt})` : ""
    lines.push(
      `  part ${String(p.part).padStart(3)} ${bar(p.completed + p.failed, p.requests, 12)} ${p.state.padEnd(10)} ${
        p.status ?? ""
      }${attempt}`.trimEnd()
    )
  }
  const hidden = parts.length - shown.length
  if (hidden > 0) {
    const done = parts.filter((p) => p.state === "done").length
    const waiting = parts.filter((p) => p.state === "planned").length
    lines.push(`  … ${hidden} more parts (${done} done, ${waiting} not started)`)
  }
  return options.width === undefined ? lines : lines.map((line) => cut(line, options.width!))
}

const cut = (line: string, width: number) => (line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`)

// ---------------------------------------------------------------------------------------------------------------
// The live view
// ---------------------------------------------------------------------------------------------------------------

/**
 * Where a view writes: `process.stdout` fits, or anything with a `write`. `isTTY` says whether it can redraw in
 * place; `columns` is its width.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Output {
  readonly write: (text: string) => unknown
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

/**
 * Options of `view`.
 *
 * @since 4.0.0
 * @category Models
 */
export interface ViewOptions extends RenderOptions {
  /**
   * How often the view is drawn again without an event (elapsed time and ETA move); on an output that cannot redraw,
   * how often a line is printed. Default 1 second on a terminal, 10 seconds elsewhere; it must be a duration > 0
   * (zero would redraw in a busy loop).
   */
  readonly interval?: Duration.Input | undefined
  /** Written before every line (e.g. an indent). */
  readonly prefix?: string | undefined
}

/**
 * A live view: the `onEvent` to give the job, and the current progress. On a terminal the view is redrawn in place
 * (the cursor moved up over the last frame, every line cleared, anything below it erased, lines cut to the
 * terminal's width so none wraps); elsewhere one line is printed per interval and the whole view at the end. The
 * last frame is drawn when the scope closes. An `interval` that is not a duration > 0 fails with `InvalidParamsError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BatchLine, Job, JobProgress } from "effect-openai-batch"
 *
 * const requests = [BatchLine.embedding("a", { model: "text-embedding-3-small", input: "hello" })]
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const view = yield* JobProgress.view(process.stdout)
 *   return yield* Job.run(requests, { jobId: "with-a-view", endpoint: "/v1/embeddings", onEvent: view.onEvent })
 * }))
 * ```
 *
 * @since 4.0.0
 * @category Views
 */
export const view = (
  output: Output,
  options: ViewOptions = {}
): Effect.Effect<
  { readonly onEvent: (event: JobReport.JobEvent) => Effect.Effect<void>; readonly progress: Effect.Effect<Progress> },
  BatchError.InvalidParamsError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    // Zero (Effect 3: a negative or NaN interval too) redraws in a busy loop.
    if (options.interval !== undefined && DurationOption.breaks(options.interval, "> 0")) {
      return yield* Effect.fail(Params.invalid("JobProgress.view", DurationOption.issue("> 0"), "interval"))
    }
    const tty = output.isTTY === true
    const prefix = options.prefix ?? ""
    const interval = Duration.fromInputUnsafe(options.interval ?? (tty ? "1 second" : "10 seconds"))
    const state = yield* Ref.make(initial)
    let drawn = 0
    let finished = false

    const frame = (progress: Progress, now: number) => {
      const width = output.columns === undefined
        ? options.width
        : Math.min(options.width ?? Infinity, output.columns - 1)
      return render(progress, now, { ...options, width: width === Infinity ? undefined : width }).map((line) =>
        `${prefix}${line}`
      )
    }

    const draw = (final: boolean) =>
      Effect.flatMap(Effect.all([Ref.get(state), Clock.currentTimeMillis]), ([progress, now]) =>
        Effect.sync(() => {
          if (progress.startedAt === undefined || finished) return
          finished = final
          const lines = frame(progress, now)
          if (tty) {
            // Up over the last frame, each line cleared and written, then everything below erased.
            const up = drawn > 0 ? `\x1b[${drawn}A\r` : ""
            output.write(`${up}${lines.map((line) => `\x1b[2K${line}\n`).join("")}\x1b[J`)
            drawn = lines.length
          } else if (final) {
            output.write(lines.map((line) => `${line}\n`).join(""))
          } else if (lines[0] !== undefined) {
            output.write(`${lines[0]}\n`)
          }
        }))

    yield* Effect.repeat(draw(false), Schedule.spaced(interval)).pipe(Effect.delay(interval), Effect.forkScoped)
    yield* Effect.addFinalizer(() => draw(true))

    const onEvent = (event: JobReport.JobEvent) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.andThen(
          Ref.update(state, (progress) => update(progress, event, now)),
          // A terminal shows every change at once; elsewhere the interval decides, the end excepted.
          tty || event._tag === "JobDone" ? draw(event._tag === "JobDone") : Effect.void
        ))
    return { onEvent, progress: Ref.get(state) }
  })
