/**
 * Jobs send large parts through the Uploads API: a part's file over `policy.uploadsApiAbove` bytes goes in parts
 * (`POST /v1/uploads`, `.../parts`, `.../complete`), a smaller one in one `POST /v1/files`. On the simulator (which
 * implements the Uploads API) under TestClock. (The Effect 3 edition's test/job/partUpload.test.ts, ported.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as Job from "../../src/Job.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import { assertFollowedUp, drive, embedding, poll, processOver, recorder } from "./support.js"

const endpoint = "/v1/embeddings" as const

/** The simulator's POSTs, with ids replaced by `*`. */
const posts = (simulator: BatchApiSimulator.Simulator) =>
  Effect.map(
    simulator.requests,
    (all) =>
      all.filter((r) => r.method === "POST" && r.path !== "/v1/batches").map((r) =>
        r.path.replace(/\/(upload|part|file)[-_][A-Za-z0-9_-]+/g, "/$1-*")
      )
  )

describe("a job's large parts go through the Uploads API", () => {
  it.effect("parts over the threshold in parts of the Uploads API, smaller ones in one Files request", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const { delivered, onEvent, sink } = yield* recorder
      const requests = Array.from({ length: 25 }, (_, i) => embedding(i))
      // Parts of 10, 10 and 5 requests (about 1,100, 1,100 and 550 bytes): the threshold sends the first two through
      // the Uploads API.
      const summary = yield* drive(
        Job.run(requests, {
          jobId: "uploads",
          endpoint,
          plan: { maxRequestsPerPart: 10 },
          policy: { poll, uploadsApiAbove: 800, uploadConcurrency: 1 },
          delivery: { sink },
          onEvent
        }).pipe(Effect.provide(processOver(simulator)))
      )
      assert.strictEqual(summary.succeeded, 25)
      assert.strictEqual((yield* Ref.get(delivered)).size, 25)
      assert.deepStrictEqual(yield* posts(simulator), [
        "/v1/uploads",
        "/v1/uploads/upload-*/parts",
        "/v1/uploads/upload-*/complete",
        "/v1/uploads",
        "/v1/uploads/upload-*/parts",
        "/v1/uploads/upload-*/complete",
        "/v1/files"
      ])
    }))

  for (
    const [fault, name] of [[BatchApiSimulator.commitThenDrop, "dropped"], [BatchApiSimulator.timeout, "lost"]] as const
  ) {
    it.effect(`a completion whose answer is ${name} is found by the upload's marker: one file, one batch, no failure`, () =>
      Effect.gen(function*() {
        const simulator = yield* BatchApiSimulator.make()
        // "lost": the first completion never arrives (nothing is stored); "dropped": it completes, the answer is lost.
        yield* simulator.injectFault(fault, { match: { method: "POST", path: /\/complete$/ } })
        const { delivered, sink } = yield* recorder
        const summary = yield* drive(
          Job.run(Array.from({ length: 10 }, (_, i) => embedding(i)), {
            jobId: `complete-${name}`,
            endpoint,
            policy: { poll, uploadsApiAbove: 100 },
            delivery: { sink }
          }).pipe(Effect.provide(processOver(simulator))),
          "1 minute"
        )
        assert.strictEqual(summary.succeeded, 10)
        assert.strictEqual((yield* Ref.get(delivered)).size, 10)
        assert.strictEqual(summary.batches, 1)
        const sent = yield* simulator.requests
        assert.strictEqual(sent.filter((r) => r.method === "POST" && r.path === "/v1/uploads").length, 1, "one upload")
        const completes = sent.filter((r) => r.path.endsWith("/complete"))
        // dropped: found by the marker after the first attempt; lost: found nothing, completed again.
        assert.strictEqual(completes.length, name === "dropped" ? 1 : 2)
      }))
  }

  it.effect("by default (64 MiB) a small job uploads each part in one Files request", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const summary = yield* drive(
        Job.run(Array.from({ length: 5 }, (_, i) => embedding(i)), { jobId: "files", endpoint, policy: { poll } })
          .pipe(Effect.provide(processOver(simulator)))
      )
      assert.strictEqual(summary.succeeded, 5)
      assert.deepStrictEqual(yield* posts(simulator), ["/v1/files"])
    }))

  it.effect("a follow-up of an expired part's missing requests goes through the Uploads API too, measured", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make({})
      yield* simulator.scriptNext({ outcome: "expired" })
      const { delivered, sink } = yield* recorder
      const summary = yield* drive(
        Job.run(Array.from({ length: 10 }, (_, i) => embedding(i)), {
          jobId: "follow-up",
          endpoint,
          policy: { poll: BatchSchedule.every("1 hour"), uploadsApiAbove: 0 },
          delivery: { sink }
        }),
        "1 hour"
      ).pipe(Effect.provide(processOver(simulator)))
      yield* assertFollowedUp(summary, delivered, 10)
      const sent = yield* posts(simulator)
      assert.strictEqual(sent.filter((path) => path === "/v1/uploads").length, 2)
      assert.isFalse(sent.includes("/v1/files"))
    }))

  it.effect("the threshold is checked", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const error = yield* Job.run([embedding(0)], { jobId: "bad", endpoint, policy: { uploadsApiAbove: -1 } }).pipe(
        Effect.flip,
        Effect.provide(processOver(simulator))
      )
      assert.include(error.message, "policy.uploadsApiAbove")
    }))
})
