/**
 * `npm run check:package`: builds the package, packs it as `npm publish` would, and checks the tarball:
 *
 * - its files: LICENSE, README.md, package.json, the bin, both formats with their declarations, no test or bench;
 * - publint (`--strict`): package.json fields, the exports map, that every file it names is in the tarball;
 * - @arethetypeswrong/cli: for every entry point, types resolve, and in the format of the JavaScript beside them,
 *   under node10, node16 (CommonJS and ESM) and bundler resolution.
 *
 * Not part of `npm test`: the declaration emit alone takes tens of seconds. `npm test` checks the JavaScript half
 * (test/package/consumer.test.ts).
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { build, root } from "./build.js"

const bin = (name: string) => Path.join(root, "node_modules", ".bin", name)

const run = (command: string, args: ReadonlyArray<string>) => {
  console.log(`\n$ ${Path.basename(command)} ${args.join(" ")}`)
  execFileSync(command, args, { cwd: root, stdio: "inherit" })
}

const started = Date.now()
build(Path.join(root, "dist"))
console.log(`built dist/{esm,cjs} in ${((Date.now() - started) / 1000).toFixed(1)} s`)

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "eob-pack-"))
try {
  // the build just ran: skip prepack's second one
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], {
      cwd: root,
      encoding: "utf8"
    })
  ) as ReadonlyArray<{ filename: string; size: number; unpackedSize: number; files: ReadonlyArray<{ path: string }> }>
  const [tarball] = packed
  if (tarball === undefined) throw new Error("npm pack wrote no tarball")
  const files = new Set(tarball.files.map((file) => file.path))
  const required = [
    "LICENSE",
    "README.md",
    "package.json",
    "bin/effect-openai-batch-simulator.js",
    "dist/esm/package.json",
    "dist/cjs/package.json",
    "dist/esm/index.js",
    "dist/esm/index.d.ts",
    "dist/cjs/index.js",
    "dist/cjs/index.d.ts",
    "dist/esm/testing/server-cli.js"
  ]
  const missing = required.filter((file) => !files.has(file))
  const unwanted = [...files].filter((file) => /^(test|bench|examples|scripts)\//.test(file))
  if (missing.length > 0 || unwanted.length > 0) {
    throw new Error(
      `the tarball lacks ${missing.join(", ") || "nothing"}; it should not hold ${unwanted.join(", ") || "-"}`
    )
  }
  console.log(
    `\n${tarball.filename}: ${files.size} files, ${(tarball.size / 1024).toFixed(0)} kB packed, ${
      (tarball.unpackedSize / 1024).toFixed(0)
    } kB unpacked; LICENSE, bin and both formats present`
  )
  const file = Path.join(dir, tarball.filename)
  run(bin("publint"), ["run", file, "--strict"])
  // the `./*` subpath is a pattern attw does not expand: name its modules, every public one as users import it
  // (`./BatchApi`, `./testing/BatchApiSimulator`, `./durable/...`), leaving out internal folders and the CLI script
  const modules = (folder: string): ReadonlyArray<string> =>
    Fs.readdirSync(Path.join(root, "dist", "esm", folder), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? entry.name === "internal" ? [] : modules(Path.posix.join(folder, entry.name))
        : entry.name.endsWith(".d.ts") && entry.name !== "index.d.ts" && entry.name !== "server-cli.d.ts"
        ? [`./${Path.posix.join(folder, entry.name.replace(/\.d\.ts$/, ""))}`]
        : []
    )
  run(bin("attw"), [file, "--include-entrypoints", ...modules(".")])
} finally {
  Fs.rmSync(dir, { recursive: true, force: true })
}
