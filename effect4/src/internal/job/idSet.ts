/**
 * A compact set of strings by their 64-bit hashes, for the `custom_id`s of a job of any size.
 *
 * A `Set<string>` of a million short ids costs about 60 MB of heap and grows with the job; this stores two 32-bit
 * hashes per id in typed arrays (open addressing, load at most 1/2): 8 bytes per slot, no garbage, no string kept.
 * Membership is by hash, so a hit is "probably the same id" (a collision among a million ids has a probability of
 * about 1e-7): callers that must be exact confirm a hit against the source, which also tells where it was.
 *
 * @internal
 */

/** The two hashes of the last `hash` call (two numbers, not a pair: no allocation per id). */
let h1 = 0
let h2 = 0

/** FNV-1a and a second, differently seeded multiply-xorshift hash over UTF-16 code units, into `h1` and `h2`. */
const hash = (text: string): void => {
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  // 0 marks an empty slot: never store it.
  h1 = (a >>> 0) || 1
  h2 = b >>> 0
}

/** @internal */
export interface IdSet {
  /** Whether `id` is (probably) present. */
  readonly has: (id: string) => boolean
  /** Adds `id`; returns whether it was (probably) present already. */
  readonly add: (id: string) => boolean
  readonly size: () => number
}

/** @internal */
export const make = (initialCapacity = 1024): IdSet => {
  let capacity = 1
  while (capacity < initialCapacity * 2) capacity *= 2
  let first = new Uint32Array(capacity)
  let second = new Uint32Array(capacity)
  let size = 0

  const slotOf = (a: number, b: number): number => {
    const mask = capacity - 1
    let slot = (a ^ Math.imul(b, 0x27d4eb2d)) & mask
    for (;;) {
      const stored = first[slot]!
      if (stored === 0 || (stored === a && second[slot] === b)) return slot
      slot = (slot + 1) & mask
    }
  }

  const grow = () => {
    const [oldFirst, oldSecond] = [first, second]
    capacity *= 2
    first = new Uint32Array(capacity)
    second = new Uint32Array(capacity)
    for (let i = 0; i < oldFirst.length; i++) {
      const a = oldFirst[i]!
      if (a === 0) continue
      const slot = slotOf(a, oldSecond[i]!)
      first[slot] = a
      second[slot] = oldSecond[i]!
    }
  }

  return {
    has: (id) => {
      hash(id)
      return first[slotOf(h1, h2)] !== 0
    },
    add: (id) => {
      hash(id)
      const slot = slotOf(h1, h2)
      if (first[slot] !== 0) return true
      first[slot] = h1
      second[slot] = h2
      size++
      if (size * 2 > capacity) grow()
      return false
    },
    size: () => size
  }
}

/** A 64-bit digest of a sequence of strings, as 16 hex digits (the same sequence always gives the same digest). @internal */
export const digest = () => {
  let a = 0x811c9dc5
  let b = 0x9747b28c
  return {
    update: (text: string) => {
      hash(text)
      a = Math.imul(a ^ h1, 0x01000193) >>> 0
      b = Math.imul(b ^ h2, 0x5bd1e995) >>> 0
      b = (b ^ (b >>> 13)) >>> 0
    },
    value: () => `${a.toString(16).padStart(8, "0")}${b.toString(16).padStart(8, "0")}`
  }
}
