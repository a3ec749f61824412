import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import type * as Batch from "../../src/Batch.js"
import * as JobProgress from "../../src/JobProgress.js"
import { JobEvent } from "../../src/JobReport.js"

const batch = (status: Batch.Batch["status"], completed: number, total: number): Batch.Batch => ({
  id: `batch_${status}`,
  object: "batch",
  endpoint: "/v1/embeddings",
  input_file_id: "file-1",
  completion_window: "24h",
  status,
  created_at: 0,
  request_counts: { total, completed, failed: 0 }
})

const planned = (part: number, requests = 10) => JobEvent.PartPlanned({ part, model: "m", requests, tokens: 100 })

const summary = (part: number, requests = 10) =>
  JobEvent.PartDone({
    summary: {
      part,
      model: "m",
      requests,
      status: "completed",
      attempts: [],
      succeeded: requests,
      failed: 0,
      errored: 0,
      missing: 0,
      resends: 0,
      followUps: 0,
      usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 }
    }
  })

/**
 * A terminal: what the view writes is interpreted (cursor up, carriage return, clear line, clear below, newlines),
 * so that a test sees the screen a person would.
 */
const terminal = (columns = 80) => {
  const screen: Array<string> = []
  let row = 0
  let col = 0
  const write = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      // eslint-disable-next-line no-control-regex -- the terminal escapes are what the test reads
      const escape = /^\x1b\[(\d*)([AJK])/.exec(text.slice(i))
      if (escape !== null) {
        const [all, n, code] = escape
        if (code === "A") row = Math.max(0, row - Number(n || 1))
        if (code === "K") screen[row] = ""
        if (code === "J") {
          screen[row] = (screen[row] ?? "").slice(0, col)
          screen.length = row + 1
        }
        i += all.length - 1
        continue
      }
      const char = text[i]!
      if (char === "\n") {
        row++
        col = 0
      } else if (char === "\r") col = 0
      else {
        const line = screen[row] ?? ""
        screen[row] = line.slice(0, col).padEnd(col) + char + line.slice(col + 1)
        col++
      }
    }
  }
  return { output: { write, isTTY: true, columns }, lines: () => screen.filter((line) => line !== "") }
}

describe("JobProgress.update and render", () => {
  it("says planning until the input is split, then the total; a part whose batch ended is delivering until its results are in", () => {
    let progress = JobProgress.update(JobProgress.initial, planned(1), 0)
    progress = JobProgress.update(progress, planned(2), 0)
    assert.match(JobProgress.render(progress, 0)[0]!, /^job planning: 20 requests split into 2 parts so far/)
    progress = JobProgress.update(progress, JobEvent.PlanDone({ parts: 2, requests: 20 }), 0)
    assert.match(JobProgress.render(progress, 0)[0]!, /0\/20 requests/)
    progress = JobProgress.update(
      progress,
      JobEvent.PartEnded({ part: 1, attempt: 1, batch: batch("completed", 10, 10) }),
      0
    )
    assert.strictEqual(progress.parts.get(1)?.state, "delivering")
    progress = JobProgress.update(
      progress,
      JobEvent.ResultsDelivered({ part: 1, attempt: 1, batchId: "b", results: 10, skipped: false }),
      0
    )
    assert.notStrictEqual(progress.parts.get(1)?.state, "delivering")
  })

  it("a job that ended with requests left without a result says so: not all requests done", () => {
    let progress = JobProgress.update(JobProgress.initial, planned(1), 0)
    progress = JobProgress.update(progress, JobEvent.PlanDone({ parts: 1, requests: 10 }), 0)
    const partial = JobEvent.PartDone({
      summary: {
        part: 1,
        model: "m",
        requests: 10,
        status: "partial",
        attempts: [],
        succeeded: 5,
        failed: 1,
        errored: 0,
        missing: 4,
        resends: 0,
        followUps: 2,
        usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 }
      }
    })
    progress = JobProgress.update(progress, partial, 0)
    progress = JobProgress.update(
      progress,
      JobEvent.JobDone({
        summary: {
          jobId: "j",
          parts: [],
          requests: 10,
          succeeded: 5,
          failed: 1,
          errored: 0,
          missing: 4,
          batches: 3,
          resends: 0,
          followUps: 2,
          usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 }
        }
      }),
      0
    )
    const [head] = JobProgress.render(progress, 1_000)
    assert.include(head, "6/10 requests")
    assert.include(head, "done, 4 requests without a result")
  })

  it("tells elapsed time, rate and ETA from the events' times", () => {
    let progress = JobProgress.update(JobProgress.initial, planned(1, 100), 0)
    progress = JobProgress.update(progress, planned(2, 100), 0)
    progress = JobProgress.update(progress, JobEvent.PlanDone({ parts: 2, requests: 200 }), 0)
    progress = JobProgress.update(progress, summary(1, 100), 50_000)
    // 100 requests in 50 s: 2 per second, 100 left: 50 s more.
    const [head] = JobProgress.render(progress, 50_000)
    assert.include(head, "100/200 requests (50s, 2.0/s, ETA 50s)")
  })

  it("lists the busiest parts, cut to the width, and counts the rest", () => {
    let progress = JobProgress.initial
    for (let part = 1; part <= 12; part++) progress = JobProgress.update(progress, planned(part), 0)
    for (let part = 1; part <= 3; part++) {
      progress = JobProgress.update(
        progress,
        JobEvent.PartCreated({ part, attempt: 1, kind: "full", batch: batch("in_progress", 2, 10), resumed: false }),
        0
      )
    }
    const lines = JobProgress.render(progress, 0, { maxParts: 2, width: 40 })
    assert.strictEqual(lines.filter((line) => line.includes("part ")).length, 2)
    assert.match(lines[lines.length - 1]!, /^ {2}… 10 more parts \(0 done, 9 not/)
    assert.isTrue(lines.every((line) => line.length <= 40))
  })
})

describe("JobProgress.view", () => {
  it.scoped("on a terminal, redraws in place: the screen holds the last frame and nothing of the longer ones before it", () =>
    Effect.gen(function*() {
      const tty = terminal(60)
      const view = yield* JobProgress.view(tty.output, { maxParts: 6 })
      for (let part = 1; part <= 12; part++) yield* view.onEvent(planned(part))
      for (let part = 1; part <= 8; part++) {
        yield* view.onEvent(
          JobEvent.PartCreated({ part, attempt: 1, kind: "full", batch: batch("in_progress", 1, 10), resumed: false })
        )
      }
      const long = tty.lines().length
      // Most parts end: the frame shrinks; the lines it no longer has must be gone from the screen.
      yield* view.onEvent(JobEvent.PlanDone({ parts: 12, requests: 120 }))
      for (let part = 1; part <= 11; part++) yield* view.onEvent(summary(part))
      const progress = yield* view.progress
      const expected = JobProgress.render(progress, 0, { maxParts: 6, width: 59 })
      assert.isBelow(expected.length, long)
      assert.deepStrictEqual(tty.lines(), [...expected])
      assert.isTrue(tty.lines().every((line) => line.length <= 59), "no line wraps")
    }))

  it.scoped("elsewhere, prints one line per interval, and the whole view once at the end", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const view = yield* JobProgress.view({ write: (text) => written.push(text) }, { interval: "10 seconds" })
      yield* view.onEvent(planned(1))
      yield* view.onEvent(JobEvent.PlanDone({ parts: 1, requests: 10 }))
      yield* TestClock.adjust("10 seconds")
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(written.map((text) => text.split("\n").length - 1), [1, 1], "a line per interval")
      assert.include(written[1], "0/10 requests (20s")
      yield* view.onEvent(summary(1))
      yield* view.onEvent(JobEvent.JobDone({
        summary: {
          jobId: "j",
          parts: [],
          requests: 10,
          succeeded: 10,
          failed: 0,
          errored: 0,
          missing: 0,
          batches: 1,
          resends: 0,
          followUps: 0,
          usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 0 }
        }
      }))
      assert.isTrue(written.every((text) => !text.includes("\x1b")), "no escape codes in a log")
      assert.include(written[written.length - 1], "10/10 requests")
      assert.include(written[written.length - 1], "done")
    }))
})
