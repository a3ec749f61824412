/**
 * A results download broken off mid-file does not fail the job (issue 14.4): the download resumes where it stopped
 * and the sink sees every result once; a download that keeps breaking without progress fails its part with
 * `PartFailedError` of reason `"delivery"`, naming the file. In memory under TestClock, and once over real HTTP on
 * the simulator's server, where the cut delivers its first half and the second request asks for the rest (the
 * Effect 3 edition's test/job/delivery.test.ts, ported).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Ref, Sink } from "effect"
import * as BatchClient from "../../src/BatchClient.js"
import * as BatchSchedule from "../../src/BatchSchedule.js"
import * as Job from "../../src/Job.js"
import * as JobSink from "../../src/JobSink.js"
import * as OpenAiConfig from "../../src/OpenAiConfig.js"
import * as BatchApiSimulator from "../../src/testing/BatchApiSimulator.js"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"
import * as Server from "../../src/testing/server.js"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"
import { drive, embedding, poll, processOver, recorder } from "./support.js"

const endpoint = "/v1/embeddings" as const
const content = { method: "GET", path: /\/content$/ } as const
const requests = Array.from({ length: 40 }, (_, i) => embedding(i))

/** A "process" whose client talks to `server` over real HTTP (undici), with an in-memory file system. */
const httpProcessOver = (server: Server.SimulatorServer) =>
  BatchClient.layer.pipe(
    Layer.provide(OpenAiConfig.layer({
      apiKey: Redacted.make(BatchApiSimulator.testApiKey),
      baseUrl: server.baseUrl
    })),
    Layer.provide(UndiciTransport.layer),
    Layer.merge(MemoryFileSystem.layer)
  )

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
  it.effect("broken off mid-file: read again, every result delivered once", () =>
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
      // The Effect 3 edition checks here that the second request asks for the rest (`bytes=N-`). This edition's
      // in-memory simulator cuts a body by erroring its web stream right after enqueueing the first bytes; whether
      // they arrive before the error depends on how the body is pulled (a stream's error empties its queue; the
      // default idle watchdog's per-pull race happens to read them first), so the range is not checked here. The
      // resume itself is tested against a fake server in test/OpenAiFiles.test.ts and test/download.idle.test.ts.
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
        ).pipe(Effect.provide(processOver(simulator)))
      const short = yield* Effect.flip(run("takes-five", 5))
      assert.isTrue(short._tag === "PartFailedError" && short.reason === "sink")
      assert.include(short.message, "ended before their last one")
      // A sink that takes exactly every result is whole: no false alarm.
      const exact = yield* run("takes-all", requests.length)
      assert.strictEqual(exact.succeeded, requests.length)
    }))

  it.effect("broken off every time: the part fails with reason delivery, naming the file", () =>
    Effect.gen(function*() {
      const simulator = yield* BatchApiSimulator.make()
      yield* simulator.injectFault(BatchApiSimulator.cutDuringBody, { match: content, times: 1000 })
      const { sink } = yield* recorder
      const error = yield* drive(
        Job.run(requests, { jobId: "cut-always", endpoint, delivery: { sink }, policy: { poll } }).pipe(
          // A deadline far off: the count of retries is what is checked. Effect 4's `TestClock.adjust` wakes a
          // download's retry after its per-pull idle timer has taken a scheduler turn, at the end of `drive`'s
          // 10-minute step, so the default 2-minute deadline would end the policy after the first retry.
          BatchSchedule.withRetry(BatchSchedule.retry({ maxRetries: 3, deadline: "1 day" })),
          Effect.provide(processOver(simulator)),
          Effect.flip
        )
      )
      assert.strictEqual(error._tag, "PartFailedError")
      if (error._tag !== "PartFailedError") return
      assert.strictEqual(error.reason, "delivery")
      const seen = yield* downloads(simulator)
      // The first attempt and three retries, each making no progress past the cut.
      assert.strictEqual(seen.length, 4)
      const fileId = seen[0]!.path.split("/")[3]!
      assert.strictEqual(error.fileId, fileId)
      assert.include(error.message, fileId)
    }))

  it.live("over real HTTP: the server resets the connection half-way through the file, the job completes", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({ speed: 1000 })
      yield* server.simulator.injectFault(BatchApiSimulator.cutDuringBody, { match: content })
      const { delivered, sink } = yield* recorder
      const summary = yield* Job.run(requests, {
        jobId: "cut-http",
        endpoint,
        delivery: { sink },
        policy: { poll: BatchSchedule.every("20 millis") }
      }).pipe(Effect.provide(httpProcessOver(server)))
      assert.strictEqual(summary.succeeded, 40)
      const counts = yield* Ref.get(delivered)
      assert.strictEqual(counts.size, 40)
      assert.isTrue([...counts.values()].every((n) => n === 1))
      const seen = yield* downloads(server.simulator)
      assert.strictEqual(seen.length, 2)
      assert.strictEqual(seen[0]!.fault, "CutDuringBody")
      // The first half arrived before the reset: the second request asks for the rest only.
      assert.match(seen[1]!.range ?? "", /^bytes=[1-9]\d*-$/)
    }))
})
