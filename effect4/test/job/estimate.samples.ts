/**
 * Real-shaped text and requests for the estimate tests: prose, code, JSON, numbers, CJK, emoji and mixed text, and
 * requests of every endpoint built from them with a fixed seed (the same requests on every run).
 */
import * as BatchLine from "../../src/BatchLine.js"

/** A small deterministic generator (mulberry32). */
export const random = (seed: number) => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(items.length)]!
  return { next, int, pick }
}

export const english: ReadonlyArray<string> = [
  "What is the capital of France?",
  "Summarize the following customer review in one sentence and classify its sentiment as positive, negative or neutral.",
  "I ordered the blue running shoes two weeks ago and they still haven't arrived. The tracking page says the parcel has been sitting in a warehouse since last Tuesday, and nobody answers the phone. I would like a refund or at least an explanation of what is going on.",
  "The city council voted on Thursday to extend the pilot program for electric buses through the end of next year. Supporters said the buses had cut fuel costs and noise on the busiest routes, while critics pointed to delays in building charging stations and asked for a full cost comparison before any permanent decision is made.",
  "You are a helpful assistant that extracts structured data from invoices. Return only the fields that are present in the document, use ISO dates, and never guess a value that is not written on the page.",
  "Thanks for getting back to me so quickly! Could you also check whether the premium plan includes priority support, and if so, how I can switch without losing my current settings?",
  "Photosynthesis is the process by which green plants and some other organisms use sunlight to synthesize foods from carbon dioxide and water. It generally involves the green pigment chlorophyll and generates oxygen as a byproduct.",
  "Write a short, friendly reminder email to a colleague about tomorrow's planning meeting. Mention that the agenda is attached and ask them to bring the updated budget figures.",
  "Translate the following sentence into formal German: We regret to inform you that the event has been postponed until further notice.",
  "In 1969, the Apollo 11 mission landed the first humans on the Moon. Neil Armstrong and Buzz Aldrin spent about two and a quarter hours outside the spacecraft, collecting samples and deploying experiments, while Michael Collins orbited overhead in the command module."
]

export const code: ReadonlyArray<string> = [
  `export const retry = <A, E>(effect: Effect.Effect<A, E>, times: number) =>
  Effect.retry(effect, Schedule.exponential("100 millis").pipe(Schedule.compose(Schedule.recurs(times))))`,
  `def chunk(items, size):
    """Yield successive chunks of the given size."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


if __name__ == "__main__":
    for batch in chunk(list(range(10)), 3):
        print(batch)`,
  `SELECT c.id, c.name, COUNT(o.id) AS orders, SUM(o.total) AS revenue
FROM customers c
LEFT JOIN orders o ON o.customer_id = c.id AND o.created_at >= NOW() - INTERVAL '30 days'
GROUP BY c.id, c.name
HAVING COUNT(o.id) > 2
ORDER BY revenue DESC
LIMIT 20;`,
  `#!/usr/bin/env bash
set -euo pipefail
for f in ./logs/*.log; do
  grep -E "ERROR|WARN" "$f" | awk '{print $1, $2, $NF}' >> summary.txt
done`,
  `<div class="card">
  <h2>{{ title }}</h2>
  <p class="muted">Updated {{ updatedAt | date:"short" }}</p>
  <button type="button" onclick="toggle('details-{{ id }}')">Details</button>
</div>`,
  `fn main() {
    let words: Vec<&str> = "the quick brown fox".split_whitespace().collect();
    let longest = words.iter().max_by_key(|w| w.len()).unwrap_or(&"");
    println!("{} words, longest: {}", words.len(), longest);
}`
]

export const cjk: ReadonlyArray<string> = [
  "请用一句话总结下面这段用户评论，并判断情感是正面、负面还是中性。",
  "我上周在你们的网店买了一台咖啡机，今天收到后发现包装破损，机器侧面也有明显的划痕。请问可以换货吗？如果需要寄回，运费由谁承担？",
  "北京时间昨晚，国家统计局发布了最新的经济数据。数据显示，今年前三季度国内生产总值同比增长百分之五点二，消费对经济增长的贡献率进一步提高。",
  "臺灣的夜市文化源遠流長，從士林夜市到逢甲夜市，每到傍晚總是人潮洶湧，小吃攤販林立，蚵仔煎、臭豆腐和珍珠奶茶都是遊客必嚐的美食。",
  "次の文章を丁寧な日本語のメールに書き直してください。明日の会議は午後三時からに変更になりました。資料は事前に共有フォルダにアップロードしておきます。",
  "東京の桜は例年より一週間ほど早く開花し、週末の上野公園は花見客でにぎわいました。気象庁によると、満開は来週の半ばになる見込みです。",
  "다음 고객 문의에 정중하게 답변해 주세요. 주문한 상품이 아직 도착하지 않았는데, 배송 조회를 해 보니 사흘째 같은 물류 센터에 머물러 있습니다.",
  "서울의 지하철은 깨끗하고 편리해서 관광객들에게도 인기가 많습니다. 대부분의 역에는 영어 안내가 있고, 교통카드 하나로 버스와 지하철을 모두 이용할 수 있습니다."
]

export const emoji: ReadonlyArray<string> = [
  "Shipped it! 🚀🎉 Thanks everyone for the reviews 🙏",
  "Meeting moved to 3pm ⏰ — bring snacks 🍩🍪 and good vibes ✨",
  "Family trip 👨‍👩‍👧‍👦 to 🇯🇵 and 🇰🇷 next month ✈️🏖️",
  "Great job 👍🏽👍🏿👏🏻 the bug 🐛 is fixed ✅ and the build is green 💚",
  "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘",
  "Rate your stay: ⭐⭐⭐⭐☆ — press 1️⃣ for yes, 2️⃣ for no"
]

export const mixed: ReadonlyArray<string> = [
  "Bonjour ! Pourriez-vous vérifier la facture nº 2024-0815 ? Le montant indiqué (1 249,90 €) ne correspond pas à la commande passée le 3 août.",
  "Sehr geehrte Damen und Herren, leider müssen wir Ihnen mitteilen, dass die Lieferung aufgrund eines Streiks voraussichtlich erst übermorgen eintrifft.",
  "¿Cuál es la diferencia entre «ser» y «estar»? Explícalo con tres ejemplos sencillos, por favor.",
  "Здравствуйте! Подскажите, пожалуйста, сколько стоит доставка в Новосибирск и можно ли оплатить заказ картой при получении?",
  "Product: Wireless Mouse M-305 (黑色) — price ¥129, rating 4.6/5 ⭐, ships from 深圳 in 2–3 days.",
  "| Region | Q1 | Q2 | Q3 |\n|---|---:|---:|---:|\n| EMEA | 1,204 | 1,377 | 1,512 |\n| APAC | 988 | 1,102 | 1,265 |\n| 日本 | 402 | 433 | 471 |",
  "See https://example.com/docs/v2/getting-started?lang=en#install and https://github.com/acme/widgets/issues/4821 for details.",
  "Ελάτε να γνωρίσετε την Αθήνα: Ακρόπολη, Πλάκα και φαγητό δίπλα στη θάλασσα."
]

const hex = (r: ReturnType<typeof random>, n: number) =>
  Array.from({ length: n }, () => "0123456789abcdef"[r.int(16)]).join("")

const uuid = (r: ReturnType<typeof random>) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`

/** JSON documents as they appear in prompts: records with ids, prices, dates, nested objects; compact and pretty. */
export const json = (seed: number): ReadonlyArray<string> => {
  const r = random(seed)
  const names = ["Desk Lamp", "USB-C Cable 2m", "Ergonomic Chair", "Notebook A5", "Coffee Grinder", "Monitor Arm"]
  const documents: Array<string> = []
  for (let k = 0; k < 8; k++) {
    const items = Array.from({ length: 1 + r.int(6) }, () => ({
      id: uuid(r),
      sku: `SKU-${10000 + r.int(90000)}`,
      name: r.pick(names),
      price: Math.round(r.next() * 50000) / 100,
      quantity: 1 + r.int(12),
      tags: ["office", "sale", "new", "eco"].filter(() => r.next() < 0.4)
    }))
    const order = {
      orderId: `ord_${hex(r, 16)}`,
      createdAt: `2026-${String(1 + r.int(12)).padStart(2, "0")}-${String(1 + r.int(28)).padStart(2, "0")}T${
        String(r.int(24)).padStart(2, "0")
      }:${String(r.int(60)).padStart(2, "0")}:00Z`,
      customer: { email: `user${r.int(10000)}@example.com`, country: r.pick(["US", "DE", "FR", "JP", "BR"]) },
      items,
      total: Math.round(items.reduce((sum, item) => sum + item.price * item.quantity, 0) * 100) / 100
    }
    documents.push(k % 2 === 0 ? JSON.stringify(order) : JSON.stringify(order, null, 2))
  }
  return documents
}

/** Numbers as they appear in prompts: CSV tables, series of floats, phone numbers and dates, arithmetic. */
export const numbers = (seed: number): ReadonlyArray<string> => {
  const r = random(seed)
  const documents: Array<string> = []
  for (let k = 0; k < 6; k++) {
    const rows = Array.from(
      { length: 2 + r.int(20) },
      (_, i) => `${2020 + (i % 6)},${r.int(100000)},${(r.next() * 1000).toFixed(2)},${r.int(100)}%`
    )
    documents.push(`year,units,revenue,share\n${rows.join("\n")}`)
    documents.push(
      `Readings: ${
        Array.from({ length: 5 + r.int(60) }, () => (r.next() * 200 - 100).toFixed(1 + r.int(3))).join(", ")
      }`
    )
    documents.push(
      `Call +1 (${100 + r.int(900)}) ${100 + r.int(900)}-${1000 + r.int(9000)} before ${1 + r.int(12)}/${
        1 + r.int(28)
      }/2026; invoice ${r.int(1_000_000)} totals $${(r.next() * 10000).toFixed(2)}.`
    )
    documents.push(`What is ${r.int(10000)} * ${r.int(10000)} + ${r.int(1000)} / ${1 + r.int(99)}? Show each step.`)
  }
  return documents
}

/** Every kind of text, by kind. */
export const texts = (seed: number): Readonly<Record<string, ReadonlyArray<string>>> => ({
  english,
  code,
  json: json(seed),
  numbers: numbers(seed + 1),
  cjk,
  emoji,
  mixed
})

/** A text of one kind: one sample, or several joined into a long one. */
const text = (r: ReturnType<typeof random>, pool: ReadonlyArray<string>, long: boolean) =>
  long ? Array.from({ length: 3 + r.int(8) }, () => r.pick(pool)).join("\n\n") : r.pick(pool)

const names = ["alice", "bob", "support_agent", "example_user", "Анна", "田中"]

/** A chat request: 1 to 20 messages, with or without a system prompt and names, string or text-part content. */
const chat = (r: ReturnType<typeof random>, id: string, pool: ReadonlyArray<string>, long: boolean) => {
  const messages: Array<Record<string, unknown>> = []
  if (r.next() < 0.6) messages.push({ role: r.pick(["system", "developer"]), content: r.pick(english) })
  const turns = 1 + r.int(20)
  for (let i = 0; i < turns; i++) {
    const role = i % 2 === 0 ? "user" : "assistant"
    const content = r.next() < 0.3
      ? [{ type: "text", text: text(r, pool, long) }, { type: "text", text: r.pick(pool) }]
      : text(r, pool, long)
    messages.push(r.next() < 0.3 ? { role, name: r.pick(names), content } : { role, content })
  }
  return BatchLine.request(id, "/v1/chat/completions", {
    model: r.pick(["gpt-4o-mini", "gpt-4.1", "gpt-4-turbo"]),
    messages,
    ...(r.next() < 0.5 ? { max_tokens: 256 } : {})
  })
}

/** A responses request: a string input or items (messages with text parts, a function call and its output). */
const response = (r: ReturnType<typeof random>, id: string, pool: ReadonlyArray<string>, long: boolean) => {
  const body: Record<string, unknown> = { model: "gpt-4.1-mini" }
  if (r.next() < 0.5) body["instructions"] = r.pick(english)
  if (r.next() < 0.3) body["input"] = text(r, pool, long)
  else {
    const items: Array<unknown> = []
    for (let i = 0; i < 1 + r.int(6); i++) {
      items.push({ role: "user", content: [{ type: "input_text", text: text(r, pool, long) }] })
      if (r.next() < 0.3) {
        const callId = `call_${hex(r, 24)}`
        items.push({ type: "function_call", call_id: callId, name: "lookup_order", arguments: `{"id":"${uuid(r)}"}` })
        items.push({ type: "function_call_output", call_id: callId, output: r.pick(json(r.int(1000))) })
      }
      if (r.next() < 0.5) items.push({ role: "assistant", content: [{ type: "output_text", text: r.pick(pool) }] })
    }
    body["input"] = items
  }
  if (r.next() < 0.3) {
    body["tools"] = [{
      type: "function",
      name: "lookup_order",
      description: "Looks an order up by its id.",
      parameters: { type: "object", properties: { id: { type: "string" } }, required: ["id"] }
    }]
  }
  return BatchLine.request(id, "/v1/responses", body)
}

/** An embeddings request: a string, strings, token ids or arrays of token ids. */
const embedding = (r: ReturnType<typeof random>, id: string, pool: ReadonlyArray<string>, long: boolean) => {
  const shape = r.int(4)
  const tokens = () => Array.from({ length: 1 + r.int(50) }, () => r.int(100000))
  const input = shape === 0
    ? text(r, pool, long)
    : shape === 1
    ? Array.from({ length: 1 + r.int(10) }, () => text(r, pool, long))
    : shape === 2
    ? tokens()
    : Array.from({ length: 1 + r.int(5) }, tokens)
  return BatchLine.request(id, "/v1/embeddings", { model: "text-embedding-3-small", input })
}

/**
 * `count` requests of every endpoint (chat completions, responses, embeddings, completions, moderations, and an
 * endpoint with no rule of its own), their texts drawn from `pool`, short or long.
 */
export const requests = (
  seed: number,
  pool: ReadonlyArray<string>,
  count: number
): ReadonlyArray<BatchLine.BatchRequestInput> => {
  const r = random(seed)
  const all: Array<BatchLine.BatchRequestInput> = []
  for (let i = 0; i < count; i++) {
    const long = i % 2 === 1
    const id = `r-${seed}-${i}`
    all.push(chat(r, `${id}-chat`, pool, long))
    all.push(response(r, `${id}-response`, pool, long))
    all.push(embedding(r, `${id}-embedding`, pool, long))
    all.push(
      BatchLine.request(`${id}-completion`, "/v1/completions", {
        model: "gpt-3.5-turbo-instruct",
        prompt: r.next() < 0.5 ? text(r, pool, long) : [text(r, pool, long), text(r, pool, long)],
        max_tokens: 64
      })
    )
    all.push(
      BatchLine.request(`${id}-moderation`, "/v1/moderations", {
        model: "omni-moderation-latest",
        input: r.next() < 0.5
          ? text(r, pool, long)
          : [{ type: "text", text: text(r, pool, long) }, {
            type: "image_url",
            image_url: { url: "https://example.com/a.png" }
          }]
      })
    )
    all.push(
      BatchLine.request(`${id}-other`, "/v1/images/edits", { model: "gpt-image-1", prompt: text(r, pool, long) })
    )
  }
  return all
}
