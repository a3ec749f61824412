/**
 * Whether a duration as a user gives it is negative or NaN somewhere: milliseconds, bigint nanoseconds, a string
 * such as "-5 seconds", `[seconds, nanos]`, or an object of parts. Effect 3 reads such a duration as zero and
 * Effect 4 as a negative one; an option given one is refused instead (a `Duration` value itself is left to the
 * caller: Effect 4's `Duration.isNegative`).
 *
 * Effect-free: shared verbatim by both editions.
 *
 * @internal
 */
export const negativeOrNaN = (input: unknown): boolean => {
  if (typeof input === "number") return !(input >= 0)
  if (typeof input === "bigint") return input < 0n
  if (typeof input === "string") return Number.parseFloat(input) < 0
  if (Array.isArray(input)) return input.some(negativeOrNaN)
  if (typeof input === "object" && input !== null && Object.getPrototypeOf(input) === Object.prototype) {
    return Object.values(input).some(negativeOrNaN)
  }
  return false
}

/**
 * A duration as a user gave it, for a message: a string as written, milliseconds and bigint nanoseconds with their
 * unit, `[seconds, nanos]` and an object of parts spelt out, anything else (a `Duration`) as it prints itself.
 *
 * @internal
 */
export const showDuration = (input: unknown): string => {
  if (typeof input === "string") return input
  if (typeof input === "number") return `${input} millis`
  if (typeof input === "bigint") return `${input} nanos`
  if (Array.isArray(input)) return `[${input.map(String).join(", ")}]`
  if (typeof input === "object" && input !== null && Object.getPrototypeOf(input) === Object.prototype) {
    return `{ ${Object.entries(input).map(([key, value]) => `${key}: ${String(value)}`).join(", ")} }`
  }
  return String(input)
}
