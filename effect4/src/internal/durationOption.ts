/**
 * The checks of a duration option: `">= 0"` for a wait, a timeout, a deadline or a delay (zero is no loop), `"> 0"`
 * for a pace that repeats (a poll, a redraw, a check: zero is a busy loop). A negative or NaN duration (Effect 4
 * keeps a negative one negative and reads NaN as zero), a negative `Duration` value included, breaks both. An
 * effect refuses one with `InvalidParamsError` (`issue` is its rule); a pure constructor throws (`orThrow`), as
 * `Duration.fromInputUnsafe` does on input it cannot read.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import { negativeOrNaN, showDuration } from "./durationSign.js"

/** @internal */
export type Rule = ">= 0" | "> 0"

/** The issue of an option that breaks `rule`. @internal */
export const issue = (rule: Rule): string => `must be a duration ${rule}`

/** Whether `input` breaks `rule` (input Effect cannot read throws, as before). @internal */
export const breaks = (input: Duration.Input, rule: Rule): boolean =>
  negativeOrNaN(input) || (Duration.isDuration(input) && Duration.isNegative(input)) ||
  (rule === "> 0" && !Duration.isPositive(Duration.fromInputUnsafe(input)))

/**
 * `input` decoded, or a `RangeError` naming the constructor and the option, e.g. `BatchSchedule.every: interval
 * must be a duration > 0, got 0 millis`.
 *
 * @internal
 */
export const orThrow = (where: string, option: string, input: Duration.Input, rule: Rule): Duration.Duration => {
  if (breaks(input, rule)) throw new RangeError(`${where}: ${option} ${issue(rule)}, got ${showDuration(input)}`)
  return Duration.fromInputUnsafe(input)
}
