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
      { find: /^effect-openai-batch\/(.+)$/, replacement: src("$1.ts") },
      { find: /^effect-openai-batch$/, replacement: src("index.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
