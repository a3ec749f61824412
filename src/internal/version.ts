/**
 * The package's name and version, sent in the `User-Agent` header. A test checks them against package.json.
 *
 * @internal
 */

/** @internal */
export const packageName = "effect-openai-batch"

/** @internal */
export const packageVersion = "0.2.0"
