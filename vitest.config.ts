import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"
import { BaseSequencer, type TestSpecification } from "vitest/node"

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

/**
 * The files that take longest in wall time (children, loopback servers, PostgreSQL), longest first. Vitest hands
 * files to the workers in its sequencer's order; without its results cache (a clean clone, as in CI) it orders them by
 * size, which could start the crash or consumer tests last and leave one worker running them alone at the end.
 */
const slowFirst = [
  "test/package/consumer.test.ts",
  "test/durable/crash.test.ts",
  "test/integration/examples.test.ts",
  "test/integration/upload-dedupe.test.ts",
  "test/BatchWait.test.ts",
  "test/durable/DurableJob.steps.test.ts",
  "test/readme/readme.test.ts",
  "test/integration/transport-exchange.test.ts",
  "test/integration/uploads-large.test.ts",
  "test/integration/undici-transport.test.ts"
]

/** Vitest's own order, with the slow files first. */
class SlowFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const sorted = await super.sort(files)
    const rank = (file: TestSpecification) => {
      const index = slowFirst.findIndex((path) => file.moduleId.endsWith(path))
      return index === -1 ? slowFirst.length : index
    }
    return [...sorted].sort((a, b) => rank(a) - rank(b))
  }
}

export default defineConfig({
  resolve: {
    // Examples import the package by its public name; in this repo that is the source itself.
    alias: [
      { find: /^effect-openai-batch\/testing\/server$/, replacement: src("testing/server.ts") },
      { find: /^effect-openai-batch\/testing$/, replacement: src("testing/index.ts") },
      { find: /^effect-openai-batch\/durable$/, replacement: src("durable/index.ts") },
      { find: /^effect-openai-batch\/tokenizer$/, replacement: src("tokenizer/index.ts") },
      { find: /^effect-openai-batch\/(.+)$/, replacement: src("$1.ts") },
      { find: /^effect-openai-batch$/, replacement: src("index.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 30_000,
    // Two workers, one per core of the project's 2-core machines: `npm test` runs this suite beside the Effect 4
    // edition's and the checks (scripts/test.mjs, which gives this one the CPU first), and those fill its waits on
    // children and servers; a third worker only loaded the library and the test files a third time (measured alone:
    // 96 s of CPU with three, 87 s with two).
    pool: "forks",
    // One process per worker runs many files (`isolate: false`): effect, the platform and the library are loaded
    // once per worker instead of once per file, about a third of the suite's CPU. Tests share no mutable module
    // state for it; `@effect/vitest`'s `layer(...)` would (it rebinds the module-wide `it`), so blocks over one
    // shared layer use test/support/sharedLayer.ts instead.
    poolOptions: { forks: { minForks: 2, maxForks: 2, isolate: false } },
    hookTimeout: 30_000,
    sequence: { sequencer: SlowFirst }
  }
})
