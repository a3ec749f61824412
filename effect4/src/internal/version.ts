/**
 * The package's name and version, sent in the `User-Agent` header. A test checks them against package.json
 * (`npm run release:version` keeps them in step: scripts/sync-version.mjs).
 *
 * @internal
 */

/** @internal */
export const packageName = "effect-openai-batch"

/** @internal */
export const packageVersion = "4.0.0-alpha.0"
