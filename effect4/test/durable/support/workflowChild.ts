/**
 * A process that runs one small workflow on the SQLite engine, for test/durable/SqliteEngine.crash.test.ts: an
 * activity, a durable sleep, another activity. Each activity appends a line (its name and this process's pid) to a
 * log file, so the test sees which process ran which activity, and how many times.
 *
 * `start <file> <log>` starts the workflow; `resume <file> <log>` only starts the engine (which resumes the
 * file's unfinished workflows by itself). Both print the workflow's state on stdout each time it changes
 * (`none`, `suspended`, `complete Success <value>`), and exit when it is complete. The test kills the first one
 * with SIGKILL while it prints `suspended` (the durable sleep).
 *
 * Run with `node --import ./typescript.mjs` on the Node the tests run on.
 */
import { Effect, Exit, Layer, Option, Schema } from "effect"
import * as Activity from "effect/workflow/Activity"
import * as DurableClock from "effect/workflow/DurableClock"
import * as Workflow from "effect/workflow/Workflow"
import { appendFileSync } from "node:fs"
import * as SqliteEngine from "../../../src/durable/SqliteEngine.js"

const [mode, filename, log] = process.argv.slice(2)
if ((mode !== "start" && mode !== "resume") || filename === undefined || log === undefined) {
  throw new Error("usage: workflowChild.ts start|resume <sqlite file> <log file>")
}

/** The durable sleep: long enough for the test to kill the process during it. */
const nap = "2 seconds"

const Probe = Workflow.make("CrashProbe", {
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const step = (name: string) =>
  Activity.make({
    name,
    success: Schema.String,
    execute: Effect.sync(() => {
      appendFileSync(log, `${name} ${process.pid}\n`)
      return name
    })
  })

const ProbeLive = Probe.toLayer(() =>
  Effect.gen(function*() {
    const first = yield* step("first")
    // `inMemoryThreshold: 0`: a sleep at or under the threshold (60 s by default) is an in-memory activity, not a
    // durable timer.
    yield* DurableClock.sleep({ name: "nap", duration: nap, inMemoryThreshold: 0 })
    const second = yield* step("second")
    return `${first}+${second}`
  })
)

const stateOf = (result: Option.Option<Workflow.Result<string, never>>): string => {
  if (Option.isNone(result)) return "none"
  const value = result.value
  if (value._tag === "Suspended") return "suspended"
  return Exit.isSuccess(value.exit) ? `complete Success ${value.exit.value}` : "complete Failure"
}

const program = Effect.gen(function*() {
  const id = { id: "probe-1" }
  const executionId = mode === "start"
    ? yield* Probe.execute(id, { discard: true })
    : yield* Probe.executionId(id)
  let last = ""
  for (;;) {
    const state = stateOf(yield* Probe.poll(executionId))
    if (state !== last) {
      process.stdout.write(`${state}\n`)
      last = state
    }
    if (state.startsWith("complete")) return
    yield* Effect.sleep("50 millis")
  }
})

program.pipe(
  Effect.provide(ProbeLive.pipe(Layer.provideMerge(SqliteEngine.layer({ filename })))),
  Effect.runPromise
).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
