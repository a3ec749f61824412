/**
 * Reading untyped JSON (request bodies, request lines, answers) without casts.
 *
 * @internal
 */

/** A JSON object (not null, not an array). @internal */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
