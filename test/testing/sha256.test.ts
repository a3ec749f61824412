import { assert, describe, it } from "@effect/vitest"
import { createHash, createHmac } from "node:crypto"
import { hmacSha256, sha256 } from "../../src/testing/internal/sha256.js"

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
