/**
 * What every crash test checks once the job is over: one batch per (part, attempt), one create request per batch,
 * every request's result in exactly one delivered file, one file per batch, and a summary that counts them all.
 * The root's test/durable/support/checks.ts; here the cases share one simulator, so the create requests counted are
 * the job's own (its id in their metadata).
 */
import { assert } from "@effect/vitest"
import { Effect, Predicate, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as BatchApi from "../../../src/BatchApi.js"
import * as JobReport from "../../../src/JobReport.js"
import * as JobSink from "../../../src/JobSink.js"
import type * as BatchApiSimulator from "../../../src/testing/BatchApiSimulator.js"
import { clientOver } from "../../job/support.js"
import { summaryOf } from "./children.js"

/** The `metadata` of a logged create request's body (parsed JSON). */
const metadataOf = (body: unknown): Readonly<Record<string, unknown>> => {
  const metadata = Predicate.isObject(body) && "metadata" in body ? body.metadata : undefined
  return Predicate.isObject(metadata) ? { ...metadata } : {}
}

/** `n` embedding requests as a JSONL file, `r0` to `r<n-1>`. */
export const writeInput = (file: string, n: number) =>
  fs.writeFileSync(
    file,
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        custom_id: `r${i}`,
        method: "POST",
        url: "/v1/embeddings",
        body: { model: "text-embedding-3-small", input: `text number ${i}` }
      })).join("\n") + "\n"
  )

/** The summary a child printed, decoded. */
export const decodeSummary = (lines: ReadonlyArray<string>) => {
  const raw = summaryOf(lines)
  assert.isDefined(raw, `no SUMMARY line in:\n${lines.join("\n")}`)
  return Schema.decodeUnknownSync(JobReport.JobSummary)(raw)
}

/** Checks the simulator and the sink directory after a job of `requests` requests in `parts` parts ended. */
export const checkJob = (options: {
  readonly simulator: BatchApiSimulator.Simulator
  readonly jobId: string
  readonly sinkDir: string
  readonly requests: number
  readonly parts: number
  readonly summary: JobReport.JobSummary
}) =>
  Effect.gen(function*() {
    const { jobId, parts, requests, simulator, sinkDir, summary } = options
    const page = yield* BatchApi.listBatches({ limit: 100 }).pipe(Effect.provide(clientOver(simulator)))
    const batches = page.data.filter((batch) => batch.metadata?.["eob_job"] === jobId)
    const attempts = batches.map((batch) => `${batch.metadata?.["eob_part"]}/${batch.metadata?.["eob_attempt"]}`)
    assert.strictEqual(
      new Set(attempts).size,
      attempts.length,
      `a (part, attempt) has two batches: ${attempts.sort().join(", ")}`
    )
    assert.deepStrictEqual(attempts.sort(), Array.from({ length: parts }, (_, i) => `${i + 1}/1`).sort())
    const creates = (yield* simulator.requests).filter((r) =>
      r.method === "POST" && r.path === "/v1/batches" && metadataOf(r.body)["eob_job"] === jobId
    )
    assert.strictEqual(creates.length, parts, "one create request per part reached the API: none was sent again")

    // Every result in exactly one whole file; the files are exactly one per batch (a replayed delivery rewrote its
    // own file, it did not add one).
    const files = fs.readdirSync(sinkDir)
    assert.deepStrictEqual(files.filter((f) => !f.endsWith(".jsonl")), [], "no partial file is left")
    const expected = batches.map((batch) =>
      JobSink.fileName({
        jobId,
        part: Number(batch.metadata?.["eob_part"]),
        attempt: Number(batch.metadata?.["eob_attempt"]),
        batchId: batch.id
      })
    )
    assert.deepStrictEqual([...files].sort(), expected.sort())
    const seen = new Map<string, number>()
    for (const file of files) {
      for (const line of fs.readFileSync(path.join(sinkDir, file), "utf8").split("\n")) {
        if (line === "") continue
        const id = (JSON.parse(line) as { custom_id: string }).custom_id
        seen.set(id, (seen.get(id) ?? 0) + 1)
      }
    }
    assert.strictEqual(seen.size, requests, "every request has a result")
    const twice = [...seen].filter(([, n]) => n !== 1)
    assert.deepStrictEqual(twice, [], "no result is delivered twice")

    assert.strictEqual(summary.parts.length, parts)
    assert.strictEqual(summary.batches, parts)
    assert.strictEqual(summary.succeeded, requests)
    assert.strictEqual(summary.missing, 0)
    assert.isTrue(summary.parts.every((part) => part.status === "completed"))
  })
