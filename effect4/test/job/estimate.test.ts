/**
 * The default estimate against the tokenizers: at or above the exact count (`effect-openai-batch/tokenizer`, with
 * the same overhead rules) on real-shaped requests of every endpoint, under both `o200k_base` and `cl100k_base`;
 * not absurdly above it on English; and the rules it is made of.
 */
import { assert, describe, it } from "@effect/vitest"
import { encodeChat as encodeChatCl100k } from "gpt-tokenizer/encoding/cl100k_base"
import { encodeChat as encodeChatO200k } from "gpt-tokenizer/encoding/o200k_base"
import * as BatchLine from "../../src/BatchLine.js"
import * as TokenEstimate from "../../src/TokenEstimate.js"
import * as Tokenizer from "../../src/tokenizer/index.js"
import * as Samples from "./estimate.samples.js"

const encodings: ReadonlyArray<Tokenizer.Encoding> = ["o200k_base", "cl100k_base"]
/** A model of each tokenizer: the default estimate follows the request's model. */
const modelOf = { o200k_base: "gpt-4o", cl100k_base: "gpt-4" } as const
const exact = Tokenizer.estimator()

/** The request with a model of the tokenizer. */
const withModel = (request: BatchLine.BatchRequestInput, encoding: Tokenizer.Encoding): BatchLine.BatchRequestInput =>
  BatchLine.request(request.custom_id, request.url, { ...request.body, model: modelOf[encoding] })

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[values.length >> 1]!

/** The requests whose estimate is under the tokenizer's count, under either tokenizer (empty when there is none). */
const under = (requests: ReadonlyArray<BatchLine.BatchRequestInput>) => {
  const found: Array<string> = []
  for (const original of requests) {
    for (const encoding of encodings) {
      const request = withModel(original, encoding)
      const estimate = TokenEstimate.estimateTokens(request)
      const count = exact(request)
      if (estimate < count) {
        found.push(
          `${request.custom_id} (${encoding}): ${estimate} < ${count}: ${JSON.stringify(request.body).slice(0, 200)}`
        )
      }
    }
  }
  return found
}

describe("TokenEstimate.estimateTokens against the tokenizers", () => {
  const texts = Samples.texts(7)

  for (const [kind, pool] of Object.entries(texts)) {
    it(`at or above both tokenizers on ${kind}: chat, responses, embeddings, completions, moderations, other`, () => {
      const requests = Samples.requests(kind.length * 1000 + 11, pool, 24)
      assert.deepStrictEqual(under(requests), [])
    })
  }

  it("at or above both tokenizers on requests that mix every kind of text", () => {
    const all = Object.values(texts).flat()
    assert.deepStrictEqual(under(Samples.requests(2026, all, 60)), [])
  })

  it("at or above both tokenizers on every sample alone, as an embedding input (no overhead to hide in)", () => {
    const all = Object.values(texts).flat()
    const requests = all.map((input, i) => BatchLine.embedding(`e-${i}`, { model: "text-embedding-3-small", input }))
    assert.deepStrictEqual(under(requests), [])
  })

  it("not absurd on English: at most 2x the tokenizers' count on long English prompts", () => {
    const r = Samples.random(42)
    const long = () => Array.from({ length: 8 + r.int(12) }, () => r.pick(Samples.english)).join("\n\n")
    const requests = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? BatchLine.chatCompletion(`c-${i}`, {
          model: "gpt-4o-mini",
          messages: [{ role: "system", content: Samples.english[4]! }, { role: "user", content: long() }]
        })
        : BatchLine.embedding(`e-${i}`, { model: "text-embedding-3-small", input: long() }))
    const ratios = requests.flatMap((request) =>
      encodings.map((encoding) =>
        TokenEstimate.estimateTokens(withModel(request, encoding)) / exact(withModel(request, encoding))
      )
    )
    assert.isAtLeast(Math.min(...ratios), 1)
    assert.isAtMost(Math.max(...ratios), 2)
    assert.isAtMost(median(ratios), 1.9)
  })

  it("the output cap counts the same on both sides, times n", () => {
    const request = BatchLine.chatCompletion("c", {
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hi" }],
      max_completion_tokens: 1000,
      n: 3
    })
    // the prompts differ by "user" (3 against 1) and "Hi" (2 against 1)
    assert.strictEqual(TokenEstimate.estimateTokens(request) - exact(request), 2 + 1)
    assert.isAtLeast(exact(request), 3000)
  })
})

describe("TokenEstimate.estimateText", () => {
  const count = TokenEstimate.estimateText

  it("letters: 1 per 3, capitals after a capital 1 per 2, a capital after a small letter starts a run; 1 per string", () => {
    assert.strictEqual(count(""), 0)
    assert.strictEqual(count("a"), 2)
    assert.strictEqual(count("abc"), 2)
    assert.strictEqual(count("abcd"), 3)
    assert.strictEqual(count("Hello"), 1 + 2) // a capitalised word is one run
    assert.strictEqual(count("PERCORSO"), 1 + 4)
    assert.strictEqual(count("getElementById"), 1 + 1 + 3 + 1 + 1) // get, Element, By, Id
    assert.strictEqual(count("the quick brown fox"), 1 + 1 + 2 + 2 + 1)
    assert.strictEqual(count("abcdef", { charsPerToken: 2 }), 1 + 3)
    assert.strictEqual(count("abcdef", { charsPerToken: 6 }), 1 + 1)
  })

  it("digits 1 per 3 and a space before them; symbols 1 per 2; whitespace that stands alone", () => {
    assert.strictEqual(count("1234567"), 1 + 3)
    assert.strictEqual(count("1 2 3"), 1 + 1 + 2 + 2) // a space before a digit is a token
    assert.strictEqual(count("a, b"), 1 + 1 + 1 + 1) // a space before a word is not
    assert.strictEqual(count("});"), 1 + 2)
    assert.strictEqual(count("a\nb"), 1 + 1 + 1 + 1) // a line break is
    assert.strictEqual(count("a    b"), 1 + 1 + 1 + 1) // so is indentation
    assert.strictEqual(count(" ".repeat(40)), 1 + 1 + 2) // plus 1 per 16
    assert.strictEqual(count("end "), 1 + 1 + 1) // a trailing space is
  })

  it("outside ASCII: a weight per tokenizer and block; the space before a script counted per byte", () => {
    const cl100k = { encoding: "cl100k_base" } as const
    assert.deepStrictEqual([count("é"), count("é", cl100k)], [1 + 2, 1 + 3])
    assert.deepStrictEqual([count("café au lait"), count("café au lait", cl100k)], [
      1 + 1 + 2 + 1 + 2,
      1 + 1 + 3 + 1 + 2
    ])
    assert.deepStrictEqual([count("Привет"), count("Привет", cl100k)], [1 + 6, 1 + 6])
    assert.deepStrictEqual([count("Αθήνα"), count("Αθήνα", cl100k)], [1 + 5, 1 + 10])
    // cl100k_base barely merges Greek: the space before a word is a token of its own
    assert.deepStrictEqual([count("a Αθήνα"), count("a Αθήνα", cl100k)], [1 + 1 + 5, 1 + 1 + 1 + 10])
    assert.deepStrictEqual([count("東京"), count("東京", cl100k)], [1 + 4, 1 + 6])
    assert.deepStrictEqual([count("ひらがな"), count("ひらがな", cl100k)], [1 + 8, 1 + 8])
    assert.deepStrictEqual([count("🚀"), count("🚀", cl100k)], [1 + 3, 1 + 3])
    assert.strictEqual(count("👍🏽"), 1 + 6) // a skin tone is a character of its own
    assert.strictEqual(count("𠀀"), 1 + 4) // beyond the Basic Multilingual Plane, not an emoji
  })
})

describe("TokenEstimate.makeEstimator", () => {
  const words = TokenEstimate.makeEstimator((text) => text.split(" ").length)

  it("chat: 3 per message and its role, 1 per name, 3 for the reply; other fields as JSON; images not counted", () => {
    const request = BatchLine.chatCompletion("c", {
      model: "m",
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          name: "ann",
          content: [{ type: "text", text: "see this" }, { type: "image_url", image_url: { url: "https://x" } }]
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }]
        }
      ],
      tools: [{ type: "function", function: { name: "f" } }],
      max_tokens: 10
    })
    // reply 3; system 3 + 1 + 2; user 3 + 1 + 1 + 1 + 2; assistant 3 + 1 + its tool calls' JSON (1 word); tools 1; 10
    assert.strictEqual(words(request), 3 + 6 + 8 + 5 + 1 + 10)
  })

  it("responses: instructions and items as messages, items without a role as JSON, tools and text format as JSON", () => {
    const request = BatchLine.response("r", {
      model: "m",
      instructions: "be brief",
      input: [
        {
          type: "message",
          role: "user",
          content: [{ type: "input_text", text: "hello there" }, { type: "input_image", image_url: "https://x" }]
        },
        { type: "function_call_output", call_id: "c1", output: "ok" }
      ],
      text: { format: { type: "text" } },
      max_output_tokens: 7
    })
    // reply 3; instructions 3 + 1 ("system") + 2; the message 3 + 1 + 2; the output 3 + 1 (its JSON); text 1; 7
    assert.strictEqual(words(request), 3 + 6 + 6 + 4 + 1 + 7)
    assert.strictEqual(words(BatchLine.response("s", { model: "m", input: "hi you" })), 3 + 3 + 1 + 2)
  })

  it("embeddings, completions and moderations: their strings and token ids, no overhead; other endpoints: the JSON", () => {
    assert.strictEqual(words(BatchLine.embedding("e", { model: "m", input: ["a b", "c"] })), 3)
    assert.strictEqual(words(BatchLine.embedding("e", { model: "m", input: [[1, 2, 3], [4]] })), 4)
    assert.strictEqual(
      words(
        BatchLine.request("p", "/v1/completions", { model: "m", prompt: "a b", suffix: "c", max_tokens: 4, best_of: 3 })
      ),
      3 + 12
    )
    assert.strictEqual(
      words(
        BatchLine.request("m", "/v1/moderations", {
          model: "m",
          input: [{ type: "text", text: "a b" }, { type: "image_url", image_url: { url: "u" } }]
        })
      ),
      2
    )
    assert.strictEqual(words(BatchLine.request("o", "/v1/other", { a: "x y" })), 2)
  })
})

describe("effect-openai-batch/tokenizer", () => {
  it("the encoding of a model: cl100k_base for GPT-4, GPT-3.5 and the embedding models, o200k_base for the rest", () => {
    const cases: ReadonlyArray<readonly [string, Tokenizer.Encoding]> = [
      ["gpt-4o-mini", "o200k_base"],
      ["gpt-4o-2024-08-06", "o200k_base"],
      ["gpt-4.1-nano", "o200k_base"],
      ["gpt-5", "o200k_base"],
      ["o3-mini", "o200k_base"],
      ["omni-moderation-latest", "o200k_base"],
      ["some-future-model", "o200k_base"],
      ["gpt-4", "cl100k_base"],
      ["gpt-4-turbo-2024-04-09", "cl100k_base"],
      ["gpt-3.5-turbo-0125", "cl100k_base"],
      ["text-embedding-3-large", "cl100k_base"],
      ["text-embedding-ada-002", "cl100k_base"],
      ["ft:gpt-4o-mini-2024-07-18:acme::abc", "o200k_base"],
      ["ft:gpt-3.5-turbo-0125:acme::abc", "cl100k_base"]
    ]
    assert.deepStrictEqual(cases.map(([model]) => [model, Tokenizer.encodingForModel(model)] as const), cases)
  })

  it("counts special tokens' text as text", () => {
    assert.strictEqual(Tokenizer.countTokens("hello world"), 2)
    assert.isAbove(Tokenizer.countTokens("<|endoftext|>"), 1)
    assert.isAbove(Tokenizer.countTokens("<|im_start|>", "cl100k_base"), 1)
  })

  it("estimator: a fixed encoding, a model's, or each request's own", () => {
    const text = "Grüße aus 東京 🚀"
    const embedding = (model: string) => BatchLine.embedding("e", { model, input: text })
    const o200k = Tokenizer.countTokens(text, "o200k_base")
    const cl100k = Tokenizer.countTokens(text, "cl100k_base")
    assert.notStrictEqual(o200k, cl100k)
    assert.strictEqual(Tokenizer.estimator()(embedding("text-embedding-3-small")), cl100k)
    assert.strictEqual(Tokenizer.estimator()(embedding("gpt-4o")), o200k)
    assert.strictEqual(Tokenizer.estimator({ model: "gpt-4o" })(embedding("text-embedding-3-small")), o200k)
    assert.strictEqual(Tokenizer.estimator({ encoding: "cl100k_base" })(embedding("gpt-4o")), cl100k)
  })

  it("the chat overhead is the chat format's: a chat without names counts what the tokenizer's chat encoding does", () => {
    const r = Samples.random(5)
    const pool = Object.values(Samples.texts(5)).flat()
    for (let i = 0; i < 20; i++) {
      const messages = Array.from({ length: 1 + r.int(8) }, (_, k) => ({
        role: k === 0 ? "system" as const : k % 2 === 1 ? "user" as const : "assistant" as const,
        content: r.pick(pool)
      }))
      const request = BatchLine.chatCompletion(`c-${i}`, { model: "gpt-4o", messages })
      assert.strictEqual(exact(request), encodeChatO200k(messages, "gpt-4o").length)
      assert.strictEqual(exact(withModel(request, "cl100k_base")), encodeChatCl100k(messages, "gpt-4").length)
    }
  })
})
