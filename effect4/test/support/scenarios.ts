/**
 * The shared scenario suite's reading side, written once for both editions (effect4/test/support/scenarios.ts is a
 * verbatim copy, held to this one by test/sharedSources.test.ts): it loads the tables of fixtures/scenarios/, picks
 * the cases of one edition, and compares what an edition observed with what a case expects. It imports nothing from
 * `effect`: each edition's runner (test/scenarios.test.ts) drives its own public API and hands the observation here.
 *
 * A case's `expect` names fields (or dotted paths) and their values; `null` means the field is absent, and
 * `{ "$contains": text }` a string holding `text`. A case marked
 * `editions` runs only in those, and `byEdition` replaces some expected fields in one edition: both say `why` (an
 * intended difference, documented in effect4/MIGRATION.md).
 */
import { readFileSync } from "node:fs"

/** The two editions of the library. */
export type Edition = "effect3" | "effect4"

/** One case of a table: its own fields (input, `expect`) are the table's business. */
export interface Case {
  readonly name: string
  readonly source?: string
  readonly expect: Readonly<Record<string, unknown>>
  readonly editions?: ReadonlyArray<Edition>
  readonly byEdition?: { readonly [E in Edition]?: Readonly<Record<string, unknown>> }
  readonly why?: string
  readonly [key: string]: unknown
}

interface Table<C> {
  readonly description: string
  readonly cases: ReadonlyArray<C>
}

/** The fixtures folder at the repository root (from test/support or effect4/test/support). */
const fixturesUrl = (base: string): URL => {
  const root = base.includes("/effect4/test/support/") ? "../../../fixtures/" : "../../fixtures/"
  return new URL(root, base)
}

const fixtures = fixturesUrl(import.meta.url)

/** A file of fixtures/, as text. */
export const fixtureText = (name: string): string => readFileSync(new URL(name, fixtures), "utf8")

/**
 * The cases of fixtures/scenarios/`name`.json that run in `edition`, each with its expectation for that edition.
 * A case that marks editions must say why.
 */
export const cases = <C extends Case>(name: string, edition: Edition): ReadonlyArray<C> => {
  const table: Table<C> = JSON.parse(fixtureText(`scenarios/${name}.json`))
  const out: Array<C> = []
  for (const entry of table.cases) {
    if ((entry.editions !== undefined || entry.byEdition !== undefined) && entry.why === undefined) {
      throw new Error(`scenarios/${name}.json: "${entry.name}" differs by edition without a why`)
    }
    if (entry.editions !== undefined && !entry.editions.includes(edition)) continue
    const override = entry.byEdition?.[edition]
    out.push(override === undefined ? entry : { ...entry, expect: { ...entry.expect, ...override } })
  }
  return out
}

/** The value at a dotted path (`request_counts.total`, `data.0.id`); `undefined` where the path ends early. */
export const at = (value: unknown, path: string): unknown => {
  let current: unknown = value
  for (const key of path.split(".")) {
    if (typeof current !== "object" || current === null) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

/** `{ "$contains": text }`: a string that holds `text` (for words an edition or a Node version may vary around). */
const contains = (expected: unknown): string | undefined =>
  typeof expected === "object" && expected !== null && "$contains" in expected &&
    typeof expected.$contains === "string"
    ? expected.$contains
    : undefined

const same = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  const part = contains(b)
  if (part !== undefined) return typeof a === "string" && a.includes(part)
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined)
  const keysB = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined)
  return keysA.length === keysB.length &&
    keysA.every((key) => same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

/**
 * Where an observation differs from a case's expectation, one line per field (empty when it agrees). `read` gives
 * the observed value of a field or path; an expected `null` asks for `undefined` (absent).
 */
export const mismatches = (expect: Readonly<Record<string, unknown>>, read: (key: string) => unknown) => {
  const out: Array<string> = []
  for (const [key, expected] of Object.entries(expect)) {
    const actual = read(key)
    const wanted = expected === null ? undefined : expected
    if (!same(actual, wanted)) out.push(`${key}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual)}`)
  }
  return out
}
