/**
 * The job children of test/durable/crash.test.ts (support/jobChild.ts, run by support/child.ts on the Node the
 * tests run on), and waits on them that follow their progress, not the clock: a wait fails once the children it
 * watches printed no step for `idle` ms (stretched by the machine's load, test/support/patience.ts), however long
 * the whole takes. The root's test/durable/support/children.ts; its bundle is support/bundle.ts here.
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import { whileProgressing } from "../../support/patience.js"
import * as Child from "./child.js"
import type { ChildConfig } from "./jobChild.js"

const script = new URL("./jobChild.ts", import.meta.url).href

/** Spawns a job child (with `env` added to this process's environment); it is SIGKILLed when the scope closes. */
export const spawnChild = (
  config: ChildConfig,
  env: Readonly<Record<string, string>> = {}
): Effect.Effect<Child.Child, never, Scope.Scope> => Child.run(script, [JSON.stringify(config)], env)

/**
 * A line of jobChild.ts's own output (`UP`, `RUNNERS n`, `EVENT ...`, `KILL ...`, `SUMMARY ...`, `FAILED ...`): the
 * job moving. The engine's log lines are not: a runner can log its storage's time-outs for ever without moving the
 * job.
 */
const isStep = (line: string) => /^(UP$|RUNNERS |EVENT |KILL |SUMMARY |FAILED )/.test(line)

const outputOf = (children: ReadonlyArray<Child.Child>) =>
  children.map((child) => `[${child.pid}]\n${child.lines.join("\n")}\n${child.stderr()}`).join("\n")

/** Runs `effect` as long as one of `children` prints a step at least every `idleMillis`. */
export const watching = <A, E, R>(
  children: ReadonlyArray<Child.Child>,
  idleMillis: number,
  waitingFor: string,
  effect: Effect.Effect<A, E, R>
) =>
  whileProgressing(effect, {
    progress: () => children.reduce((sum, child) => sum + child.lines.filter(isStep).length, 0),
    idleMillis,
    what: (limit) =>
      `${waitingFor}: no step for ${limit} ms from ${children.map((child) => child.pid).join(", ")}; their output:\n${
        outputOf(children)
      }`
  })

/** Waits for a child to end (see `watching`); its lines come with the result. */
export const ended = (child: Child.Child, idleMillis: number) =>
  watching([child], idleMillis, `child ${child.pid} still running`, child.exited).pipe(
    Effect.map((exit) => ({ ...exit, lines: child.lines, output: outputOf([child]) }))
  )

/** Runs a child to its end (see `ended`). */
export const runChild = (config: ChildConfig, idleMillis: number, env: Readonly<Record<string, string>> = {}) =>
  Effect.scoped(Effect.flatMap(spawnChild(config, env), (child) => ended(child, idleMillis)))

/** Waits until a child prints a line that `match`es (see `watching`). */
export const awaitLine = (child: Child.Child, match: (line: string) => boolean, idleMillis: number) =>
  watching([child], idleMillis, `no such line from child ${child.pid}`, child.printedWhere(match))

/** The summary a child printed (`SUMMARY <json>`). */
export const summaryOf = (lines: ReadonlyArray<string>): unknown => {
  const line = lines.find((l) => l.startsWith("SUMMARY "))
  return line === undefined ? undefined : JSON.parse(line.slice("SUMMARY ".length))
}
