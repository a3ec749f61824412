/**
 * The files both editions use, written once: the Effect 3 edition's file (at the repository root) is the source,
 * effect4/ holds a verbatim copy (a package of its own would need its own build and release for a few lines). This
 * fails when a copy drifts; the fix is the `cp` it names.
 *
 * A file qualifies when it imports nothing from `effect` and its imports of this library's own modules (`Batch`,
 * `JobReport`, ...) type-check against each edition's: they resolve to that edition's module, so the copy is checked
 * by this edition's compiler and tests. The tests listed here run unchanged in both editions.
 *
 * `src/internal/job/summary.ts` was on the list until the root's summary priced jobs (`Pricing`, and `Option` from
 * effect): the Effect 4 edition has the root's text again, as a copy (it imports `Option`).
 */
import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"

const verbatim = [
  "src/internal/answer.ts",
  "src/internal/pathSegment.ts",
  "src/internal/estimateText.ts",
  "src/internal/http/retryAfter.ts",
  "src/internal/job/idSet.ts",
  "src/internal/job/ledger.ts",
  "src/internal/job/machine.ts",
  "src/internal/md5.ts",
  "src/testing/internal/env.ts",
  "src/testing/internal/faults.ts",
  "src/testing/internal/hash.ts",
  "src/testing/internal/json.ts",
  "src/testing/internal/lifecycle.ts",
  "src/testing/internal/lineBytes.ts",
  "src/testing/internal/lines.ts",
  "src/testing/internal/multipart.ts",
  "src/testing/internal/responder.ts",
  "src/testing/internal/router.ts",
  "src/testing/internal/results.ts",
  "src/testing/internal/sha256.ts",
  "src/testing/internal/tokens.ts",
  "src/testing/internal/wire.ts",
  "src/tokenizer/index.ts",
  "src/internal/transport/undici/body.ts",
  "test/digests.test.ts",
  "test/job/estimate.samples.ts",
  "test/job/estimate.test.ts",
  "test/job/machine.test.ts",
  "test/testing/cli.test.ts",
  "test/testing/lifecycle.test.ts",
  "test/support/scenarios.ts",
  "test/readme/blocks.ts"
]

const read = (base: string, path: string) => readFileSync(new URL(`${base}${path}`, import.meta.url), "utf8")

describe("shared sources", () => {
  for (const path of verbatim) {
    it(`${path} is the root's, verbatim`, () => {
      assert.strictEqual(read("../", path), read("../../", path), `cp ${path} effect4/${path}`)
    })
  }

  it("none of the copies imports effect", () => {
    for (const path of verbatim) {
      assert.notMatch(read("../", path), /from "effect(\/[^"]*)?"/, path)
    }
  })
})
