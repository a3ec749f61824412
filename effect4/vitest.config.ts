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
  "test/durable/crash.test.ts",
  "test/package/consumer.test.ts",
  "test/examples.test.ts",
  "test/durable/PostgresEngine.crash.test.ts",
  "test/durable/SqliteEngine.crash.test.ts",
  "test/transport/UndiciTransport.test.ts",
  "test/readme/readme.test.ts",
  "test/testing/server.test.ts"
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
    // Examples import the package by its public name; here that is the source itself.
    alias: [
      { find: /^effect-openai-batch\/tokenizer$/, replacement: src("tokenizer/index.ts") },
      { find: /^effect-openai-batch\/testing$/, replacement: src("testing/index.ts") },
      { find: /^effect-openai-batch\/durable$/, replacement: src("durable/index.ts") },
      { find: /^effect-openai-batch\/(.+)$/, replacement: src("$1.ts") },
      { find: /^effect-openai-batch$/, replacement: src("index.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Both cores of the project's 2-core machines (vitest's default leaves one idle).
    maxWorkers: 2,
    // One worker per core for all files (no fresh worker per file): the files share no mutable state, and on a
    // 2-core machine the per-file worker start was a third of the run.
    isolate: false,
    sequence: { sequencer: SlowFirst }
  }
})
