/**
 * What a benchmark suite gets from the orchestrator, and what it gives back.
 */

export interface SuiteOptions {
  /** Rounds of the interleaved measurement (each round runs every contender once per mode/size). */
  readonly rounds: number | undefined
  /** Write a .cpuprofile of each measured client child into bench/profiles/. */
  readonly profile: boolean
  /** A lighter run, to check that everything works. */
  readonly quick: boolean
}

export interface SuiteContext {
  /** The loopback server's origin, e.g. `http://127.0.0.1:40123`. */
  readonly origin: string
  /** The server child's CPU time so far (user + system), in microseconds. */
  readonly serverCpuUs: () => Promise<number>
  readonly options: SuiteOptions
  /** The compiled client worker (bench/compiled.ts): every measured client runs `node <compiledWorker> ...`. */
  readonly compiledWorker: string
  /** Prints a line of the report. */
  readonly log: (line?: string) => void
  /**
   * The Node the Effect 4 edition's contenders run on (effect4/scripts/node.mjs: this one when recent enough, else
   * effect4/node22's); `undefined` when there is none here, and the suites leave those contenders out.
   */
  readonly effect4Node: Effect4Node | undefined
}

/** A Node for the Effect 4 edition: its executable and version. */
export interface Effect4Node {
  readonly path: string
  readonly version: string
}

export interface Suite {
  readonly name: string
  readonly description: string
  readonly run: (context: SuiteContext) => Promise<void>
}

/** A pass/miss verdict line. */
export const verdict = (ok: boolean, text: string): string => `${ok ? "PASS" : "MISS"}  ${text}`
