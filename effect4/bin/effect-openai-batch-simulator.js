#!/usr/bin/env node
// effect-openai-batch-simulator [options]   (--help lists every flag with its meaning and default)
//
// Serves the Batch API simulator on 127.0.0.1 until Ctrl-C; point any OpenAI client at the base URL it prints.
// Without --key any non-empty bearer key is accepted. The command is the built src/testing/server-cli.ts; it needs
// the optional peer @effect/platform-node, so say so plainly when it is missing instead of a module-not-found trace.
try {
  await import("@effect/platform-node/NodeRuntime")
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" && error?.code !== "MODULE_NOT_FOUND") throw error
  console.error("effect-openai-batch-simulator needs @effect/platform-node: npm install @effect/platform-node@^4.1.5")
  process.exit(1)
}
await import("../dist/testing/server-cli.js")
