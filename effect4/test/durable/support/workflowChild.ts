/**
 * A process that runs one small workflow on a durable engine, for test/durable/*Engine.crash.test.ts: an
 * activity, a durable sleep, another activity. Each activity appends a line (its name and this process's pid) to a
 * log file, so the test sees which process ran which activity, and how many times.
 *
 * `start <log> <engine...>` starts the workflow; `resume <log> <engine...>` only starts the engine (which resumes
 * the unfinished workflows by itself). The engine is `sqlite <file>` (`SqliteEngine.layer`) or `pg <url> <port>`
 * (a `PostgresEngine.layer` runner listening on 127.0.0.1:<port>). Both print the workflow's state on stdout each time it changes
 * (`none`, `suspended`, `complete Success <value>`), and exit when it is complete. The test kills the first one
 * with SIGKILL while it prints `suspended` (the durable sleep).
 *
 * Bundled (support/bundle.ts) and run with plain `node` (support/child.ts).
 */
import { Effect, Exit, Layer, Option, Redacted, Schema } from "effect"
import * as Activity from "effect/workflow/Activity"
import * as DurableClock from "effect/workflow/DurableClock"
import * as Workflow from "effect/workflow/Workflow"
import type * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import { appendFileSync } from "node:fs"
import type * as JobInterrupts from "../../../src/durable/JobInterrupts.js"

const [mode, log, engineName, where, port] = process.argv.slice(2)
const usage = "usage: workflowChild.ts start|resume <log file> sqlite <file> | pg <url> <port>"
if ((mode !== "start" && mode !== "resume") || log === undefined || where === undefined) throw new Error(usage)
// Each engine loads only its own driver, as a program using one of them does.
const engine: Layer.Layer<WorkflowEngine.WorkflowEngine | JobInterrupts.JobInterrupts, unknown> | undefined =
  engineName === "sqlite"
    ? (await import("../../../src/durable/SqliteEngine.js")).layer({ filename: where })
    : engineName === "pg" && port !== undefined
    ? (await import("../../../src/durable/PostgresEngine.js")).layer({
      url: Redacted.make(where),
      host: "127.0.0.1",
      port: Number(port),
      // As the SQLite engine's default: a due timer is found within a second, not the engine's 10.
      shardingConfig: { entityMessagePollInterval: "1 second" }
    })
    : undefined
if (engine === undefined) throw new Error(usage)

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
  Effect.provide(ProbeLive.pipe(Layer.provideMerge(engine))),
  Effect.runPromise
).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
