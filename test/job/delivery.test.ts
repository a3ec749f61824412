/**
 * A results download broken off mid-file does not fail the job (issue 14.4): the download resumes where it stopped
 * and the sink sees every result once; a download that keeps breaking without progress fails its part with
 * `PartFailedError` of reason `"delivery"`, naming the file. In memory under TestClock, and once over real HTTP
 * (the simulator's server announcing the whole file and resetting the connection half-way).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref, Sink } from "effect"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as Job from "../../src/Job.js"
import * as JobSink from "../../src/JobSink.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as Server from "../../src/testing/server.js"
import { drive, embedding, httpProcessOver, poll, processOver, recorder } from "./support.js"

const endpoint = "/v1/embeddings" as const
const content = { method: "GET", path: /\/content$/ } as const
const requests = Array.from({ length: 40 }, (_, i) => embedding(i))

/** The content downloads the simulator saw, with the Range each asked for. */
const downloads = (simulator: BatchApiSimulator.Simulator) =>
  Effect.map(
    simulator.requests,
    (all) =>
      all.filter((r) => r.method === "GET" && r.path.endsWith("/content")).map((r) => ({
        path: r.path,
        range: r.headers["range"],
        fault: r.fault
      }))
  )

describe("a job's results download", () => {
  it.effect("broken off mid-file: resumed from the byte it stopped at, every result delivered once", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      yield* simulator.injectFault(BatchApiSimulator.cutDuringBody, { match: content })
      const { delivered, sink } = yield* recorder
      const summary = yield* drive(
        Job.run(requests, { jobId: "cut", endpoint, delivery: { sink }, policy: { poll } }).pipe(
          Effect.provide(processOver(simulator))
        )
      )
      assert.strictEqual(summary.succeeded, 40)
      const counts = yield* Ref.get(delivered)
      assert.strictEqual(counts.size, 40)
      assert.isTrue([...counts.values()].every((n) => n === 1), JSON.stringify([...counts]))
      const seen = yield* downloads(simulator)
      assert.strictEqual(seen.length, 2)
      assert.strictEqual(seen[0]!.fault, "CutDuringBody")
      assert.strictEqual(seen[1]!.path, seen[0]!.path)
      // The second request asks for the rest, from the first byte the cut withheld.
      assert.match(seen[1]!.range ?? "", /^bytes=[1-9]\d*-$/)
    }))

  it.effect("a sink that ends before a delivery's last result fails the part (reason sink), not loses the rest", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      const run = (jobId: string, take: number) =>
        drive(
          Job.run(requests, {
            jobId,
            endpoint,
            delivery: { sink: JobSink.make(() => Sink.take(take)) },
            policy: { poll }
          })
        ).pipe(Effect.provide(processOver(simulator)), Effect.either)
      const short = yield* run("takes-five", 5)
      assert.isTrue(short._tag === "Left" && short.left._tag === "PartFailedError" && short.left.reason === "sink")
      if (short._tag === "Left") assert.include(short.left.message, "ended before their last one")
      // A sink that takes exactly every result is whole: no false alarm.
      const exact = yield* run("takes-all", requests.length)
      assert.isTrue(exact._tag === "Right" && exact.right.succeeded === requests.length)
    }))

  it.effect("broken off every time: the part fails with reason delivery, naming the file", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      yield* simulator.injectFault(BatchApiSimulator.cutDuringBody, { match: content, times: 1000 })
      const { sink } = yield* recorder
      const error = yield* drive(
        Job.run(requests, { jobId: "cut-always", endpoint, delivery: { sink }, policy: { poll } }).pipe(
          BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 3 })),
          Effect.provide(processOver(simulator)),
          Effect.flip
        )
      )
      assert.strictEqual(error._tag, "PartFailedError")
      if (error._tag !== "PartFailedError") return
      assert.strictEqual(error.reason, "delivery")
      assert.strictEqual(error.operation, "Job.run")
      const seen = yield* downloads(simulator)
      // The first attempt and three retries, each making no progress past the cut.
      assert.strictEqual(seen.length, 4)
      const fileId = seen[0]!.path.split("/")[3]!
      assert.strictEqual(error.fileId, fileId)
      assert.include(error.message, fileId)
    }))

  it.scopedLive("over real HTTP: the server resets the connection half-way through the file, the job completes", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({ speed: 1000 })
      yield* server.simulator.injectFault(BatchApiSimulator.cutDuringBody, { match: content })
      const { delivered, sink } = yield* recorder
      const client = httpProcessOver(server)
      const summary = yield* Job.run(requests, {
        jobId: "cut-http",
        endpoint,
        delivery: { sink },
        policy: { poll: BatchSchedule.every("20 millis") }
      }).pipe(Effect.provide(client))
      assert.strictEqual(summary.succeeded, 40)
      const counts = yield* Ref.get(delivered)
      assert.strictEqual(counts.size, 40)
      assert.isTrue([...counts.values()].every((n) => n === 1))
      const seen = yield* downloads(server.simulator)
      assert.strictEqual(seen.length, 2)
      assert.match(seen[1]!.range ?? "", /^bytes=[1-9]\d*-$/)
    }))
})
