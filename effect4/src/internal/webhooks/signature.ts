/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over `${id}.${timestamp}.${body}`
 * with the secret's bytes (base64 after its `whsec_` prefix), sent base64 as `v1,<signature>`, several
 * space-separated in one header during a secret rotation. Web Crypto only (`crypto.subtle`, in Node 20 and every
 * browser), so nothing here needs a `node:` module.
 *
 * The Effect 4 edition: the `crypto` is effect's `WebCrypto` reference (`globalThis.crypto` by default), so a
 * program can give its own, and `FastTestClock` (which installs one that counts the operations in flight) waits for
 * a signature before it moves time.
 *
 * @internal
 */
import * as WebCrypto from "effect/crypto/WebCrypto"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

const encoder = new TextEncoder()

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/

/** Base64 to bytes, or `undefined` when it is not base64. @internal */
export const fromBase64 = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!base64Pattern.test(text)) return undefined
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** @internal */
export const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

/**
 * The key bytes of a secret: base64 after the `whsec_` prefix (without the prefix, the whole secret is base64, as
 * the Standard Webhooks libraries read it); `undefined` when that is not base64 or holds no byte.
 *
 * @internal
 */
export const secretBytes = (secret: Redacted.Redacted<string>): Uint8Array<ArrayBuffer> | undefined => {
  const text = Redacted.value(secret).trim()
  const bytes = fromBase64(text.startsWith("whsec_") ? text.slice("whsec_".length) : text)
  return bytes === undefined || bytes.length === 0 ? undefined : bytes
}

/** An HMAC-SHA256 key for signing. @internal */
export const importKey = (bytes: Uint8Array<ArrayBuffer>): Effect.Effect<CryptoKey> =>
  WebCrypto.WebCrypto.use((crypto) =>
    Effect.promise(() => crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]))
  )

/** The signed content: `${id}.${timestamp}.` followed by the body's bytes as they are. @internal */
export const signedContent = (
  id: string,
  timestamp: string,
  body: string | Uint8Array
): Uint8Array<ArrayBuffer> => {
  const prefix = encoder.encode(`${id}.${timestamp}.`)
  const bytes = typeof body === "string" ? encoder.encode(body) : body
  const content = new Uint8Array(prefix.length + bytes.length)
  content.set(prefix, 0)
  content.set(bytes, prefix.length)
  return content
}

/** The HMAC-SHA256 of `content` under `key`. @internal */
export const hmac = (key: CryptoKey, content: Uint8Array<ArrayBuffer>): Effect.Effect<Uint8Array> =>
  WebCrypto.WebCrypto.use((crypto) =>
    Effect.map(Effect.promise(() => crypto.subtle.sign("HMAC", key, content)), (mac) => new Uint8Array(mac))
  )

/**
 * Whether `a` and `b` are equal, in a time that depends on their lengths only (never on where they differ).
 *
 * @internal
 */
export const constantTimeEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

/**
 * The `v1` signatures of a `webhook-signature` header, decoded; other versions (`v1a`, later ones) and entries
 * that are not base64 are skipped.
 *
 * @internal
 */
export const v1Signatures = (header: string): ReadonlyArray<Uint8Array> => {
  const signatures: Array<Uint8Array> = []
  for (const entry of header.split(" ")) {
    const comma = entry.indexOf(",")
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue
    const bytes = fromBase64(entry.slice(comma + 1))
    if (bytes !== undefined && bytes.length > 0) signatures.push(bytes)
  }
  return signatures
}
