/**
 * `npm run check:consumer` (inside effect4/): the Effect 4 edition as a new user gets it, from its README alone.
 * Builds and packs the edition, installs the tarball into a new project beside `effect` 4 and vitest from the
 * registry (the versions this edition is tested with), writes the README's test file (the block marked
 * `readme-check test:`: create, retrieve, list and cancel, a wait, a job and a durable job, on the in-memory
 * simulator) into it as `readme.test.ts`, and runs it there, on a Node >= 22.19 (scripts/node.mjs).
 *
 * Not part of `npm test`: it builds the declarations and installs from the registry. `npm test` runs the same block
 * against the sources (test/readme/readme.test.ts) and checks the built JavaScript (test/package/consumer.test.ts).
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { build, root } from "./build.js"
import { findNode } from "./node.mjs"

const node = findNode()
if (node === undefined) throw new Error("no Node >= 22.19 here: see scripts/node.mjs")
const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8"))
const versions = manifest.devDependencies as Record<string, string>

/** The README's `readme-check test:` block. */
const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8").split("\n")
const marker = readme.findIndex((line) => line.startsWith("<!-- readme-check test:"))
const open = readme.findIndex((line, i) => i > marker && line.startsWith("```ts"))
const close = readme.findIndex((line, i) => i > open && line === "```")
if (marker === -1 || open === -1 || close === -1) throw new Error("README.md has no readme-check test block")
const testFile = readme.slice(open + 1, close).join("\n") + "\n"

const run = (command: string, args: ReadonlyArray<string>, cwd: string) => {
  console.log(`\n$ ${Path.basename(command)} ${args.join(" ")}`)
  execFileSync(command, args, {
    cwd,
    stdio: "inherit",
    env: { ...process.env, PATH: `${Path.dirname(node.path)}${Path.delimiter}${process.env["PATH"] ?? ""}` }
  })
}

build(Path.join(root, "dist"))
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "eob4-consumer-"))
try {
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], {
      cwd: root,
      encoding: "utf8"
    })
  ) as ReadonlyArray<{ readonly filename: string }>
  const tarball = packed[0]?.filename
  if (tarball === undefined) throw new Error("npm pack wrote no tarball")
  const app = Path.join(dir, "app")
  Fs.mkdirSync(app)
  Fs.writeFileSync(Path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
  Fs.writeFileSync(Path.join(app, "readme.test.ts"), testFile)
  run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    Path.join(dir, tarball),
    `effect@${versions["effect"]}`,
    `vitest@${versions["vitest"]}`,
    `@effect/vitest@${versions["@effect/vitest"]}`
  ], app)
  run(node.path, [Path.join(app, "node_modules", "vitest", "vitest.mjs"), "run", "readme.test.ts"], app)
  console.log(`\nthe README's test file passed in a new project on the packed ${tarball} (Node ${node.version})`)
} finally {
  Fs.rmSync(dir, { recursive: true, force: true })
}
