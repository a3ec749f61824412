/**
 * A job's batches found from the API alone (internal/job/history `list`, on Effect 4): grouped by part and attempt,
 * the attempt's batch the one that got furthest (its duplicates beside it), other jobs' batches and batches older
 * than the lookback left out, a batch two pages both hold counted once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as BatchApi from "../../src/BatchApi.js"
import * as History from "../../src/internal/job/history.js"
import * as Fake from "../support/FakeHttp.js"

const day = 24 * 3600
const now = 1_800_000_000

const batch = (
  id: string,
  created: number,
  status: string,
  tag?: { readonly part: number; readonly attempt: number }
) =>
  Fake.batchJson({
    id,
    status,
    created_at: created,
    metadata: tag === undefined
      ? null
      : History.metadata("job-1", { part: tag.part, attempt: tag.attempt, kind: "full", digest: `d${tag.part}` })
  })

const pages = [
  [
    batch("b_new", now - 10, "in_progress", { part: 2, attempt: 1 }),
    batch("b_other", now - 20, "completed"),
    batch("b_dup", now - 30, "validating", { part: 1, attempt: 2 })
  ],
  [
    batch("b_dup", now - 30, "validating", { part: 1, attempt: 2 }),
    batch("b_first", now - 40, "completed", { part: 1, attempt: 2 }),
    batch("b_p1a1", now - 50, "failed", { part: 1, attempt: 1 })
  ],
  [batch("b_old", now - 8 * day, "completed", { part: 3, attempt: 1 })]
]

const responder: Fake.Responder = (request) => {
  const after = request.url.searchParams.get("after")
  const index = after === null ? 0 : after === "b_dup" ? 1 : 2
  return Fake.json(200, { object: "list", data: pages[index], has_more: index < 2 })
}

describe("history.list", () => {
  it.effect("by part, each part's attempts in order, the furthest batch of an attempt first", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now * 1000)
      const api = yield* Effect.service(BatchApi.BatchApi)
      const found = yield* History.list(api, "job-1")
      assert.deepStrictEqual([...found.keys()].sort(), [1, 2])
      const part1 = found.get(1) ?? []
      assert.deepStrictEqual(part1.map((entry) => [entry.tag.attempt, entry.batch.id]), [[1, "b_p1a1"], [2, "b_first"]])
      // b_dup came on two pages: one duplicate, not two
      assert.deepStrictEqual(part1[1]?.duplicates.map((duplicate) => duplicate.id), ["b_dup"])
      assert.deepStrictEqual(found.get(2)?.map((entry) => entry.batch.id), ["b_new"])
      // the older than 7 days page ended the read
      assert.strictEqual((yield* Fake.requests).length, 3)
    }).pipe(Effect.provide(Fake.layer(responder))))

  it.effect("a shorter lookback or fewer pages read less", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now * 1000)
      const api = yield* Effect.service(BatchApi.BatchApi)
      const recent = yield* History.list(api, "job-1", { lookback: "35 seconds" })
      assert.deepStrictEqual(recent.get(1)?.map((entry) => entry.batch.id), ["b_dup"])
      assert.strictEqual((yield* Fake.requests).length, 2)
      const onePage = yield* History.list(api, "job-1", { maxPages: 1 })
      assert.deepStrictEqual(onePage.get(1)?.map((entry) => entry.batch.id), ["b_dup"])
      assert.strictEqual((yield* Fake.requests).length, 3)
    }).pipe(Effect.provide(Fake.layer(responder))))
})
