/**
 * The incremental MD5 of `OpenAiUploads.uploadStream` (internal/md5.ts, the root's file verbatim): the md5 part of
 * the root's test/digests.test.ts, whose other part tests the simulator's SHA-256 (not ported yet).
 */
import { assert, describe, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Md5 from "../src/internal/md5.js"

const encoder = new TextEncoder()

describe("md5 (internal)", () => {
  it("matches the test suite of RFC 1321 (appendix A.5)", () => {
    const suite: ReadonlyArray<readonly [string, string]> = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
      [
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "57edf4a22be3c955ac49da2e2107b67a"
      ]
    ]
    for (const [input, digest] of suite) assert.strictEqual(Md5.hex(encoder.encode(input)), digest, input)
  })

  it("gives node:crypto's digest whatever the pieces it is fed in (padding edges included)", () => {
    let seed = 7
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (const size of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 100_003]) {
      const bytes = Uint8Array.from({ length: size }, () => Math.floor(random() * 256))
      const md5 = Md5.make()
      for (let at = 0; at < size;) {
        const n = Math.min(size - at, Math.floor(random() * 150))
        md5.update(bytes.subarray(at, at + n))
        at += n
      }
      assert.strictEqual(md5.digestHex(), createHash("md5").update(bytes).digest("hex"), `size ${size}`)
    }
  })

  it("refuses to be used after its digest", () => {
    const md5 = Md5.make()
    md5.digestHex()
    assert.throws(() => md5.update(new Uint8Array(1)))
    assert.throws(() => md5.digestHex())
  })
})
