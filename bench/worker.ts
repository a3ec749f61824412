/**
 * Entry point of every benchmark child process: `node --import tsx bench/worker.ts <role> ...args`.
 * Roles load their dependencies lazily, so a client process holds only the modules of its own contender.
 */
import { report } from "./child.js"

const roles: Record<string, (args: ReadonlyArray<string>) => Promise<void>> = {
  server: async () => (await import("./servers.js")).serverMain(),
  retrieve: async (args) => (await import("./retrieve.js")).clientMain(args),
  stream: async (args) => (await import("./stream.js")).clientMain(args),
  results: async (args) => (await import("./results.js")).clientMain(args),
  simulator: async () => (await import("./job.js")).simulatorMain(),
  job: async (args) => (await import("./job.js")).clientMain(args)
}

// tsx turns source maps on; then every Error.stack read is source-mapped (and .map files are loaded with each
// module). That is a cost of running TypeScript through tsx, not of any contender: turn it off before loading them.
process.setSourceMapsEnabled(false)

const [role = "", ...args] = process.argv.slice(2)
const main = roles[role]
if (main === undefined) {
  console.error(`unknown role ${role}; expected one of ${Object.keys(roles).join(", ")}`)
  process.exit(2)
}
main(args).catch((error: unknown) => {
  const message = error instanceof Error ? error.stack ?? error.message : String(error)
  report({ type: "error", message })
  console.error(message)
  setTimeout(() => process.exit(1), 50)
})
