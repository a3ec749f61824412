/**
 * The files both editions use, written once: the Effect 3 edition's file (at the repository root) is the source,
 * effect4/ holds a verbatim copy (a package of its own would need its own build and release for a few lines). This
 * fails when a copy drifts; the fix is the `cp` it names. The list is effect4/shared-sources.json, which the root's
 * `eslint .` reads too: it lints the root's file and skips the copy.
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

const verbatim: ReadonlyArray<string> = JSON.parse(
  readFileSync(new URL("../shared-sources.json", import.meta.url), "utf8")
)

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
