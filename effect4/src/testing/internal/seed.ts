/**
 * Seeded batches, for list and pagination tests that need many batches in every status: added straight to the
 * state (no requests), each with a lifecycle placed so that it shows the asked-for status at Clock now and goes on
 * from there like any other batch. A seeded `in_progress` batch completes (or expires) on the default script, a
 * `cancelling` one becomes `cancelled` after the script's cancelling time, a `validating` one validates; a batch in
 * a terminal status ended at or before now.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Lifecycle from "./lifecycle.js"
import * as Lines from "./lines.js"
import type { Responder, Script, SeedOptions } from "./model.js"
import * as Results from "./results.js"
import * as Scripts from "./script.js"
import type { LiveBatch, State } from "./state.js"
import { addBatch, batchIdOf, seconds } from "./state.js"

/** A seeded batch's requests. */
const requestCount = 10

const seededFailure = [{ code: "invalid_json_line", message: "Seeded failure.", param: null, line: 1 }] as const

const ms = (millis: number) => Duration.millis(Math.max(0, millis))

/**
 * The script, creation time and cancel time that put a batch created `age` ms before now in `status` now. `base`
 * is the simulator's default script resolved; what comes after now follows it.
 */
const placed = (
  status: NonNullable<SeedOptions["status"]>,
  createdAtMs: number,
  now: number,
  base: Lifecycle.ResolvedScript
): { readonly script: Script; readonly createdAtMs: number; readonly cancelRequestedAtMs?: number } => {
  const age = now - createdAtMs
  const validating = Math.min(base.validatingMs, age)
  const inProgress = base.inProgressMs ?? Duration.toMillis(Duration.minutes(5))
  switch (status) {
    case "validating":
      return { script: { validating: ms(age + Math.max(base.validatingMs, 1000)) }, createdAtMs }
    case "in_progress":
      return { script: { validating: ms(validating), inProgress: ms(age - validating + inProgress) }, createdAtMs }
    case "finalizing":
      return {
        script: {
          validating: ms(validating),
          inProgress: ms(age - validating),
          finalizing: ms(Math.max(base.finalizingMs, 1000))
        },
        createdAtMs
      }
    case "completed": {
      const running = Math.min(inProgress, age - validating)
      const finalizing = Math.min(base.finalizingMs, age - validating - running)
      return {
        script: { validating: ms(validating), inProgress: ms(running), finalizing: ms(finalizing) },
        createdAtMs
      }
    }
    case "failed":
      return { script: { validating: ms(validating), outcome: "failed", errors: seededFailure }, createdAtMs }
    case "expired":
      // Expiry comes 24 hours after creation: an expired batch was created a day before its place in the list.
      return {
        script: { validating: ms(base.validatingMs), outcome: "expired" },
        createdAtMs: createdAtMs - Lifecycle.dayMs
      }
    case "cancelling":
      return {
        script: { validating: ms(validating), inProgress: ms(age - validating + inProgress) },
        createdAtMs,
        cancelRequestedAtMs: now
      }
    case "cancelled":
      return {
        script: {
          validating: ms(validating),
          inProgress: ms(age - validating + inProgress),
          cancelling: ms(Math.min(base.cancellingMs, age - validating))
        },
        createdAtMs,
        cancelRequestedAtMs: createdAtMs + validating
      }
  }
}

/**
 * Adds `options.count` batches, oldest first, the newest created at `now` (spaced `spacingSeconds` apart); returns
 * their ids.
 *
 * @internal
 */
export const seedBatches = (
  state: State,
  options: SeedOptions,
  now: number,
  responder: Responder
): readonly [ReadonlyArray<string>, State] => {
  const status = options.status ?? "completed"
  const endpoint = options.endpoint ?? "/v1/chat/completions"
  const spacingMs = (options.spacingSeconds ?? 60) * 1000
  const base = Scripts.resolve(state.defaultScript)
  const lines = Lines.syntheticLines(endpoint, requestCount)
  const ids: Array<string> = []
  let next = state
  for (let i = 0; i < options.count; i++) {
    const counter = next.counter + 1
    const id = batchIdOf(counter)
    // Whole seconds, as `created_at` shows them.
    const slot = seconds(now - (options.count - 1 - i) * spacingMs) * 1000
    const { cancelRequestedAtMs, createdAtMs, script } = placed(status, slot, now, base)
    const answers = Results.answering(id, seconds(createdAtMs), responder)
    for (const line of lines) answers.add(line)
    const answered = answers.done()
    const batch: LiveBatch = {
      _tag: "Live",
      id,
      seq: next.batchCount,
      endpoint,
      inputFileId: `file-seed${counter.toString(36)}`,
      metadata: options.metadata === undefined ? null : { ...options.metadata },
      outputExpiresAfter: undefined,
      createdAtMs,
      scriptSource: script,
      script: Scripts.resolve(script),
      requestCount,
      invalid: false,
      cancelRequestedAtMs,
      // Accepted before anything the test does; no model, so no enqueued limit counts it.
      admission: Lifecycle.admitted,
      resultLines: answered.resultLines,
      tally: answered.tally,
      validationErrors: [],
      model: undefined,
      tokens: 0,
      outputFileId: null,
      errorFileId: null
    }
    next = addBatch({ ...next, counter }, batch)
    ids.push(id)
  }
  return [ids, next]
}
