/**
 * Admission under the per-model enqueued limits of the Batch API.
 *
 * The API lets an organisation have at most so many *enqueued tokens* (and requests) per model in batches that
 * passed validation and have not ended. It does not refuse a create that would go over: the batch is accepted,
 * then fails after validating with `token_limit_exceeded`. So jobs keep a ledger: each part's tokens are estimated
 * conservatively (`estimateTokens`), a part's batch is created only when the model's reserved total plus the part
 * fits, and its reservation is released when its batch ends.
 *
 * The limit is the organisation's, shared by everything that uses it: every job of a program, other programs,
 * other teams. So the ledger is a service (`Ledger`) that every job of a program shares (the client layers
 * provide one, `BatchClient.layerFromEnv` among them), and it is adaptive: a job's `budget` is a ceiling, not the
 * truth. When a batch fails late on an enqueued limit, the ledger lowers the model's limit to what was still in
 * flight (so a failure never opens room for a re-send), and grows it back as batches end: additive increase, its
 * step halved at each failure, so late failures stay bounded (about `B + log2(parts)` per model, `B` the batches in
 * flight when the limit is first hit) instead of growing with the number of parts. What other processes enqueue is
 * seen only through these failures.
 *
 * Read your tier's numbers on the platform's limits page (Settings → Organization → Limits: the "batch queue
 * limit" column, per model), and pass them as `{ tokens, requests }` per model.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as STM from "effect/STM"
import * as TRef from "effect/TRef"
import type * as BatchLine from "./BatchLine.js"
import * as Ledgers from "./internal/job/ledger.js"

// ---------------------------------------------------------------------------------------------------------------
// Budgets
// ---------------------------------------------------------------------------------------------------------------

/**
 * The enqueued limits of one model. An absent limit is no limit.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Budget {
  /** Enqueued tokens, e.g. `2_000_000` for `gpt-4o-mini` at a low tier. */
  readonly tokens?: number | undefined
  /** Enqueued requests. */
  readonly requests?: number | undefined
}

/**
 * The budgets of a job: one for every model, per model (the key `"*"` is every other model), or a function of the
 * model.
 *
 * @since 0.2.0
 * @category Models
 */
export type Budgets = Budget | { readonly [model: string]: Budget } | ((model: string) => Budget)

/**
 * Defaults: use at most 95% of a budget (the estimate is already conservative), and cut parts to at most a quarter
 * of it, so that several parts fit together and the budget stays nearly full while parts wait.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaults = {
  safetyFactor: 0.95,
  partFraction: 0.25,
  charsPerToken: 3
} as const

// ---------------------------------------------------------------------------------------------------------------
// Estimating
// ---------------------------------------------------------------------------------------------------------------

/**
 * Estimates a request's enqueued tokens. The default is `estimateTokens`; `makeEstimator` builds one from a text
 * counter, and `effect-openai-batch/tokenizer` has an exact one.
 *
 * @since 0.2.0
 * @category Models
 */
export type Estimator = (request: BatchLine.BatchRequestInput) => number

/**
 * Counts the tokens of one string: `estimateText` (the default), or a real tokenizer's count.
 *
 * @since 0.3.0
 * @category Models
 */
export type TextCounter = (text: string) => number

/**
 * The tokens a chat adds around its text, after the OpenAI cookbook's accounting ("How to count tokens with
 * tiktoken"): each message (or Responses input item, or `instructions`) costs `perMessage` plus its role's tokens,
 * a message's `name` costs `perName` more than its text, and the reply is primed with `reply` tokens.
 *
 * @since 0.3.0
 * @category Constants
 */
export const chatOverhead = {
  perMessage: 3,
  perName: 1,
  reply: 3
} as const

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

const automatonFor = (charsPerToken: number): Uint16Array => {
  const k = Math.min(64, Math.max(1, Math.round(charsPerToken)))
  let table = automata.get(k)
  if (table === undefined) {
    table = automaton(k)
    automata.set(k, table)
  }
  return table
}

const defaultAutomaton = automatonFor(defaults.charsPerToken)

/**
 * The default's token count of one string: a fast, conservative stand-in for the tokenizers of the OpenAI models
 * (`o200k_base` and `cl100k_base`), in one pass over the string. Their tokenizers first cut text into pieces (words
 * with the space before them, runs of at most 3 digits, runs of punctuation, runs of whitespace) and then merge
 * bytes inside each piece, so the count follows the pieces:
 *
 * - 1 for the string (its first piece has no space before it, and tokenizes worse than the rest);
 * - a run of ASCII letters: 1 token per `charsPerToken` letters (default 3, a whole number from 1 to 64; rounded
 *   up; real English averages about 4 per token); capitals after a capital (`ALL CAPS`), 1 per 2; a capital after a small letter starts a new run
 *   (`camelCase`);
 * - a run of digits: 1 per 3 digits (exact: both tokenizers cut numbers into groups of 3);
 * - a run of punctuation or symbols: 1 per 2 characters;
 * - whitespace: nothing for one space or tab (it joins the next word), 1 for a longer run or one that holds a line
 *   break, 1 more for a space before a digit (which does not join it), and 1 more per 16 characters of a long run;
 * - a character outside ASCII: its UTF-8 length less one, that is 1 for Latin with accents, Greek, Cyrillic,
 *   Hebrew or Arabic, 2 for the rest of the Basic Multilingual Plane (CJK, kana, Hangul, Thai, Devanagari), 3 for
 *   the rest (emoji, rare CJK).
 *
 * Why UTF-8 length less one: a character is never more tokens than its UTF-8 bytes, and a rare one alone can be
 * that many, but in real text the tokenizers merge most of them: measured on TypeScript's diagnostic messages in 13
 * languages, yargs' in 24 and emoji, UTF-8 length less one was at or above both tokenizers on every CJK, Cyrillic,
 * Hindi, Thai and emoji string, where one token per character fell under on Chinese under `cl100k_base` (2.25
 * tokens per character on some strings), and the full UTF-8 length counted Japanese and Russian 3 to 4 times over.
 *
 * Measured the same way, the count is at or above both tokenizers on English, code, JSON, numbers, CJK, Cyrillic
 * and emoji, about 1.6x on English prose and code. Random strings (base64, hashes) run denser, at 1.4 to 1.9
 * characters per token, and can be counted under by up to a quarter; so can a word or two of a non-English Latin
 * script under `cl100k_base` (a chat's per-message overhead covers that).
 *
 * @example
 * ```ts
 * import { JobBudget } from "effect-openai-batch"
 *
 * // 1 for the string, "What" 2, " is" 1, " the" 1, " capital" 3, " of" 1, " France" 2, "?" 1
 * assert.strictEqual(JobBudget.estimateText("What is the capital of France?"), 12)
 * // 1, 5 groups of up to 3 digits, "," and the space before "1"
 * assert.strictEqual(JobBudget.estimateText("123456789, 123456"), 8)
 * // 1, and 2 per character
 * assert.strictEqual(JobBudget.estimateText("東京"), 5)
 * ```
 *
 * @since 0.3.0
 * @category Estimating
 */
export const estimateText = (text: string, charsPerToken: number = defaults.charsPerToken): number => {
  const length = text.length
  if (length === 0) return 0
  const table = charsPerToken === defaults.charsPerToken ? defaultAutomaton : automatonFor(charsPerToken)
  let tokens = 1
  let state = FRESH
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) {
      const entry = table[(state << 7) | code]!
      tokens += entry & 3
      state = entry >> 2
    } else {
      // UTF-8 length less one; a surrogate pair is one 4-byte character
      if (code < 0x800) tokens += 1
      else if (code >= 0xd800 && code <= 0xdbff && i + 1 < length) {
        tokens += 3
        i++
      } else tokens += 2
      state = FRESH
    }
  }
  // a trailing space is a token of its own
  return state === PENDING_SPACE ? tokens + 1 : tokens
}

const positive = (value: unknown): number =>
  typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0

/** The JSON text of a value that is not absent, counted. */
const countJson = (value: unknown, count: TextCounter): number =>
  value === undefined || value === null ? 0 : count(JSON.stringify(value))

/**
 * The text of a message's `content`: a string, or parts whose `text` (or `refusal`) is counted. Images, audio and
 * files are not counted.
 */
const countContent = (content: unknown, count: TextCounter): number => {
  if (typeof content === "string") return count(content)
  if (!Array.isArray(content)) return 0
  let tokens = 0
  for (const part of content) {
    if (typeof part === "string") tokens += count(part)
    else if (Predicate.isRecord(part)) {
      if (typeof part["text"] === "string") tokens += count(part["text"])
      else if (typeof part["refusal"] === "string") tokens += count(part["refusal"])
    }
  }
  return tokens
}

/**
 * A message (chat) or input item (responses): the per-message overhead, its role, its content, its name (and
 * `perName`), and the JSON text of any other field (tool calls, a tool call's id, a function call's arguments, a
 * function's output). A string is a message of `role`. A Responses item without a role (a function call, its output, a reasoning item) counts as
 * its JSON text.
 */
const countMessage = (message: unknown, count: TextCounter, role = "user"): number => {
  if (typeof message === "string") return chatOverhead.perMessage + count(role) + count(message)
  if (!Predicate.isRecord(message)) return 0
  let tokens = chatOverhead.perMessage
  if (typeof message["role"] !== "string") return tokens + countJson(message, count)
  for (const key in message) {
    const value = message[key]
    switch (key) {
      case "role":
        tokens += count(message["role"])
        break
      case "content":
        tokens += countContent(value, count)
        break
      case "name":
        tokens += chatOverhead.perName + (typeof value === "string" ? count(value) : 0)
        break
      case "type":
      case "id":
      case "status":
        // an input item's metadata
        break
      default:
        tokens += countJson(value, count)
    }
  }
  return tokens
}

/** A prompt of embeddings, completions or moderations: a string, strings, token ids, arrays of token ids, parts. */
const countPrompt = (input: unknown, count: TextCounter): number => {
  if (typeof input === "string") return count(input)
  if (typeof input === "number") return 1
  if (Array.isArray(input)) {
    let tokens = 0
    for (const item of input) tokens += countPrompt(item, count)
    return tokens
  }
  if (Predicate.isRecord(input) && typeof input["text"] === "string") return count(input["text"])
  return 0
}

/**
 * An estimator from a text counter: what `estimateTokens` counts, with `count` for each string. The prompt is:
 *
 * - `/v1/chat/completions`: every message (`chatOverhead.perMessage`, its role, its content's text, its name and
 *   `chatOverhead.perName`, the JSON text of its other fields, such as tool calls), `chatOverhead.reply` for the
 *   reply, and the JSON text of `tools`, `functions` and `response_format`;
 * - `/v1/responses`: `instructions` and every input item as a message (a string `input` is one message), the reply,
 *   and the JSON text of `tools` and `text` (the output format);
 * - `/v1/embeddings`, `/v1/moderations`: every string of `input` (a token id counts 1), no overhead;
 * - `/v1/completions`: every string of `prompt`, and `suffix`;
 * - any other endpoint: the body's JSON text.
 *
 * To the prompt it adds the most the request may generate: `max_tokens`, `max_completion_tokens` or
 * `max_output_tokens`, times `n` (or `best_of`, if larger). Images, audio and files are not counted: pass your own
 * estimator if you send them (see the README's "The enqueued budget").
 *
 * @example
 * ```ts
 * import { BatchLine, JobBudget } from "effect-openai-batch"
 *
 * // one token per word: a (poor) counter, to show the overhead
 * const estimate = JobBudget.makeEstimator((text) => text.split(" ").length)
 * const question = BatchLine.chatCompletion("q-1", {
 *   model: "gpt-4o-mini",
 *   messages: [{ role: "user", content: "What is the capital of France?" }],
 *   max_tokens: 50
 * })
 * // 3 for the message, 1 for "user", 6 for the words, 3 for the reply, 50 for the answer
 * assert.strictEqual(estimate(question), 63)
 * ```
 *
 * @since 0.3.0
 * @category Estimating
 */
export const makeEstimator = (count: TextCounter): Estimator => (request) => {
  const body: Record<string, unknown> = request.body
  let prompt = 0
  switch (request.url) {
    case "/v1/chat/completions": {
      prompt = chatOverhead.reply
      const messages = body["messages"]
      if (Array.isArray(messages)) { for (const message of messages) prompt += countMessage(message, count) }
      prompt += countJson(body["tools"], count) + countJson(body["functions"], count) +
        countJson(body["response_format"], count)
      break
    }
    case "/v1/responses": {
      prompt = chatOverhead.reply
      if (typeof body["instructions"] === "string") prompt += countMessage(body["instructions"], count, "system")
      const input = body["input"]
      if (Array.isArray(input)) { for (const item of input) prompt += countMessage(item, count) }
      else prompt += countMessage(input, count)
      prompt += countJson(body["tools"], count) + countJson(body["text"], count)
      break
    }
    case "/v1/embeddings":
    case "/v1/moderations":
      prompt = countPrompt(body["input"], count)
      break
    case "/v1/completions":
      prompt = countPrompt(body["prompt"], count) + countPrompt(body["suffix"], count)
      break
    default:
      prompt = count(JSON.stringify(body))
  }
  const output = Math.max(
    positive(body["max_tokens"]),
    positive(body["max_completion_tokens"]),
    positive(body["max_output_tokens"])
  )
  return prompt + output * Math.max(1, positive(body["n"]), positive(body["best_of"]))
}

const defaultEstimator: Estimator = makeEstimator((text) => estimateText(text))

/**
 * A conservative estimate of a request's enqueued tokens, the default of jobs: `makeEstimator` with
 * `estimateText` for every string (see both). The API counts a request as its prompt's tokens, with the chat
 * format's overhead, plus the most it may generate; the estimate aims at or above that count, about 1.6x on
 * English prose and code, 2x to 3x on CJK and Cyrillic text. Images and files are not counted: pass your own
 * estimator (`budget.estimate`) if you send them, or an exact one from `effect-openai-batch/tokenizer`.
 *
 * @example
 * ```ts
 * import { BatchLine, JobBudget } from "effect-openai-batch"
 *
 * const question = BatchLine.chatCompletion("q-1", {
 *   model: "gpt-4o-mini",
 *   messages: [{ role: "user", content: "What is the capital of France?" }],
 *   max_tokens: 50
 * })
 * // 3 for the message, 3 for "user", 12 for the text (see estimateText), 3 for the reply, 50 for the answer
 * // (the API counts 14 for the prompt)
 * assert.strictEqual(JobBudget.estimateTokens(question), 71)
 * ```
 *
 * @since 0.2.0
 * @category Estimating
 */
export const estimateTokens = (
  request: BatchLine.BatchRequestInput,
  charsPerToken: number = defaults.charsPerToken
): number =>
  charsPerToken === defaults.charsPerToken
    ? defaultEstimator(request)
    : makeEstimator((text) => estimateText(text, charsPerToken))(request)

// ---------------------------------------------------------------------------------------------------------------
// The ledger
// ---------------------------------------------------------------------------------------------------------------

/**
 * What a part asks for: its model, estimated tokens and requests.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Claim {
  readonly model: string
  readonly tokens: number
  readonly requests: number
}

/**
 * A model's reserved total against its limit, as a job sees it.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Usage {
  readonly model: string
  /** Reserved: the estimated tokens and requests of the model's batches in flight (of every job on the ledger). */
  readonly tokens: number
  readonly requests: number
  /** The limit admission uses now: the job's usable budget, or less if the API taught the ledger less. */
  readonly tokenBudget: number
  readonly requestBudget: number
  /** Whether the limit is below the budget because the API failed batches on it. */
  readonly learned: boolean
  /** Claims waiting for room. */
  readonly waiting: number
  /** Batches of the model that ended after running (each freed room in the API). */
  readonly completed: number
  /** Batches of the model that failed late on an enqueued limit. */
  readonly limitFailures: number
}

/**
 * How a reservation ends: its batch `Ended` after running (it freed room in the API: the limit may grow), its batch
 * failed on the `LimitReached` (the limit shrinks to what stays in flight; `named` is the limit the API's message
 * gave, times the safety factor), or it is `Withdrawn` (no batch, or one that failed for another reason: nothing
 * learned).
 *
 * @since 0.3.0
 * @category Models
 */
export type ReleaseOutcome =
  | { readonly _tag: "Ended" }
  | { readonly _tag: "LimitReached"; readonly dimension: "tokens" | "requests"; readonly named?: number | undefined }
  | { readonly _tag: "Withdrawn" }

/**
 * A claim taken: released once, by the end of its batch (a second release does nothing).
 *
 * @since 0.3.0
 * @category Models
 */
export interface Reservation {
  readonly claim: Claim
  readonly release: (outcome: ReleaseOutcome) => Effect.Effect<void>
}

/**
 * The usable ceilings a claim is admitted under: its job's budget for the model times the safety factor
 * (`Infinity`: no limit).
 *
 * @since 0.3.0
 * @category Models
 */
export interface Ceiling {
  readonly tokens: number
  readonly requests: number
}

/**
 * The ledger's operations.
 *
 * @since 0.3.0
 * @category Models
 */
export interface LedgerService {
  /** Waits until the claim fits (first come, first served per model), then reserves it. */
  readonly reserve: (claim: Claim, ceiling: Ceiling) => Effect.Effect<Reservation>
  /** Reserves without waiting: for a batch already in flight that a resumed job finds. */
  readonly reserveNow: (claim: Claim, ceiling: Ceiling) => Effect.Effect<Reservation>
  /** The model's reserved total and limit under `ceiling` (default: none). */
  readonly usage: (model: string, ceiling?: Ceiling) => Effect.Effect<Usage>
}

/**
 * The ledger every job of a program shares: one per organisation, so one per client layer (see the module comment).
 *
 * @since 0.3.0
 * @category Context
 */
export class Ledger extends Context.Tag("effect-openai-batch/JobBudget/Ledger")<Ledger, LedgerService>() {}

/**
 * A new, empty ledger.
 *
 * @since 0.3.0
 * @category Constructors
 */
export const make: Effect.Effect<LedgerService> = Effect.gen(function*() {
  // Every model's state in one TRef: a waiting claim retries its transaction whenever any of them changes.
  const models = yield* TRef.make(new Map<string, Ledgers.ModelState>())
  let tickets = 0

  const get = (model: string) => STM.map(TRef.get(models), (all) => all.get(model) ?? Ledgers.empty)
  const modify = (model: string, f: (state: Ledgers.ModelState) => Ledgers.ModelState) =>
    TRef.update(models, (all) => new Map(all).set(model, f(all.get(model) ?? Ledgers.empty)))

  const reservation = (claim: Claim): Reservation => {
    let done = false
    return {
      claim,
      release: (outcome) =>
        Effect.suspend(() => {
          if (done) return Effect.void
          done = true
          return STM.commit(modify(claim.model, (state) => Ledgers.released(state, claim, outcome)))
        })
    }
  }

  const reserve = (claim: Claim, ceiling: Ceiling) =>
    Effect.suspend(() => {
      const ticket = ++tickets
      const admit = STM.flatMap(get(claim.model), (state) =>
        state.queue[0] === ticket && Ledgers.fits(state, claim, ceiling)
          ? modify(claim.model, (current) =>
            Ledgers.admitted(current, claim))
          : STM.retry)
      // The ticket joins the queue, then waits its turn; interrupted, it leaves the queue in one transaction.
      return Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          STM.commit(modify(claim.model, (state) =>
            Ledgers.enqueued(state, ticket, ceiling))),
          restore(STM.commit(admit)).pipe(
            Effect.onInterrupt(() => STM.commit(modify(claim.model, (state) => Ledgers.left(state, ticket))))
          )
        )
      ).pipe(Effect.as(reservation(claim)))
    })

  const reserveNow = (claim: Claim, ceiling: Ceiling) =>
    STM.commit(modify(claim.model, (state) => Ledgers.taken(state, claim, ceiling))).pipe(
      Effect.as(reservation(claim))
    )

  const usage = (model: string, ceiling: Ceiling = Ledgers.none): Effect.Effect<Usage> =>
    STM.commit(STM.map(get(model), (state) => Ledgers.usageOf(model, state, ceiling)))

  return { reserve, reserveNow, usage }
})

/**
 * A layer with a new ledger: provide it once for everything that shares an organisation's limits (the client
 * layers already do).
 *
 * @since 0.3.0
 * @category Layers
 */
export const layer: Layer.Layer<Ledger> = Layer.effect(Ledger, make)
