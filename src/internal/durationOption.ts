/**
 * The checks of a duration option: `">= 0"` for a wait, a timeout, a deadline or a delay (zero is no loop), `"> 0"`
 * for a pace that repeats (a poll, a redraw, a check: zero is a busy loop). A negative or NaN duration, which
 * Effect 3 reads as zero, breaks both. An effect refuses one with `InvalidParamsError` (`issue` is its rule); a
 * pure constructor throws (`orThrow`), as `Duration.decode` does on input it cannot read.
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
export const breaks = (input: Duration.DurationInput, rule: Rule): boolean =>
  negativeOrNaN(input) || (rule === "> 0" && !Duration.greaterThan(Duration.decode(input), Duration.zero))

/**
 * `input` decoded, or a `RangeError` naming the constructor and the option, e.g. `BatchSchedule.every: interval
 * must be a duration > 0, got 0 millis`.
 *
 * @internal
 */
export const orThrow = (
  where: string,
  option: string,
  input: Duration.DurationInput,
  rule: Rule
): Duration.Duration => {
  if (breaks(input, rule)) throw new RangeError(`${where}: ${option} ${issue(rule)}, got ${showDuration(input)}`)
  return Duration.decode(input)
}
