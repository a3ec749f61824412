/**
 * Reads the server's retry hint: `retry-after-ms` (milliseconds), then `retry-after` (seconds, or an HTTP date).
 * The same order as the official SDKs.
 *
 * Strict about the form: RFC 9110 allows `Retry-After` as digits (delay-seconds) or an HTTP date, so `0x10`,
 * `1e3`, `+5` or ` 16` are no hint (`Number` would read `0x10` as 16 and `Date.parse` reads `"12"` as a date in
 * 2001). A decimal fraction (`1.5`) is accepted, as openai-node does. A hint of zero (or a date already past) is no
 * hint either: openai-node then backs off as usual, and so does the retry policy, instead of re-sending at once
 * against a server that is limiting the rate.
 *
 * @internal
 */

const decimal = /^\d+(?:\.\d+)?$/

/** IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), and the obsolete RFC 850 and asctime forms RFC 9110 accepts. */
const httpDate = new RegExp(
  "^(?:[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT" +
    "|[A-Z][a-z]+, \\d{2}-[A-Z][a-z]{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} GMT" +
    "|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \\d]\\d \\d{2}:\\d{2}:\\d{2} \\d{4})$"
)

const positive = (millis: number): number | undefined => Number.isFinite(millis) && millis > 0 ? millis : undefined

/** @internal */
export const retryAfterMillis = (
  headers: Readonly<Record<string, string | undefined>>,
  nowMillis: number
): number | undefined => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined && decimal.test(ms)) {
    const hint = positive(Number(ms))
    if (hint !== undefined) return hint
  }
  const after = headers["retry-after"]
  if (after === undefined) return undefined
  if (decimal.test(after)) return positive(Number(after) * 1000)
  if (!httpDate.test(after)) return undefined
  return positive(Date.parse(after) - nowMillis)
}
