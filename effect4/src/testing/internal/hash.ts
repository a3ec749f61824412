/**
 * Deterministic ids and vectors: FNV-1a over strings. The hash can be continued from a prefix's state, so ids that
 * share a prefix (every output line of a batch) hash the prefix once; `hex` of a seed hashes the seed once for all
 * its rounds. Continuing gives exactly the hash of the whole string, so ids do not depend on how they are computed.
 *
 * @internal
 */

const offsetBasis = 0x811c9dc5

/** FNV-1a of `text`, continued from `state` (the hash of what came before it). @internal */
export const fnv = (text: string, state: number = offsetBasis): number => {
  let h = state
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * `length` hex digits derived from a seed's hash state: round `r` is the hash of `seed + "#" + r`.
 *
 * @internal
 */
export const hexFrom = (state: number, length: number): string => {
  let out = ""
  for (let round = 0; out.length < length; round++) out += word(fnv(`#${round}`, state))
  return out.length === length ? out : out.slice(0, length)
}

// `n.toString(16).padStart(8, "0")` by table: a tenth of the cost, and ids are made for every request line.
const byteHex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const word = (n: number): string =>
  byteHex[n >>> 24]! + byteHex[(n >>> 16) & 255]! + byteHex[(n >>> 8) & 255]! + byteHex[n & 255]!

/** @internal */
export const hex = (seed: string, length: number): string => hexFrom(fnv(seed), length)

/**
 * The ids of a batch's output lines: `index => { id, requestId }`, the batch id hashed once.
 *
 * @internal
 */
export const outputIds = (batchId: string) => {
  const prefix = fnv(`${batchId}:`)
  return (index: number) => {
    const line = fnv(String(index), prefix)
    return { id: `batch_req_${hexFrom(line, 24)}`, requestId: `req_${hexFrom(fnv(":req", line), 32)}` }
  }
}
