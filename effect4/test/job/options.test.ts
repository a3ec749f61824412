/**
 * A job's options are checked before anything is read or sent (`Options.resolve`, the first step of `Job.run`,
 * `Job.stream`, `Job.runBatch` and a durable job): each bad value an `InvalidParamsError` naming its option.
 */
import { assert, describe, it } from "@effect/vitest"
import { Option, Result, Schema } from "effect"
import * as Options from "../../src/internal/job/options.js"

const endpoint = "/v1/embeddings" as const
const fieldOf = (options: Partial<Options.Input<never, never>>) => {
  const resolved = Options.resolve("Job.run", { jobId: "j", endpoint, ...options })
  return Result.isFailure(resolved) ? [resolved.failure._tag, resolved.failure.field] : ["Right"]
}

describe("job options", () => {
  it("a negative or NaN duration is refused, naming the option (it was read as a negative duration)", () => {
    const durations = ["resendBackoff", "patience", "waitTimeout", "lookback"] as const
    for (const field of durations) {
      for (const value of [-5, Number.NaN, "-5 seconds", [-1, 0] as const, -5n, -Infinity]) {
        assert.deepStrictEqual(fieldOf({ policy: { [field]: value } }), ["InvalidParamsError", `policy.${field}`])
      }
      // Zero waits nothing; a wait of zero would create a batch only to give it up at once.
      assert.deepStrictEqual(
        fieldOf({ policy: { [field]: "0 seconds" } }),
        field === "waitTimeout" ? ["InvalidParamsError", "policy.waitTimeout"] : ["Right"]
      )
    }
    // A durable job's payload refuses them too.
    const payload = Schema.decodeUnknownOption(Options.Serializable)
    assert.isTrue(Option.isNone(payload({ jobId: "j", endpoint, policy: { waitTimeout: "-5 seconds" } })))
    assert.isTrue(Option.isSome(payload({ jobId: "j", endpoint, policy: { waitTimeout: "5 seconds" } })))
  })

  it("a count that is not a whole number, or infinite, is refused, naming the option", () => {
    const cases: ReadonlyArray<readonly [Partial<Options.Input<never, never>>, string]> = [
      [{ plan: { maxBytesPerPart: 1000.5 } }, "plan.maxBytesPerPart"],
      [{ policy: { uploadsApiAbove: 1.5 } }, "policy.uploadsApiAbove"],
      [{ policy: { uploadsApiAbove: Infinity } }, "policy.uploadsApiAbove"],
      [{ budget: { limits: { tokens: 1000.5 } } }, "budget.limits"],
      [{ budget: { limits: { m: { requests: 10.5 } } } }, "budget.limits[m]"]
    ]
    for (const [options, field] of cases) assert.deepStrictEqual(fieldOf(options), ["InvalidParamsError", field])
  })
})
