/**
 * The demo and every runnable example, run as a user runs them (`npx tsx examples/<name>.ts`, a real process on
 * the embedded simulator): each must exit 0 and print what it promises.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url))

const runExample = (name: string) =>
  Effect.async<{ code: number; out: string }>((resume) => {
    const child = execFile(
      tsx,
      [`examples/${name}.ts`],
      { cwd: root, timeout: 90_000, env: { ...process.env, OPENAI_API_KEY: "" } },
      (error, stdout, stderr) => resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), out: stdout + stderr }))
    )
    return Effect.sync(() => child.kill())
  })

const cases: ReadonlyArray<readonly [string, ReadonlyArray<string | RegExp>]> = [
  ["demo", [
    "1. upload the requests",
    "8 lines",
    /await .*8\/8 completed/,
    /cancelled; \d+ partial results kept in file-/,
    "8 results, 0 missing",
    "7. summary",
    "3,000/3,000 requests — done",
    "6 parts, 6 batches: 3000/3000 succeeded, 0 missing"
  ]],
  ["quickstart", [/created batch_\S+ \(validating\)/, /ended completed; output file: file-/]],
  ["wait-for-batch", ["finalizing", "-> completed: results in file-"]],
  ["cancel-and-wait", [/is cancelled/, "partial results (already billed): file-", "again: cancelled"]],
  ["stream-all-batches", ["newest: ", /completed\s+1000/, /failed\s+200/, /in_progress\s+34/]],
  ["run-batch", [/ended completed: 5 results, 0 missing/, /ok {4}sentence-4: \d+-dim embedding/]],
  ["large-job", [
    /after the crash, the API knows \d+ parts of the job/,
    /done: 12000\/12000 succeeded, 0 missing, 12 batches \([1-9]\d* found from process A/,
    "the simulator holds 12 batches: one per part, none twice",
    "12 results files, one per batch"
  ]]
]

describe("examples run on the embedded simulator", () => {
  for (const [name, expected] of cases) {
    it.live(name, () =>
      Effect.gen(function*() {
        const { code, out } = yield* runExample(name)
        assert.strictEqual(code, 0, out)
        for (const pattern of expected) {
          if (typeof pattern === "string") assert.include(out, pattern)
          else assert.match(out, pattern)
        }
      }), 100_000)
  }
})
