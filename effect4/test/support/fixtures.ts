/**
 * The fixtures both editions test against: fixtures/ at the repository root (see fixtures/SOURCE.md).
 */
import { readFileSync } from "node:fs"

/** A file of the shared fixtures folder, as text. */
export const fixtureText = (name: string): string =>
  readFileSync(new URL(`../../../fixtures/${name}`, import.meta.url), "utf8")

/** A JSON fixture, parsed. */
export const fixture = (name: string): unknown => JSON.parse(fixtureText(name))

/** The line of fixtures/batchResults.jsonl with this `custom_id`, parsed. */
export const resultLine = (customId: string): unknown => {
  const line = fixtureText("batchResults.jsonl").split("\n").find((text) => text.includes(`"custom_id":"${customId}"`))
  if (line === undefined) throw new Error(`no result line for ${customId}`)
  return JSON.parse(line)
}

/** The four official batch examples (create, retrieve, cancel, and the full object). */
export const batchFixtures = [
  "Batch.object.json",
  "createBatch.response.json",
  "retrieveBatch.response.json",
  "cancelBatch.response.json"
] as const
