import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

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
    isolate: false
  }
})
