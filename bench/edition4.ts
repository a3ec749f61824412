/**
 * The Effect 4 edition in the benchmark, beside the Effect 3 edition, the SDK and raw undici in one run.
 *
 * Its contenders run on the Node the Effect 4 edition runs on (>= 22.19: effect4/node22 where the machine's Node is
 * older), from effect4/bench/clients.ts compiled into the client tree (bench/compiled.ts). So that every ratio
 * compares clients on one Node, the SDK and raw undici are measured on that Node as well:
 *
 * - `effect4-lean`: the Effect 4 edition's `BatchApi` on its `UndiciTransport.layer` (undici 8);
 * - `openai-sdk-node22`: the SDK, the same code as `openai-sdk`, on the Effect 4 edition's Node;
 * - `undici8-raw`: the floor there, undici 8's `request` + `JSON.parse` (effect4's undici, the one its transport
 *   uses).
 *
 * An Effect 4 contender's ratios are against `openai-sdk-node22` and `undici8-raw`; every other contender's against
 * `openai-sdk` and `undici-raw` on the machine's Node, as before.
 */

export const effect4Contenders = ["effect4-lean", "openai-sdk-node22", "undici8-raw"] as const
export type Effect4Contender = typeof effect4Contenders[number]

export const isEffect4Contender = (name: string): name is Effect4Contender =>
  effect4Contenders.some((contender) => contender === name)

/** The SDK and the floor a contender is compared with: those on its own Node. */
export const baselinesOf = (contender: string): {
  readonly sdk: "openai-sdk-node22" | "openai-sdk"
  readonly floor: "undici8-raw" | "undici-raw"
} =>
  isEffect4Contender(contender)
    ? { sdk: "openai-sdk-node22", floor: "undici8-raw" }
    : { sdk: "openai-sdk", floor: "undici-raw" }

/** A retrieve client (bench/retrieve.ts). */
export interface RetrieveClient {
  readonly one: () => Promise<{ readonly id: string }>
  readonly run: (calls: number, concurrency: number) => Promise<void>
}

/** A list walk (bench/stream.ts). */
export type Walk = (baseUrl: string) => Promise<{ readonly count: number; readonly lastId: string }>

/** What effect4/bench/clients.ts exports. */
export interface Effect4Clients {
  readonly makeRetrieveClient: (
    kind: "effect4-lean" | "undici8-raw",
    baseUrl: string,
    batchId: string
  ) => Promise<RetrieveClient>
  readonly makeWalk: (kind: "effect4-lean" | "undici8-raw", pageSize: number) => Walk
}

const isClients = (module: unknown): module is Effect4Clients =>
  typeof module === "object" && module !== null &&
  "makeRetrieveClient" in module && typeof module.makeRetrieveClient === "function" &&
  "makeWalk" in module && typeof module.makeWalk === "function"

/**
 * Loads the compiled effect4/bench/clients.js. A computed specifier: the root's type check must not follow it into
 * the Effect 4 edition (whose `effect` is another major version); its shape is checked here instead.
 */
export const loadEffect4Clients = async (): Promise<Effect4Clients> => {
  const specifier = new URL("../effect4/bench/clients.js", import.meta.url).href
  const module: unknown = await import(specifier)
  if (!isClients(module)) throw new Error(`${specifier} does not export makeRetrieveClient and makeWalk`)
  return module
}
