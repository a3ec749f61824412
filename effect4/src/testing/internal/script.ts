/**
 * A `Script`'s durations in milliseconds, with the defaults applied: the one piece of the lifecycle that reads
 * Effect's `Duration`, kept apart so that `lifecycle.ts` is free of Effect and shared by both editions.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type { ResolvedScript } from "./lifecycle.js"
import type { Script } from "./model.js"
import { defaultScript } from "./model.js"

const toMs = (input: Duration.Input) => Duration.toMillis(Duration.fromInputUnsafe(input))

const defaultInProgressMs = toMs(defaultScript.inProgress)

/**
 * The script in milliseconds. `inProgressMs` stays unset only for `outcome: "expired"` without `inProgress` (the
 * lifecycle then runs it for twice the time left until `expires_at`); otherwise it is the script's or the default.
 *
 * @internal
 */
export const resolve = (script: Script): ResolvedScript => {
  const outcome = script.outcome ?? defaultScript.outcome
  return {
    validatingMs: toMs(script.validating ?? defaultScript.validating),
    inProgressMs: script.inProgress !== undefined
      ? toMs(script.inProgress)
      : outcome === "expired"
      ? undefined
      : defaultInProgressMs,
    finalizingMs: toMs(script.finalizing ?? defaultScript.finalizing),
    cancellingMs: toMs(script.cancelling ?? defaultScript.cancelling),
    outcome,
    errors: script.errors,
    unknownStatus: script.unknownStatus === undefined
      ? undefined
      : { status: script.unknownStatus.status, ms: toMs(script.unknownStatus.duration) }
  }
}
