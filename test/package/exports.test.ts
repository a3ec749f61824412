/**
 * The public surface, as scripts/exports.mjs reads it from the entry points with the TypeScript checker: every
 * export carries a `@since` naming a released version (0.1.0, 0.2.0) or the next one (0.3.0).
 */
import { assert, describe, it } from "@effect/vitest"
import { survey } from "../../scripts/exports.mjs"

describe("the public surface", () => {
  const { counts, problems } = survey()

  it("every export has a @since, and none names a version after the next one", () => {
    assert.deepStrictEqual(problems, [])
  })

  it("is read from every entry point, and internal helpers are not in it", () => {
    const labels = counts.map(([label]) => label)
    for (
      const label of [".:BatchError", ".:Job", "testing:BatchApiSimulator", "durable:DurableJob", "tokenizer/index"]
    ) {
      assert.include(labels, label)
    }
    const names = (label: string) => counts.find(([other]) => other === label)?.[1] ?? []
    assert.include(names(".:BatchLine"), "BatchResultFromLine")
    assert.notInclude(names(".:BatchLine"), "classify")
    assert.include(names("testing:BatchApiSimulator"), "Options")
  })
})
