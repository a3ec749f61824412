/**
 * `npm run check:package` (inside effect4/): builds the Effect 4 edition, packs it as `npm publish` would, and checks the
 * tarball:
 *
 * - its files: LICENSE, README.md, MIGRATION.md, package.json, the ES modules with their declarations, no test;
 * - publint (`--strict`): package.json fields, the exports map, that every file it names is in the tarball;
 * - @arethetypeswrong/cli with the `esm-only` profile: for every entry point, types resolve, under node16 (ESM) and
 *   bundler resolution (the edition ships no CommonJS, see scripts/build.ts; CommonJS programs `require` it as
 *   require(esm)).
 *
 * Not part of `npm test`: the declaration emit takes seconds. `npm test` checks the JavaScript half
 * (test/package/consumer.test.ts).
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { build, root } from "./build.js"

const bin = (name: string) => {
  for (const dir of [root, Path.join(root, "..")]) {
    const file = Path.join(dir, "node_modules", ".bin", name)
    if (Fs.existsSync(file)) return file
  }
  throw new Error(`${name} is not installed`)
}

const run = (command: string, args: ReadonlyArray<string>) => {
  console.log(`\n$ ${Path.basename(command)} ${args.join(" ")}`)
  execFileSync(command, args, { cwd: root, stdio: "inherit" })
}

const started = Date.now()
build(Path.join(root, "dist"))
console.log(`built dist in ${((Date.now() - started) / 1000).toFixed(1)} s`)

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "eob4-pack-"))
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
    "MIGRATION.md",
    "package.json",
    "dist/index.js",
    "dist/index.d.ts",
    "dist/Batch.js",
    "dist/BatchLine.d.ts",
    "dist/tokenizer/index.js",
    "dist/tokenizer/index.d.ts"
  ]
  const missing = required.filter((file) => !files.has(file))
  const unwanted = [...files].filter((file) => /^(test|scripts|examples|node22)\//.test(file))
  if (missing.length > 0 || unwanted.length > 0) {
    throw new Error(
      `the tarball lacks ${missing.join(", ") || "nothing"}; it should not hold ${unwanted.join(", ") || "-"}`
    )
  }
  console.log(
    `\n${tarball.filename}: ${files.size} files, ${(tarball.size / 1024).toFixed(0)} kB packed, ${
      (tarball.unpackedSize / 1024).toFixed(0)
    } kB unpacked`
  )
  const file = Path.join(dir, tarball.filename)
  run(bin("publint"), ["run", file, "--strict"])
  // the `./*` subpath is a pattern attw does not expand: name every public module as users import it, in every
  // folder (`./testing`, `./durable/SqliteEngine`, `./transport/UndiciTransport`, ...), internals and the CLI aside
  const modules = (Fs.readdirSync(Path.join(root, "dist"), { recursive: true }) as Array<string>)
    .map((name) => name.split(Path.sep).join("/"))
    .filter((name) => name.endsWith(".d.ts") && name !== "index.d.ts")
    .filter((name) => !name.split("/").includes("internal") && !name.endsWith("server-cli.d.ts"))
    .map((name) => `./${name.replace(/(\/index)?\.d\.ts$/, "")}`)
  run(bin("attw"), [file, "--profile", "esm-only", "--include-entrypoints", ...modules])
} finally {
  Fs.rmSync(dir, { recursive: true, force: true })
}
