/**
 * An incremental MD5 (RFC 1321), for the `md5` an upload's completion carries: Web Crypto has no MD5, and the
 * library needs no `node:` module. MD5 is only a transfer checksum here (the API compares it with what it
 * received), never a security measure.
 *
 * The 64 steps are written out as plain expressions, with no helper call per step: written with RFC 1321's
 * FF/GG/HH/II helpers, V8 stopped inlining them and the digest ran several times slower; written out, it runs
 * about as fast as node:crypto's native MD5 (figures in bench/RESULTS.md).
 *
 * @internal
 */

/** An MD5 computation fed piece by piece. @internal */
export interface Md5 {
  /** Adds bytes (any length, any number of calls). */
  readonly update: (bytes: Uint8Array) => void
  /** The digest of everything added, as 32 lower-case hex digits. Ends the computation. */
  readonly digestHex: () => string
}

const add = (x: number, y: number) => (x + y) | 0

/** Folds one 64-byte block of `bytes` at `offset` into `state`. */
const block = (state: Int32Array, bytes: Uint8Array, offset: number, x: Int32Array) => {
  for (let i = 0; i < 16; i++) {
    const o = offset + i * 4
    x[i] = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)
  }
  let a = state[0]!
  let b = state[1]!
  let c = state[2]!
  let d = state[3]!
  const x0 = x[0]!, x1 = x[1]!, x2 = x[2]!, x3 = x[3]!, x4 = x[4]!, x5 = x[5]!, x6 = x[6]!, x7 = x[7]!
  const x8 = x[8]!, x9 = x[9]!, x10 = x[10]!, x11 = x[11]!, x12 = x[12]!, x13 = x[13]!, x14 = x[14]!, x15 = x[15]!

  a = (a + ((b & c) | (~b & d)) + x0 + -680876936) | 0
  a = (((a << 7) | (a >>> 25)) + b) | 0
  d = (d + ((a & b) | (~a & c)) + x1 + -389564586) | 0
  d = (((d << 12) | (d >>> 20)) + a) | 0
  c = (c + ((d & a) | (~d & b)) + x2 + 606105819) | 0
  c = (((c << 17) | (c >>> 15)) + d) | 0
  b = (b + ((c & d) | (~c & a)) + x3 + -1044525330) | 0
  b = (((b << 22) | (b >>> 10)) + c) | 0
  a = (a + ((b & c) | (~b & d)) + x4 + -176418897) | 0
  a = (((a << 7) | (a >>> 25)) + b) | 0
  d = (d + ((a & b) | (~a & c)) + x5 + 1200080426) | 0
  d = (((d << 12) | (d >>> 20)) + a) | 0
  c = (c + ((d & a) | (~d & b)) + x6 + -1473231341) | 0
  c = (((c << 17) | (c >>> 15)) + d) | 0
  b = (b + ((c & d) | (~c & a)) + x7 + -45705983) | 0
  b = (((b << 22) | (b >>> 10)) + c) | 0
  a = (a + ((b & c) | (~b & d)) + x8 + 1770035416) | 0
  a = (((a << 7) | (a >>> 25)) + b) | 0
  d = (d + ((a & b) | (~a & c)) + x9 + -1958414417) | 0
  d = (((d << 12) | (d >>> 20)) + a) | 0
  c = (c + ((d & a) | (~d & b)) + x10 + -42063) | 0
  c = (((c << 17) | (c >>> 15)) + d) | 0
  b = (b + ((c & d) | (~c & a)) + x11 + -1990404162) | 0
  b = (((b << 22) | (b >>> 10)) + c) | 0
  a = (a + ((b & c) | (~b & d)) + x12 + 1804603682) | 0
  a = (((a << 7) | (a >>> 25)) + b) | 0
  d = (d + ((a & b) | (~a & c)) + x13 + -40341101) | 0
  d = (((d << 12) | (d >>> 20)) + a) | 0
  c = (c + ((d & a) | (~d & b)) + x14 + -1502002290) | 0
  c = (((c << 17) | (c >>> 15)) + d) | 0
  b = (b + ((c & d) | (~c & a)) + x15 + 1236535329) | 0
  b = (((b << 22) | (b >>> 10)) + c) | 0
  a = (a + ((b & d) | (c & ~d)) + x1 + -165796510) | 0
  a = (((a << 5) | (a >>> 27)) + b) | 0
  d = (d + ((a & c) | (b & ~c)) + x6 + -1069501632) | 0
  d = (((d << 9) | (d >>> 23)) + a) | 0
  c = (c + ((d & b) | (a & ~b)) + x11 + 643717713) | 0
  c = (((c << 14) | (c >>> 18)) + d) | 0
  b = (b + ((c & a) | (d & ~a)) + x0 + -373897302) | 0
  b = (((b << 20) | (b >>> 12)) + c) | 0
  a = (a + ((b & d) | (c & ~d)) + x5 + -701558691) | 0
  a = (((a << 5) | (a >>> 27)) + b) | 0
  d = (d + ((a & c) | (b & ~c)) + x10 + 38016083) | 0
  d = (((d << 9) | (d >>> 23)) + a) | 0
  c = (c + ((d & b) | (a & ~b)) + x15 + -660478335) | 0
  c = (((c << 14) | (c >>> 18)) + d) | 0
  b = (b + ((c & a) | (d & ~a)) + x4 + -405537848) | 0
  b = (((b << 20) | (b >>> 12)) + c) | 0
  a = (a + ((b & d) | (c & ~d)) + x9 + 568446438) | 0
  a = (((a << 5) | (a >>> 27)) + b) | 0
  d = (d + ((a & c) | (b & ~c)) + x14 + -1019803690) | 0
  d = (((d << 9) | (d >>> 23)) + a) | 0
  c = (c + ((d & b) | (a & ~b)) + x3 + -187363961) | 0
  c = (((c << 14) | (c >>> 18)) + d) | 0
  b = (b + ((c & a) | (d & ~a)) + x8 + 1163531501) | 0
  b = (((b << 20) | (b >>> 12)) + c) | 0
  a = (a + ((b & d) | (c & ~d)) + x13 + -1444681467) | 0
  a = (((a << 5) | (a >>> 27)) + b) | 0
  d = (d + ((a & c) | (b & ~c)) + x2 + -51403784) | 0
  d = (((d << 9) | (d >>> 23)) + a) | 0
  c = (c + ((d & b) | (a & ~b)) + x7 + 1735328473) | 0
  c = (((c << 14) | (c >>> 18)) + d) | 0
  b = (b + ((c & a) | (d & ~a)) + x12 + -1926607734) | 0
  b = (((b << 20) | (b >>> 12)) + c) | 0
  a = (a + (b ^ c ^ d) + x5 + -378558) | 0
  a = (((a << 4) | (a >>> 28)) + b) | 0
  d = (d + (a ^ b ^ c) + x8 + -2022574463) | 0
  d = (((d << 11) | (d >>> 21)) + a) | 0
  c = (c + (d ^ a ^ b) + x11 + 1839030562) | 0
  c = (((c << 16) | (c >>> 16)) + d) | 0
  b = (b + (c ^ d ^ a) + x14 + -35309556) | 0
  b = (((b << 23) | (b >>> 9)) + c) | 0
  a = (a + (b ^ c ^ d) + x1 + -1530992060) | 0
  a = (((a << 4) | (a >>> 28)) + b) | 0
  d = (d + (a ^ b ^ c) + x4 + 1272893353) | 0
  d = (((d << 11) | (d >>> 21)) + a) | 0
  c = (c + (d ^ a ^ b) + x7 + -155497632) | 0
  c = (((c << 16) | (c >>> 16)) + d) | 0
  b = (b + (c ^ d ^ a) + x10 + -1094730640) | 0
  b = (((b << 23) | (b >>> 9)) + c) | 0
  a = (a + (b ^ c ^ d) + x13 + 681279174) | 0
  a = (((a << 4) | (a >>> 28)) + b) | 0
  d = (d + (a ^ b ^ c) + x0 + -358537222) | 0
  d = (((d << 11) | (d >>> 21)) + a) | 0
  c = (c + (d ^ a ^ b) + x3 + -722521979) | 0
  c = (((c << 16) | (c >>> 16)) + d) | 0
  b = (b + (c ^ d ^ a) + x6 + 76029189) | 0
  b = (((b << 23) | (b >>> 9)) + c) | 0
  a = (a + (b ^ c ^ d) + x9 + -640364487) | 0
  a = (((a << 4) | (a >>> 28)) + b) | 0
  d = (d + (a ^ b ^ c) + x12 + -421815835) | 0
  d = (((d << 11) | (d >>> 21)) + a) | 0
  c = (c + (d ^ a ^ b) + x15 + 530742520) | 0
  c = (((c << 16) | (c >>> 16)) + d) | 0
  b = (b + (c ^ d ^ a) + x2 + -995338651) | 0
  b = (((b << 23) | (b >>> 9)) + c) | 0
  a = (a + (c ^ (b | ~d)) + x0 + -198630844) | 0
  a = (((a << 6) | (a >>> 26)) + b) | 0
  d = (d + (b ^ (a | ~c)) + x7 + 1126891415) | 0
  d = (((d << 10) | (d >>> 22)) + a) | 0
  c = (c + (a ^ (d | ~b)) + x14 + -1416354905) | 0
  c = (((c << 15) | (c >>> 17)) + d) | 0
  b = (b + (d ^ (c | ~a)) + x5 + -57434055) | 0
  b = (((b << 21) | (b >>> 11)) + c) | 0
  a = (a + (c ^ (b | ~d)) + x12 + 1700485571) | 0
  a = (((a << 6) | (a >>> 26)) + b) | 0
  d = (d + (b ^ (a | ~c)) + x3 + -1894986606) | 0
  d = (((d << 10) | (d >>> 22)) + a) | 0
  c = (c + (a ^ (d | ~b)) + x10 + -1051523) | 0
  c = (((c << 15) | (c >>> 17)) + d) | 0
  b = (b + (d ^ (c | ~a)) + x1 + -2054922799) | 0
  b = (((b << 21) | (b >>> 11)) + c) | 0
  a = (a + (c ^ (b | ~d)) + x8 + 1873313359) | 0
  a = (((a << 6) | (a >>> 26)) + b) | 0
  d = (d + (b ^ (a | ~c)) + x15 + -30611744) | 0
  d = (((d << 10) | (d >>> 22)) + a) | 0
  c = (c + (a ^ (d | ~b)) + x6 + -1560198380) | 0
  c = (((c << 15) | (c >>> 17)) + d) | 0
  b = (b + (d ^ (c | ~a)) + x13 + 1309151649) | 0
  b = (((b << 21) | (b >>> 11)) + c) | 0
  a = (a + (c ^ (b | ~d)) + x4 + -145523070) | 0
  a = (((a << 6) | (a >>> 26)) + b) | 0
  d = (d + (b ^ (a | ~c)) + x11 + -1120210379) | 0
  d = (((d << 10) | (d >>> 22)) + a) | 0
  c = (c + (a ^ (d | ~b)) + x2 + 718787259) | 0
  c = (((c << 15) | (c >>> 17)) + d) | 0
  b = (b + (d ^ (c | ~a)) + x9 + -343485551) | 0
  b = (((b << 21) | (b >>> 11)) + c) | 0

  state[0] = add(state[0]!, a)
  state[1] = add(state[1]!, b)
  state[2] = add(state[2]!, c)
  state[3] = add(state[3]!, d)
}

/** A fresh MD5 computation. @internal */
export const make = (): Md5 => {
  const state = Int32Array.of(0x67452301, -271733879, -1732584194, 271733878)
  const words = new Int32Array(16)
  const pending = new Uint8Array(64)
  let pendingLength = 0
  // A double holds byte counts exactly up to 2^53, far beyond an upload's 8 GB.
  let length = 0
  let done = false

  const update = (bytes: Uint8Array) => {
    if (done) throw new Error("md5: update after digest")
    length += bytes.length
    let offset = 0
    if (pendingLength > 0) {
      const take = Math.min(64 - pendingLength, bytes.length)
      pending.set(bytes.subarray(0, take), pendingLength)
      pendingLength += take
      offset = take
      if (pendingLength < 64) return
      block(state, pending, 0, words)
      pendingLength = 0
    }
    for (; offset + 64 <= bytes.length; offset += 64) block(state, bytes, offset, words)
    if (offset < bytes.length) {
      pending.set(bytes.subarray(offset), 0)
      pendingLength = bytes.length - offset
    }
  }

  const digestHex = () => {
    if (done) throw new Error("md5: digest twice")
    const bits = length * 8
    // Padding: 0x80, zeros up to 56 mod 64, then the length in bits as 64 little-endian bits.
    const padding = new Uint8Array(((pendingLength < 56 ? 56 : 120) - pendingLength) + 8)
    padding[0] = 0x80
    const at = padding.length - 8
    const low = bits % 2 ** 32
    const high = Math.floor(bits / 2 ** 32)
    for (let i = 0; i < 4; i++) {
      padding[at + i] = (low >>> (8 * i)) & 0xff
      padding[at + 4 + i] = (high >>> (8 * i)) & 0xff
    }
    update(padding)
    done = true
    let hex = ""
    for (let i = 0; i < 4; i++) {
      const word = state[i]!
      for (let j = 0; j < 4; j++) hex += ((word >>> (8 * j)) & 0xff).toString(16).padStart(2, "0")
    }
    return hex
  }

  return { update, digestHex }
}

/** The MD5 of `bytes`, as 32 lower-case hex digits. @internal */
export const hex = (bytes: Uint8Array): string => {
  const md5 = make()
  md5.update(bytes)
  return md5.digestHex()
}
