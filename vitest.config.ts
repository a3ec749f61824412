import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

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
    // Two workers on the project's 2-core machines (vitest's default leaves one core idle): many files mostly wait
    // on child processes and loopback servers.
    pool: "forks",
    poolOptions: { forks: { minForks: 2, maxForks: 2 } },
    hookTimeout: 30_000
  }
})
