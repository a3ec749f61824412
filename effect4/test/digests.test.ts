import { assert, describe, it } from "@effect/vitest"
import { createHash, createHmac } from "node:crypto"
import * as Md5 from "../src/internal/md5.js"
import { hmacSha256, sha256 } from "../src/testing/internal/sha256.js"

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

describe("sha256", () => {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
  const text = (s: string) => new TextEncoder().encode(s)

  describe("the simulator's synchronous HMAC-SHA256 (internal)", () => {
    it("FIPS 180-4's examples and RFC 4231's test cases 1, 2 and 6", () => {
      assert.strictEqual(hex(sha256(text("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
      assert.strictEqual(
        hex(sha256(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
      )
      assert.strictEqual(
        hex(hmacSha256(new Uint8Array(20).fill(0x0b), text("Hi There"))),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
      )
      assert.strictEqual(
        hex(hmacSha256(text("Jefe"), text("what do ya want for nothing?"))),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
      )
      assert.strictEqual(
        hex(hmacSha256(new Uint8Array(131).fill(0xaa), text("Test Using Larger Than Block-Size Key - Hash Key First"))),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
      )
    })

    it("agrees with node:crypto on every length around the block and padding edges", () => {
      for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
        const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 0xff)
        const key = bytes.subarray(0, length % 90)
        assert.strictEqual(hex(sha256(bytes)), createHash("sha256").update(bytes).digest("hex"), `sha256 ${length}`)
        assert.strictEqual(
          hex(hmacSha256(key, bytes)),
          createHmac("sha256", key).update(bytes).digest("hex"),
          `hmac ${length}`
        )
      }
    })
  })
})
