/**
 * The shared scenario suite, run against the Effect 3 edition: the tables of fixtures/scenarios/ (written once,
 * Effect-free) asserted case by case through this edition's public API. effect4/test/scenarios.test.ts runs the
 * same tables against the Effect 4 edition; a case both cannot pass is a disagreement between the editions.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream, TestClock } from "effect"
import * as Batch from "../src/Batch.js"
import * as BatchApi from "../src/BatchApi.js"
import * as BatchError from "../src/BatchError.js"
import * as BatchInput from "../src/BatchInput.js"
import * as BatchLine from "../src/BatchLine.js"
import * as BatchResults from "../src/BatchResults.js"
import * as BatchSchedule from "../src/BatchSchedule.js"
import * as BatchApiSimulator from "../src/testing/BatchApiSimulator.js"
import * as Fake from "./support/FakeHttp.js"
import { at, type Case, cases, fixtureText, mismatches } from "./support/scenarios.js"

const edition = "effect3"

type Operation = "retrieveBatch" | "cancelBatch" | "listBatches"

const call = (
  operation: Operation
): Effect.Effect<Batch.Batch | Batch.BatchPage, BatchError.RequestError, BatchApi.BatchApi> => {
  switch (operation) {
    case "retrieveBatch":
      return BatchApi.retrieveBatch("batch_abc123")
    case "cancelBatch":
      return BatchApi.cancelBatch("batch_abc123")
    case "listBatches":
      return BatchApi.listBatches()
  }
}

/** Waits (on progress, not time) until the fake has seen `count` requests, then lets the request fiber settle. */
const sent = (count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000 && (yield* Fake.requests).length < count; i++) yield* Effect.yieldNow()
    assert.isAtLeast((yield* Fake.requests).length, count)
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
  })

/** An error's fields, its `message` and its `transience`, by name. */
const errorFields = (error: BatchError.RequestError) => {
  const fields: Record<string, unknown> = { ...error, message: error.message, transience: BatchError.transience(error) }
  return (key: string) => fields[key]
}

interface ErrorCase extends Case {
  readonly operation: Operation
  readonly now?: string
  readonly response?: { readonly status: number; readonly headers?: Record<string, string>; readonly body: unknown }
  readonly drop?: { readonly message: string; readonly code: string }
  readonly hang?: { readonly timeoutMs: number }
}

describe("scenarios: errors (fixtures/scenarios/errors.json)", () => {
  for (const scenario of cases<ErrorCase>("errors", edition)) {
    it.effect(scenario.name, () =>
      Effect.gen(function*() {
        if (scenario.now !== undefined) yield* TestClock.setTime(Date.parse(scenario.now))
        const fiber = yield* Effect.fork(Effect.flip(call(scenario.operation)))
        if (scenario.hang !== undefined) {
          yield* sent(1)
          yield* TestClock.adjust(scenario.hang.timeoutMs)
        }
        const error = yield* Fiber.join(fiber)
        assert.deepStrictEqual(mismatches(scenario.expect, errorFields(error)), [])
      }).pipe(Effect.provide(Fake.layer(() => {
        if (scenario.drop !== undefined) {
          return { drop: true, cause: Object.assign(new Error(scenario.drop.message), { code: scenario.drop.code }) }
        }
        if (scenario.hang !== undefined) return { hang: true }
        const response = scenario.response!
        return Fake.json(response.status, response.body, response.headers)
      }, {
        retry: BatchSchedule.noRetry,
        ...(scenario.hang === undefined ? {} : { timeout: scenario.hang.timeoutMs })
      }))))
  }
})

interface DecodingCase extends Case {
  readonly operation: Operation
  readonly body?: unknown
  readonly fixture?: string
  readonly patch?: Record<string, unknown>
  readonly omit?: ReadonlyArray<string>
  readonly headers?: Record<string, string>
}

const bodyOf = (scenario: DecodingCase): unknown => {
  if (scenario.fixture === undefined) return scenario.body
  const body: Record<string, unknown> = { ...JSON.parse(fixtureText(scenario.fixture)), ...scenario.patch }
  for (const key of scenario.omit ?? []) delete body[key]
  return body
}

/** A decoded batch or page: its paths, and the library's accessors by name. */
const decodedFields = (value: Batch.Batch | Batch.BatchPage) => (key: string) => {
  switch (key) {
    case "unknownFields":
      return Batch.unknownFields(value)
    case "isTerminal":
      return value.object === "batch" ? Batch.isTerminal(value) : undefined
    case "isKnownStatus":
      return value.object === "batch" ? Batch.isKnownStatus(value.status) : undefined
    case "hasResults":
      return value.object === "batch" ? Batch.hasResults(value) : undefined
    case "isCancellable":
      return value.object === "batch" ? Batch.isCancellable(value) : undefined
    default:
      return at(value, key)
  }
}

describe("scenarios: decoding (fixtures/scenarios/decoding.json)", () => {
  for (const scenario of cases<DecodingCase>("decoding", edition)) {
    it.effect(scenario.name, () =>
      Effect.gen(function*() {
        const result = yield* Effect.either(call(scenario.operation))
        const read = result._tag === "Right" ? decodedFields(result.right) : errorFields(result.left)
        assert.deepStrictEqual(mismatches(scenario.expect, read), [])
      }).pipe(Effect.provide(Fake.layer(() => Fake.json(200, bodyOf(scenario), scenario.headers), {
        retry: BatchSchedule.noRetry
      }))))
  }
})

interface RequestLinesCase extends Case {
  readonly endpoint: string
  readonly lines: ReadonlyArray<BatchLine.BatchRequestInput>
  readonly maxLines?: number
  readonly maxBytes?: number
}

/** Any error of the library: its fields and `message`, by name. */
const fieldsOf = (error: BatchError.BatchError) => {
  const fields: Record<string, unknown> = { ...error, message: error.message }
  return (key: string) => fields[key]
}

describe("scenarios: request lines (fixtures/scenarios/requestLines.json)", () => {
  for (const scenario of cases<RequestLinesCase>("requestLines", edition)) {
    it.effect(scenario.name, () =>
      Effect.gen(function*() {
        const checked = yield* Effect.either(BatchInput.check(scenario.lines, {
          endpoint: scenario.endpoint,
          maxLines: scenario.maxLines,
          maxBytes: scenario.maxBytes
        }))
        const read = checked._tag === "Right" ? (key: string) => at(checked.right, key) : fieldsOf(checked.left)
        assert.deepStrictEqual(mismatches(scenario.expect, read), [])
      }))
  }
})

interface ResultsCase extends Case {
  readonly line: unknown
}

const encoder = new TextEncoder()

describe("scenarios: results lines (fixtures/scenarios/results.json)", () => {
  for (const scenario of cases<ResultsCase>("results", edition)) {
    it.effect(scenario.name, () =>
      Effect.gen(function*() {
        const text = typeof scenario.line === "string" ? scenario.line : JSON.stringify(scenario.line)
        const decoded = yield* Effect.either(Stream.runCollect(
          BatchResults.decode({ fileId: "file-out", file: "output" })(Stream.make(encoder.encode(`${text}\n`)))
        ))
        if (decoded._tag === "Right") {
          const results = Chunk.toReadonlyArray(decoded.right)
          assert.strictEqual(results.length, 1)
          const result = results[0]!
          const read = (key: string) => key === "neverRan" ? BatchLine.neverRan(result) : at(result, key)
          assert.deepStrictEqual(mismatches(scenario.expect, read), [])
        } else {
          assert.deepStrictEqual(mismatches(scenario.expect, fieldsOf(decoded.left)), [])
        }
      }))
  }
})

interface LifecycleCase extends Case {
  readonly script: BatchApiSimulator.Script
  readonly checkpoints: ReadonlyArray<{
    readonly atMs: number
    readonly cancel?: boolean
    readonly expect: Readonly<Record<string, unknown>>
  }>
}

describe("scenarios: the simulator's lifecycle (fixtures/scenarios/lifecycle.json)", () => {
  for (const scenario of cases<LifecycleCase>("lifecycle", edition)) {
    it.effect(scenario.name, () =>
      Effect.gen(function*() {
        const created = yield* BatchApi.createBatch({
          input_file_id: "file-any",
          endpoint: "/v1/chat/completions",
          completion_window: "24h"
        })
        let now = 0
        for (const checkpoint of scenario.checkpoints) {
          yield* TestClock.adjust(checkpoint.atMs - now)
          now = checkpoint.atMs
          const batch = checkpoint.cancel === true
            ? yield* BatchApi.cancelBatch(created.id)
            : yield* BatchApi.retrieveBatch(created.id)
          const read = (key: string) => key === "hasResults" ? Batch.hasResults(batch) : at(batch, key)
          assert.deepStrictEqual(mismatches(checkpoint.expect, read), [], `at ${checkpoint.atMs} ms`)
        }
      }).pipe(Effect.provide(BatchApiSimulator.layerBatchApi({ requireInputFile: false, script: scenario.script }))))
  }
})
