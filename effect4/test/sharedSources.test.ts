/**
 * The Effect-free modules both editions use, written once: the Effect 3 edition's file (at the repository root) is
 * the source, effect4/ holds a verbatim copy (a package of its own would need its own build and release for a
 * few lines). This fails when a copy drifts; the fix is the `cp` it names.
 */
import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"

const verbatim = ["src/internal/pathSegment.ts"]

const read = (base: string, path: string) => readFileSync(new URL(`${base}${path}`, import.meta.url), "utf8")

describe("shared sources", () => {
  for (const path of verbatim) {
    it(`${path} is the root's, verbatim`, () => {
      assert.strictEqual(read("../", path), read("../../", path), `cp ${path} effect4/${path}`)
    })
  }
})
