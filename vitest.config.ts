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
    // Three workers on the project's 2-core machines: many files mostly wait on child processes, loopback servers
    // and timers, and a third worker fills those waits (measured back to back: 62 s with two, 57 s with three).
    pool: "forks",
    // One process per worker runs many files (`isolate: false`): effect, the platform and the library are loaded
    // once per worker instead of once per file, about a third of the suite's CPU. Tests share no mutable module
    // state for it; `@effect/vitest`'s `layer(...)` would (it rebinds the module-wide `it`), so blocks over one
    // shared layer use test/support/sharedLayer.ts instead.
    poolOptions: { forks: { minForks: 3, maxForks: 3, isolate: false } },
    hookTimeout: 30_000
  }
})
