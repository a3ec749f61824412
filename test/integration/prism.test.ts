/**
 * An independent referee: Stoplight Prism serves the official spec subset (fixtures/openapi.batches.yaml) and
 * validates every request against it. Each operation goes through the library, over real HTTP, with representative
 * params (the optional ones too), and must be accepted.
 *
 * "Accepted" is checked three ways, because one witness could be fooled:
 * - the library call succeeds (so no 422 UnprocessableEntityError, no 401, no 415, and Prism's spec-generated body
 *   decodes with our schemas);
 * - the exchange the transport saw is a 200 without an `sl-violations` header (Prism sets it for any request warning,
 *   and for any response violation; with `--errors` a response violation would also turn the 200 into a 500);
 * - Prism's own log says "The request passed the validation rules" once per request, and never "did not pass".
 *
 * Controls keep the referee honest: raw requests that break the spec get its 422 (and its log says so), and for
 * params the spec forbids the library's client-side validation refuses the same values before sending anything.
 */
import { assert, describe } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import type * as Batch from "../../src/Batch.js"
import * as BatchApi from "../../src/BatchApi.js"
import type * as BatchError from "../../src/BatchError.js"
import { scaled } from "../support/patience.js"
import * as SharedLayer from "../support/sharedLayer.js"
import { apiKey, type Exchange, library, recorder } from "./support/client.js"
import * as Prism from "./support/prism.js"

const passed = "passed the validation rules"
const notPassed = "did not pass the validation rules"
const verdicts = (lines: ReadonlyArray<string>) =>
  lines.filter((line) => line.includes(passed) || line.includes(notPassed))

interface Refereed<A> {
  readonly exit: Exit.Exit<A, BatchError.CreateError>
  readonly exchanges: ReadonlyArray<Exchange>
  /** Prism's log lines written for these requests. */
  readonly log: ReadonlyArray<string>
}

/** Runs a library call against Prism with a recording transport, and collects Prism's verdicts on it. */
const refereed = <A>(call: Effect.Effect<A, BatchError.CreateError, BatchApi.BatchApi>) =>
  Effect.gen(function*() {
    const prism = yield* Prism.Prism
    const traffic = recorder()
    const mark = prism.lines().length
    const exit = yield* Effect.exit(Effect.provide(
      call,
      // No retries: a request's timeout stretches with the machine's load instead.
      library({ baseUrl: prism.baseUrl, maxRetries: 0, timeout: scaled(5_000), wrap: traffic.wrap })
    ))
    const exchanges = traffic.exchanges()
    yield* prism.waitForOutput((lines) => verdicts(lines.slice(mark)).length >= exchanges.length)
    const result: Refereed<A> = { exit, exchanges, log: prism.lines().slice(mark) }
    return result
  })

/** The three witnesses; returns the decoded value. */
const assertAccepted = <A>(result: Refereed<A>, expectedRequests = 1): A => {
  const { exchanges, exit, log } = result
  if (Exit.isFailure(exit)) {
    const failure = Cause.failureOption(exit.cause)
    const tag = failure._tag === "Some" ? failure.value._tag : "defect"
    assert.notStrictEqual(tag, "UnprocessableEntityError", "Prism rejected the request (422)")
    assert.fail(`the call failed with ${tag}: ${Cause.pretty(exit.cause)}\nPrism said:\n${log.join("\n")}`)
  }
  assert.strictEqual(exchanges.length, expectedRequests, "requests sent")
  for (const exchange of exchanges) {
    assert.strictEqual(exchange.status, 200, `${exchange.method} ${exchange.url}?${exchange.query}`)
    // The recorder sees Prism's headers (this one Prism always sets) ...
    assert.strictEqual(exchange.responseHeaders?.["content-type"], "application/json")
    // ... and Prism found no violation at any severity, in the request or in its own response.
    assert.isUndefined(exchange.responseHeaders?.["sl-violations"], exchange.responseHeaders?.["sl-violations"])
  }
  const said = verdicts(log)
  assert.strictEqual(said.length, expectedRequests, `Prism's verdicts:\n${log.join("\n")}`)
  for (const line of said) assert.include(line, passed)
  assert.isFalse(log.some((line) => line.includes("Violation")), log.join("\n"))
  return exit.value
}

/** A request the library would never send, straight to Prism. */
const raw = (method: "GET" | "POST", path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const prism = yield* Prism.Prism
    const mark = prism.lines().length
    const response = yield* Effect.promise(() =>
      fetch(`${prism.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
    )
    const text = yield* Effect.promise(() => response.text())
    yield* prism.waitForOutput((lines) => lines.slice(mark).some((line) => line.includes("Request received")))
    return { status: response.status, contentType: response.headers.get("content-type"), text, mark }
  })

/** Prism's 422 names the offending field in its `validation` list. */
const assertRejected = (answer: { readonly status: number; readonly text: string }, field: string) => {
  assert.strictEqual(answer.status, 422, answer.text)
  const problem: unknown = JSON.parse(answer.text)
  const validation = typeof problem === "object" && problem !== null && "validation" in problem
    ? problem.validation
    : undefined
  assert.isTrue(Array.isArray(validation) && validation.length > 0, answer.text)
  assert.include(JSON.stringify(validation), field)
}

const validCreate = {
  input_file_id: "file-abc123",
  endpoint: "/v1/chat/completions",
  completion_window: "24h"
} as const satisfies Batch.CreateBatchParams

/** Params the type system would refuse, to check the library's runtime validation. */
const uncheckedCreate = (params: unknown) => params as Batch.CreateBatchParams
const uncheckedList = (params: unknown) => params as Batch.ListBatchesParams

// The layer's timeout is a cap: Prism's start fails by itself once its output stops (see support/prism.ts).
describe("Prism referee", () => {
  const it = SharedLayer.make(Prism.layer, { timeout: "300 seconds" })
  describe("accepts every operation the library sends", () => {
    it.effect("createBatch with metadata and output_expires_after", () =>
      Effect.gen(function*() {
        const params: Batch.CreateBatchParams = {
          ...validCreate,
          metadata: { customer_id: "user_123456789", batch_description: "Nightly eval job" },
          output_expires_after: { anchor: "created_at", seconds: 86_400 }
        }
        const result = yield* refereed(BatchApi.createBatch(params, { idempotencyKey: "prism-key-1" }))
        const batch = assertAccepted(result, 2)
        // A caller's idempotency key is looked up first: a list request Prism must accept too.
        assert.deepStrictEqual(result.exchanges.map((e) => e.method), ["GET", "POST"])
        assert.strictEqual(result.exchanges[0]?.url, `${(yield* Prism.Prism).baseUrl}/batches`)
        assert.strictEqual(String(result.exchanges[0]?.query), "limit=100")
        const sent = result.exchanges[1]
        // What Prism accepted is what we meant to send, optional params included.
        assert.strictEqual(sent?.method, "POST")
        assert.strictEqual(sent?.url, `${(yield* Prism.Prism).baseUrl}/batches`)
        assert.deepStrictEqual(sent?.body, {
          ...params,
          metadata: { ...params.metadata, [BatchApi.idempotencyMetadataKey]: "prism-key-1" }
        })
        assert.strictEqual(sent?.requestHeaders["idempotency-key"], "prism-key-1")
        // Prism's placeholder body, generated from the spec's Batch schema, decodes.
        assert.strictEqual(batch.object, "batch")
        assert.strictEqual(batch.status, "validating")
      }))

    it.effect("createBatch for each of the 8 endpoints, and metadata at its documented limits", () =>
      Effect.gen(function*() {
        const endpoints = [
          "/v1/responses",
          "/v1/chat/completions",
          "/v1/embeddings",
          "/v1/completions",
          "/v1/moderations",
          "/v1/images/generations",
          "/v1/images/edits",
          "/v1/videos"
        ] as const
        for (const endpoint of endpoints) {
          assertAccepted(yield* refereed(BatchApi.createBatch({ ...validCreate, endpoint })))
        }
        // 15 pairs of the longest keys and values, plus the library's marker: 16 pairs on the wire.
        const pairs = (n: number) =>
          Object.fromEntries(Array.from({ length: n }, (_, i) => [`${i}`.padStart(64, "k"), "v".repeat(512)]))
        const fifteen = yield* refereed(BatchApi.createBatch({ ...validCreate, metadata: pairs(15) }))
        assertAccepted(fifteen)
        const sentFifteen = fifteen.exchanges[0]?.body
        assert.isTrue(typeof sentFifteen === "object" && sentFifteen !== null && "metadata" in sentFifteen)
        const metadata15 = typeof sentFifteen === "object" && sentFifteen !== null && "metadata" in sentFifteen
          ? sentFifteen.metadata
          : undefined
        assert.strictEqual(Object.keys(metadata15 ?? {}).length, 16)
        // 16 pairs of the caller's: no slot left, so no marker is added.
        const sixteen = yield* refereed(BatchApi.createBatch({ ...validCreate, metadata: pairs(16) }))
        assertAccepted(sixteen)
        assert.deepStrictEqual(sixteen.exchanges[0]?.body, { ...validCreate, metadata: pairs(16) })
      }))

    it.effect("listBatches with and without after and limit", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [Batch.ListBatchesParams | undefined, string]> = [
          [undefined, ""],
          [{ limit: 1 }, "limit=1"],
          [{ limit: 100 }, "limit=100"],
          [{ after: "batch_abc123" }, "after=batch_abc123"],
          [{ after: "batch_abc123", limit: 20 }, "after=batch_abc123&limit=20"]
        ]
        for (const [params, query] of cases) {
          const result = yield* refereed(BatchApi.listBatches(params))
          const page = assertAccepted(result)
          assert.strictEqual(result.exchanges[0]?.method, "GET")
          assert.strictEqual(result.exchanges[0]?.url, `${(yield* Prism.Prism).baseUrl}/batches`)
          assert.strictEqual(result.exchanges[0]?.query, query)
          assert.strictEqual(page.object, "list")
          assert.isTrue(page.data.length > 0)
        }
      }))

    it.effect("retrieveBatch and cancelBatch", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* Prism.Prism
        const retrieved = yield* refereed(BatchApi.retrieveBatch("batch_abc123"))
        assert.strictEqual(assertAccepted(retrieved).object, "batch")
        assert.strictEqual(retrieved.exchanges[0]?.method, "GET")
        assert.strictEqual(retrieved.exchanges[0]?.url, `${baseUrl}/batches/batch_abc123`)

        const cancelled = yield* refereed(BatchApi.cancelBatch("batch_abc123"))
        assert.strictEqual(assertAccepted(cancelled).object, "batch")
        assert.strictEqual(cancelled.exchanges[0]?.method, "POST")
        assert.strictEqual(cancelled.exchanges[0]?.url, `${baseUrl}/batches/batch_abc123/cancel`)
        assert.isUndefined(cancelled.exchanges[0]?.body)
      }))
  })

  describe("the referee is awake", () => {
    it.effect("raw requests that break the spec get 422, and Prism's log says they did not pass", () =>
      Effect.gen(function*() {
        const prism = yield* Prism.Prism
        const window = yield* raw("POST", "/batches", { ...validCreate, completion_window: "48h" })
        assertRejected(window, "completion_window")
        assert.strictEqual(window.contentType, "application/problem+json")
        const limit = yield* raw("GET", "/batches?limit=abc")
        assertRejected(limit, "limit")
        yield* prism.waitForOutput((lines) => verdicts(lines.slice(window.mark)).length >= 2)
        const said = verdicts(prism.lines().slice(window.mark))
        assert.strictEqual(said.length, 2, said.join("\n"))
        for (const line of said) assert.include(line, notPassed)
        // And it checks auth: no bearer token, 401.
        const anonymous = yield* raw("GET", "/batches", undefined, { authorization: "" })
        assert.strictEqual(anonymous.status, 401)
      }))

    it.effect("the same request sent raw and valid gets 200 (the 422s above are about the broken field)", () =>
      Effect.gen(function*() {
        const answer = yield* raw("POST", "/batches", validCreate)
        assert.strictEqual(answer.status, 200, answer.text)
      }))
  })

  describe("the library's client-side validation agrees with the referee", () => {
    const invalidCreates: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
      ["completion_window", "completion_window", { ...validCreate, completion_window: "48h" }],
      ["endpoint", "endpoint", { ...validCreate, endpoint: "/v1/audio/speech" }],
      ["output_expires_after", "seconds", {
        ...validCreate,
        output_expires_after: { anchor: "created_at", seconds: 100 }
      }],
      ["output_expires_after", "seconds", {
        ...validCreate,
        output_expires_after: { anchor: "created_at", seconds: 2_592_001 }
      }],
      ["output_expires_after", "anchor", {
        ...validCreate,
        output_expires_after: { anchor: "expires_at", seconds: 3600 }
      }],
      ["input_file_id", "input_file_id", { endpoint: validCreate.endpoint, completion_window: "24h" }],
      ["metadata", "metadata", { ...validCreate, metadata: { a: 1 } }]
    ]
    for (const [field, prismField, params] of invalidCreates) {
      it.effect(`createBatch: ${field} ${JSON.stringify(params[field] ?? "(missing)")}`, () =>
        Effect.gen(function*() {
          assertRejected(yield* raw("POST", "/batches", params), prismField)
          const result = yield* refereed(BatchApi.createBatch(uncheckedCreate(params)))
          assert.strictEqual(result.exchanges.length, 0, "nothing is sent")
          const error = Exit.isFailure(result.exit) ? Cause.failureOption(result.exit.cause) : undefined
          assert.strictEqual(error?._tag, "Some")
          if (error?._tag !== "Some" || error.value._tag !== "InvalidParamsError") {
            return assert.fail(`expected InvalidParamsError, got ${String(result.exit)}`)
          }
          // The error names the field (a nested one by its path) and the rule, in one line (the endpoint's lists the
          // eight endpoints a batch may target).
          assert.isTrue(error.value.field?.startsWith(field), `${error.value.field} names ${field}`)
          assert.include(error.value.message, `createBatch: ${error.value.field} `)
          assert.isBelow(error.value.message.length, 200)
        }))
    }

    it.effect("listBatches: a limit that is not an integer", () =>
      Effect.gen(function*() {
        assertRejected(yield* raw("GET", "/batches?limit=2.5"), "limit")
        const result = yield* refereed(BatchApi.listBatches(uncheckedList({ limit: 2.5 })))
        assert.strictEqual(result.exchanges.length, 0, "nothing is sent")
        const error = Exit.isFailure(result.exit) ? Cause.failureOption(result.exit.cause) : undefined
        assert.isTrue(error?._tag === "Some" && error.value._tag === "InvalidParamsError")
        if (error?._tag === "Some" && error.value._tag === "InvalidParamsError") {
          assert.strictEqual(error.value.field, "limit")
          assert.strictEqual(error.value.message, "listBatches: limit must be an integer between 1 and 100")
        }
      }))

    // The spec's prose documents these limits but its schema does not encode them, so Prism lets them through;
    // the library enforces the documented limits before sending (the real API answers 400).
    it.effect("limits written only in the spec's prose: Prism lets them through, the library refuses them", () =>
      Effect.gen(function*() {
        assert.strictEqual((yield* raw("GET", "/batches?limit=101")).status, 200)
        const seventeen = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]))
        assert.strictEqual((yield* raw("POST", "/batches", { ...validCreate, metadata: seventeen })).status, 200)
        for (
          const call of [
            BatchApi.listBatches({ limit: 101 }),
            BatchApi.listBatches({ limit: 0 }),
            BatchApi.createBatch({ ...validCreate, metadata: seventeen }),
            BatchApi.createBatch({ ...validCreate, metadata: { ["k".repeat(65)]: "v" } }),
            BatchApi.createBatch({ ...validCreate, metadata: { k: "v".repeat(513) } })
          ]
        ) {
          const result = yield* refereed<unknown>(call)
          assert.strictEqual(result.exchanges.length, 0, "nothing is sent")
          const error = Exit.isFailure(result.exit) ? Cause.failureOption(result.exit.cause) : undefined
          assert.isTrue(error?._tag === "Some" && error.value._tag === "InvalidParamsError", String(result.exit))
        }
      }))
  })
})
