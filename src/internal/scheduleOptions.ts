/**
 * The checks of `BatchSchedule`'s constructors (the implementation side of its options): each throws a
 * `RangeError` naming the constructor and the option, as `Duration` throws on input it cannot read. Each refuses a
 * value that would turn a schedule into a loop against the API (a zero delay, a shrinking one) or that reads the
 * other way round in other libraries (`maxRetries: -1`).
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as DurationOption from "./durationOption.js"

type Jitter = false | { readonly min: number; readonly max: number }

/** `jitter` as given: a negative factor, or a min above its max, throws. @internal */
export const jitter = <J extends Jitter>(where: string, value: J): J => {
  if (value !== false && !(value.min >= 0 && value.max >= value.min && Number.isFinite(value.max))) {
    const got = `{ min: ${value.min}, max: ${value.max} }`
    throw new RangeError(`${where}: jitter must be { min, max } with 0 <= min <= max, got ${got}`)
  }
  return value
}

/** `maxRetries` as given: a whole number >= 0 or `Infinity` (-1 reads as "forever" elsewhere: here, no retry). @internal */
export const maxRetries = (where: string, value: number): number => {
  if (!(value >= 0 && (Number.isInteger(value) || value === Infinity))) {
    const rule = "a whole number >= 0 (Infinity: until the deadline)"
    throw new RangeError(`${where}: maxRetries must be ${rule}, got ${value}`)
  }
  return value
}

/**
 * A pace that polls in a busy loop throws: an `initial` or `max` of zero (or negative, or NaN) and a `factor`
 * below 1 end in delays of zero, a request after another against the API's rate limits.
 *
 * @internal
 */
export const pace = (
  where: string,
  options: {
    readonly initial?: Duration.DurationInput | undefined
    readonly factor?: number | undefined
    readonly max?: Duration.DurationInput | undefined
    readonly jitter?: Jitter | undefined
  }
): void => {
  if (options.initial !== undefined) DurationOption.orThrow(where, "initial", options.initial, "> 0")
  if (options.max !== undefined) DurationOption.orThrow(where, "max", options.max, "> 0")
  if (options.factor !== undefined && !(options.factor >= 1)) {
    throw new RangeError(`${where}: factor must be a number >= 1, got ${options.factor}`)
  }
  if (options.jitter !== undefined) jitter(where, options.jitter)
}
