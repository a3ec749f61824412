/**
 * Ids go into URL paths (`/batches/{id}`, `/files/{id}`): one that could change the path is refused before anything
 * is sent. The rule is shared by the `BatchId` and `FileId` schemas and by the operations' fast check.
 *
 * @internal
 */

// eslint-disable-next-line no-control-regex
const unsafe = /[/?#%\\\s\u0000-\u001f\u007f]/

/** A lone surrogate: `encodeURIComponent` throws on it (a `URIError`, not a refusal). */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** The rule `id` breaks as a path segment ("must not be empty", ...), or `undefined` when it is safe. @internal */
export const issue = (id: string): string | undefined => {
  if (id.length === 0) return "must not be empty"
  if (id.length > 256) return "has at most 256 characters"
  if (unsafe.test(id) || id.includes("..")) {
    return "must not contain '/', '?', '#', '%', '\\', '..', whitespace or control characters"
  }
  if (loneSurrogate.test(id)) return "must not contain a lone surrogate (text that is not well-formed UTF-16)"
  // A lone "." is a dot segment: URL parsing removes it, and the request goes to the parent path.
  if (id === ".") return `must not be "."`
  return undefined
}
