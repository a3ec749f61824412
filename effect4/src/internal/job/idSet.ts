/**
 * A compact set of strings by their 64-bit hashes, for the `custom_id`s of a job of any size.
 *
 * A `Set<string>` of a million short ids costs about 60 MB of heap and grows with the job; this stores two 32-bit
 * hashes and a 32-bit tag per id in typed arrays (open addressing, load at most 1/2): about 24 MB at a million
 * ids, 1.5 MB at 50,000, no garbage. Membership is by hash, so a hit is "probably the same id" (a collision among
 * a million ids has a probability of about 1e-7): callers that must be exact confirm a hit against the source.
 *
 * @internal
 */

/** FNV-1a and a second, differently seeded multiply-xorshift hash over UTF-16 code units. */
const hash = (text: string): readonly [number, number] => {
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  // 0 marks an empty slot: never store it.
  return [(a >>> 0) || 1, b >>> 0]
}

/** @internal */
export interface IdSet {
  /** The tag stored with `id` if (probably) present, else `undefined`. */
  readonly get: (id: string) => number | undefined
  /** Adds `id` with `tag` (e.g. its line number); returns the tag already stored if it was (probably) present. */
  readonly add: (id: string, tag: number) => number | undefined
  readonly size: () => number
}

/** @internal */
export const make = (initialCapacity = 1024): IdSet => {
  let capacity = 1
  while (capacity < initialCapacity * 2) capacity *= 2
  let first = new Uint32Array(capacity)
  let second = new Uint32Array(capacity)
  let tags = new Uint32Array(capacity)
  let size = 0

  const slotOf = (h1: number, h2: number): number => {
    const mask = capacity - 1
    let slot = (h1 ^ Math.imul(h2, 0x27d4eb2d)) & mask
    for (;;) {
      const stored = first[slot]!
      if (stored === 0 || (stored === h1 && second[slot] === h2)) return slot
      slot = (slot + 1) & mask
    }
  }

  const grow = () => {
    const [oldFirst, oldSecond, oldTags] = [first, second, tags]
    capacity *= 2
    first = new Uint32Array(capacity)
    second = new Uint32Array(capacity)
    tags = new Uint32Array(capacity)
    for (let i = 0; i < oldFirst.length; i++) {
      const h1 = oldFirst[i]!
      if (h1 === 0) continue
      const slot = slotOf(h1, oldSecond[i]!)
      first[slot] = h1
      second[slot] = oldSecond[i]!
      tags[slot] = oldTags[i]!
    }
  }

  return {
    get: (id) => {
      const [h1, h2] = hash(id)
      const slot = slotOf(h1, h2)
      return first[slot] === 0 ? undefined : tags[slot]
    },
    add: (id, tag) => {
      const [h1, h2] = hash(id)
      const slot = slotOf(h1, h2)
      if (first[slot] !== 0) return tags[slot]
      first[slot] = h1
      second[slot] = h2
      tags[slot] = tag
      size++
      if (size * 2 > capacity) grow()
      return undefined
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
      const [h1, h2] = hash(text)
      a = Math.imul(a ^ h1, 0x01000193) >>> 0
      b = Math.imul(b ^ h2, 0x5bd1e995) >>> 0
      b = (b ^ (b >>> 13)) >>> 0
    },
    value: () => `${a.toString(16).padStart(8, "0")}${b.toString(16).padStart(8, "0")}`
  }
}
