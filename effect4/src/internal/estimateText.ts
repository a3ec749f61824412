/**
 * The text counter behind `TokenEstimate.estimateText`: a small automaton over a string's ASCII characters and a
 * weight per tokenizer and block of Unicode for the rest (see `estimateText` for the rules it counts by).
 *
 * Written by hand for one reason: planning counts every character of every request, so the count must stay a small
 * multiple of reading the characters; a table-driven pass does that, where a regular-expression split of the
 * tokenizers' pre-tokenization would allocate a string per piece.
 *
 * @internal
 */
import type * as TokenEstimate from "../TokenEstimate.js"

// `estimateText` runs a small automaton over the string's ASCII characters: a table from (state, character) to the
// next state and the tokens the character starts, built once per `charsPerToken`. The states remember what the
// count needs of the run so far: its kind, its length modulo the characters per token of that kind, and whether
// whitespace is pending. It is about twice the cost of reading the string's characters.
const LOWER = 1
const UPPER = 2
const DIGIT = 3
const SPACE = 4
const NEWLINE = 5

const asciiClass = (code: number): number =>
  code >= 97 && code <= 122
    ? LOWER
    : code >= 65 && code <= 90
    ? UPPER
    : code >= 48 && code <= 57
    ? DIGIT
    : code === 32 || code === 9
    ? SPACE
    : code === 10 || code === 13
    ? NEWLINE
    : 0

/** The state at a string's start (and after a non-ASCII character): no run. */
const FRESH = 0
/** One space or tab, pending: it joins the next word or punctuation, but not a digit. */
const PENDING_SPACE = 1
/** A capital that starts a run: small letters after it go on with the run (`Title`). */
const CAPITAL = 2
/** Capitals after a capital (1 token per 2): the run's length so far is odd, or even. */
const CAPITALS_EVEN = 3
const CAPITALS_ODD = 4
const DIGITS = 5 // 5, 6, 7: the run's length modulo 3
const SYMBOLS = 8 // 8, 9: modulo 2
const WHITESPACE = 10 // 10 to 25: modulo 16
const LETTERS = 26 // 26 to 26 + k - 1: modulo k

/**
 * The automaton for `k` letters per token: entry `state << 7 | code` holds the next state times 4 plus the tokens
 * the character starts (at most 2).
 */
const automaton = (k: number): Uint16Array => {
  const states = LETTERS + k
  const table = new Uint16Array(states << 7)
  for (let state = 0; state < states; state++) {
    for (let code = 0; code < 128; code++) {
      let next: number
      let cost = 0
      switch (asciiClass(code)) {
        case SPACE:
        case NEWLINE: {
          const whitespace = state >= WHITESPACE && state < LETTERS
          if (whitespace) {
            const length = (state - WHITESPACE + 1) % 16
            next = WHITESPACE + length
            cost = length === 0 ? 1 : 0
          } else if (state === PENDING_SPACE) {
            next = WHITESPACE + 2
            cost = 1
          } else if (asciiClass(code) === NEWLINE) {
            next = WHITESPACE + 1
            cost = 1
          } else next = PENDING_SPACE
          break
        }
        case LOWER:
          if (state >= LETTERS) {
            const length = (state - LETTERS + 1) % k
            next = LETTERS + length
            cost = length === 0 ? 1 : 0
          } else if (state === CAPITAL) {
            next = LETTERS + (1 % k)
            cost = 1 % k === 0 ? 1 : 0
          } else {
            next = LETTERS
            cost = 1
          }
          break
        case UPPER:
          if (state === CAPITAL || state === CAPITALS_EVEN) next = CAPITALS_ODD
          else if (state === CAPITALS_ODD) {
            next = CAPITALS_EVEN
            cost = 1
          } else {
            next = CAPITAL
            cost = 1
          }
          break
        case DIGIT:
          if (state >= DIGITS && state < SYMBOLS) {
            const length = (state - DIGITS + 1) % 3
            next = DIGITS + length
            cost = length === 0 ? 1 : 0
          } else {
            next = DIGITS
            cost = state === PENDING_SPACE ? 2 : 1
          }
          break
        default:
          if (state >= SYMBOLS && state < WHITESPACE) {
            const length = (state - SYMBOLS + 1) % 2
            next = SYMBOLS + length
            cost = length === 0 ? 1 : 0
          } else {
            next = SYMBOLS
            cost = 1
          }
      }
      table[(state << 7) | code] = (next << 2) | cost
    }
  }
  return table
}

const automata = new Map<number, Uint16Array>()

/** The automaton for `charsPerToken` ASCII letters per token, built once. @internal */
export const automatonFor = (charsPerToken: number): Uint16Array => {
  const k = Math.min(64, Math.max(1, Math.round(charsPerToken)))
  let table = automata.get(k)
  if (table === undefined) {
    table = automaton(k)
    automata.set(k, table)
  }
  return table
}

/**
 * The tokens a character outside ASCII counts, per tokenizer, by its block of Unicode: for each range (its first
 * code point; it ends where the next begins), the weight under `o200k_base` and under `cl100k_base`. Measured on
 * real text (TypeScript's messages in 13 languages, yargs' in 24, faker's words and names in 40 locales, emoji):
 * the most tokens a character of the block took on average over a string, after its ASCII was counted, rounded up.
 * `o200k_base` merges most scripts into about a token per 2 to 4 characters; `cl100k_base` barely merges some
 * (Greek, Armenian, Hebrew, Georgian and the rarer scripts: a token per byte), and its CJK runs up to 2.6 tokens
 * per character on names. A weight no smaller than the character's UTF-8 length (a byte-level tokenizer's most)
 * marks a script the tokenizer barely merges: the space before such a character counts too.
 */
const blockWeights: ReadonlyArray<readonly [first: number, o200k: number, cl100k: number]> = [
  [0x0080, 2, 3], // Latin-1 Supplement, Latin Extended-A and -B: accents split short words (names)
  [0x0250, 2, 2], // IPA, spacing modifiers, combining diacritical marks
  [0x0370, 1, 2], // Greek
  [0x0400, 1, 1], // Cyrillic
  [0x0530, 1, 2], // Armenian
  [0x0590, 1, 2], // Hebrew
  [0x0600, 1, 1], // Arabic
  [0x0700, 2, 2], // Syriac, Arabic Supplement, Thaana, NKo
  [0x0800, 2, 3], // Samaritan, Mandaic, Arabic Extended
  [0x0900, 2, 2], // Devanagari to Malayalam
  [0x0d80, 2, 3], // Sinhala
  [0x0e00, 1, 2], // Thai
  [0x0e80, 2, 3], // Lao, Tibetan, Myanmar
  [0x10a0, 1, 3], // Georgian
  [0x1100, 3, 3], // Hangul Jamo
  [0x1200, 2, 3], // Ethiopic, Cherokee, Canadian syllabics, Khmer, Mongolian and others
  [0x1e00, 2, 2], // Latin Extended Additional (Vietnamese)
  [0x1f00, 2, 3], // Greek Extended
  [0x2000, 2, 2], // punctuation (quotes, dashes, ZWJ), currency, arrows, math, symbols, dingbats
  [0x2c00, 2, 3], // Glagolitic, Latin Extended-C, Coptic, Tifinagh, Cyrillic Extended-A
  [0x2e00, 2, 2], // Supplemental Punctuation, CJK radicals, CJK symbols and punctuation, kana
  [0x3100, 2, 3], // Bopomofo, Hangul compatibility Jamo, enclosed CJK, CJK Extension A, CJK ideographs
  [0xa000, 2, 3], // Yi, Vai, Bamum, Javanese and others
  [0xac00, 2, 2], // Hangul syllables
  [0xd7b0, 3, 3], // Hangul Jamo Extended-B, private use
  [0xf900, 2, 3], // CJK compatibility ideographs, presentation forms
  [0xfe00, 2, 2], // variation selectors (emoji style)
  [0xfe10, 2, 3], // vertical and small forms, Arabic presentation forms
  [0xff00, 2, 2], // halfwidth and fullwidth forms
  [0xfff0, 3, 3] // specials
]

/** Per tokenizer, the weight of every block of 16 code points of the Basic Multilingual Plane. */
/** The weights of non-ASCII characters per tokenizer. @internal */
export const weightTables = ((): Record<TokenEstimate.Encoding, Uint8Array> => {
  const o200k = new Uint8Array(0x1000)
  const cl100k = new Uint8Array(0x1000)
  for (let i = 0; i < blockWeights.length; i++) {
    const [first, o, c] = blockWeights[i]!
    const end = i + 1 < blockWeights.length ? blockWeights[i + 1]![0] : 0x10000
    for (let block = first >> 4; block < end >> 4; block++) {
      o200k[block] = o
      cl100k[block] = c
    }
  }
  return { o200k_base: o200k, cl100k_base: cl100k }
})()

/** The count of one string with an automaton and a weight table. @internal */
export const countText = (text: string, table: Uint16Array, weights: Uint8Array): number => {
  const length = text.length
  if (length === 0) return 0
  let tokens = 1
  let state = FRESH
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) {
      const entry = table[(state << 7) | code]!
      tokens += entry & 3
      state = entry >> 2
      continue
    }
    let weight: number
    let bytes: number
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < length) {
      // a character beyond the Basic Multilingual Plane, as a surrogate pair: emoji (U+1F000 to U+1FBFF) or not
      weight = code >= 0xd83c && code <= 0xd83e ? 3 : 4
      bytes = 4
      i++
    } else {
      weight = weights[code >> 4]!
      bytes = code < 0x800 ? 2 : 3
    }
    tokens += state === PENDING_SPACE && weight >= bytes ? weight + 1 : weight
    state = FRESH
  }
  // a trailing space is a token of its own
  return state === PENDING_SPACE ? tokens + 1 : tokens
}

/** A text counter bound to a request's tokenizer. */
