/**
 * The README and the docs compile: every ```ts block of README.md and of every docs/**\/*.md page (docgen's
 * generated API reference aside, see `checked`), completed by its hidden lines (see ./blocks.ts), is type-checked
 * against `src/` with the project's compiler options by the project's `tsc` (see `typecheck`). Unused names are
 * allowed: a snippet may show a value it does not use. A block marked
 * `readme-check test:` is also run here as a vitest test, the way a user would run it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { type Block, blocks, readmeLine, source } from "./blocks.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

/**
 * Whether a Markdown file (relative to the root, `/`-separated) is checked: README.md and the pages of docs/, but not
 * what `npm run docs` (docgen) writes there (docs/modules/, docs/examples/, its `*.ts.md`): git-ignored output whose
 * blocks are signatures, not programs.
 */
const checked = (file: string): boolean =>
  file === "README.md" ||
  (file.startsWith("docs/") && file.endsWith(".md") && !file.endsWith(".ts.md") &&
    !file.startsWith("docs/modules/") && !file.startsWith("docs/examples/"))

/** README.md, then the Markdown files under docs/ that are checked, in a stable order. */
const markdownFiles = (): ReadonlyArray<string> => {
  const found: Array<string> = []
  const walk = (dir: string): void => {
    for (const entry of Fs.readdirSync(Path.join(root, dir), { withFileTypes: true })) {
      const file = `${dir}/${entry.name}`
      if (entry.isDirectory()) walk(file)
      else if (checked(file)) found.push(file)
    }
  }
  if (Fs.existsSync(Path.join(root, "docs"))) walk("docs")
  return ["README.md", ...found.sort()]
}

const files = markdownFiles()

interface Problem {
  /** `<file>:<line>`, or the hidden line of the block at `<file>:<line>`. */
  readonly where: string
  readonly code: number
  readonly message: string
}

/**
 * Type-checks blocks as modules in test/readme/.generated/typecheck/ (git-ignored) with the compiler `npm test` type-
 * checks the project with (TypeScript 7, the native `tsc`: a fraction of the CPU of an in-process TypeScript 5.9
 * program over the same sources), under the project's compiler options but for unused names; returns the problems,
 * each placed in its Markdown file.
 */
const typecheck = (blocksToCheck: ReadonlyArray<Block>): ReadonlyArray<Problem> => {
  const dir = Path.join(root, "test", "readme", ".generated", "typecheck")
  Fs.rmSync(dir, { recursive: true, force: true })
  Fs.mkdirSync(dir, { recursive: true })
  const modules = new Map(blocksToCheck.map((block, i) => {
    const name = `${slug(block.file)}.block-${i}.ts`
    Fs.writeFileSync(Path.join(dir, name), source(block))
    return [name, block] as const
  }))
  Fs.writeFileSync(
    Path.join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../../tsconfig.json",
      compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
      include: [],
      files: [...modules.keys()]
    })
  )
  const tsc = Path.join(root, "node_modules", "typescript-native", "bin", "tsc")
  const run = spawnSync(process.execPath, [
    tsc,
    "--pretty",
    "false",
    "--singleThreaded",
    "-p",
    Path.join(dir, "tsconfig.json")
  ], {
    cwd: root,
    encoding: "utf8"
  })
  if (run.error !== undefined) throw run.error
  const problems: Array<Problem> = []
  // `<file>(<line>,<col>): error TS<code>: <message>`, a message's further lines indented below it.
  for (const line of run.stdout.split("\n")) {
    const at = /^(.+?)\((\d+),\d+\): error TS(\d+): (.*)$/.exec(line)
    if (at === null) {
      const last = problems.at(-1)
      if (last !== undefined && line.startsWith(" ")) {
        problems[problems.length - 1] = { ...last, message: `${last.message}\n${line.trim()}` }
      } else if (line.trim() !== "") {
        problems.push({ where: "tsc", code: 0, message: line })
      }
      continue
    }
    const [, file = "", lineText = "0", code = "0", message = ""] = at
    const block = modules.get(Path.basename(file))
    const readme = block === undefined ? undefined : readmeLine(block, Number(lineText) - 1)
    problems.push({
      where: block === undefined
        ? file
        : readme === undefined
        ? `a hidden line of the block at ${block.file}:${block.line}`
        : `${block.file}:${readme}`,
      code: Number(code),
      message
    })
  }
  if (run.status !== 0 && problems.length === 0) throw new Error(`tsc failed: ${run.stderr}`)
  return problems
}

/** `docs/jobs.md` -> `docs_jobs_md`: a file name for the blocks of a Markdown file. */
const slug = (file: string): string => file.replace(/[^A-Za-z0-9-]/g, "_")

const all = files.flatMap((file) => blocks(Fs.readFileSync(Path.join(root, file), "utf8"), file))

describe("README.md and docs/", () => {
  it("reads README.md and every page of docs/, not docgen's output", () => {
    assert.strictEqual(files[0], "README.md")
    for (const page of ["docs/index.md", "docs/jobs.md", "docs/testing.md"]) assert.include(files, page)
    // blocks are read from the docs too, each named by its file
    assert.isAbove(all.filter((b) => b.file === "docs/jobs.md").length, 1)
    for (const file of ["docs/guide/a.md", "README.md"]) assert.isTrue(checked(file), file)
    for (const file of ["docs/modules/Job.ts.md", "docs/modules/index.md", "docs/examples/index.md", "CHANGELOG.md"]) {
      assert.isFalse(checked(file), file)
    }
  })

  it("reads blocks, their directives and hidden lines", () => {
    const parsed = blocks([
      "text",
      "```ts",
      "const a = 1",
      "```",
      "<!-- readme-check partial: `id` comes from the text",
      "declare const id: string",
      "const program = Effect.gen(function*() {",
      "...",
      "})",
      "-->",
      "",
      "```ts",
      "yield* f(id)",
      "```",
      "```sh",
      "npm test",
      "```"
    ].join("\n"))
    assert.deepStrictEqual(parsed.map((b) => [b.file, b.line, b.kind, b.code]), [[
      "README.md",
      3,
      "complete",
      "const a = 1"
    ], [
      "README.md",
      13,
      "partial",
      "yield* f(id)"
    ]])
    const partial = parsed[1]
    assert.isDefined(partial)
    if (partial === undefined) return
    assert.strictEqual(partial.reason, "`id` comes from the text")
    assert.strictEqual(
      source(partial),
      "declare const id: string\nconst program = Effect.gen(function*() {\nyield* f(id)\n})\nexport {}\n"
    )
    assert.strictEqual(readmeLine(partial, 2), 13)
    assert.strictEqual(readmeLine(partial, 0), undefined)
    assert.throws(() => blocks("<!-- a comment -->\n```ts\nx\n```"), /must be a readme-check directive/)
    assert.throws(() => blocks("<!-- readme-check partial:\n-->\n```ts\nx\n```"), /say why/)
    assert.throws(
      () => blocks("text\n```ts\nx", "docs/jobs.md"),
      /^docs\/jobs\.md:2: a ```ts block that never closes/
    )
  })

  it("every TypeScript block type-checks (and a wrong one would not)", () => {
    assert.isAbove(all.length, 10)
    // controls: the checker must catch a wrong block and place the error on its line, in its file
    const control = (file: string): Block => ({
      file,
      line: 1000,
      kind: "complete",
      reason: "",
      code: "\nconst n: number = \"one\"",
      before: [],
      after: []
    })
    const problems = typecheck([...all, control("README.md"), control("docs/control.md")])
    const controlProblems = problems.filter((p) => p.where === "README.md:1001" || p.where === "docs/control.md:1001")
    assert.deepStrictEqual(controlProblems.map((p) => `${p.where} ${p.code}`), [
      "README.md:1001 2322",
      "docs/control.md:1001 2322"
    ])
    const real = problems.filter((p) => !controlProblems.includes(p))
    assert.deepStrictEqual(
      real.map((p) => `${p.where}: TS${p.code} ${p.message}`),
      [],
      "blocks that do not compile (a deliberately partial one needs a readme-check comment: test/readme/blocks.ts)"
    )
    // 6 s on a quiet 2-core machine, 47 s at load 16: a cap, not an expectation.
  }, 300_000)

  // it.effect: under a plain `it`, the returned Effect was never run, so this check could not fail.
  it.effect("the blocks that run as tests: the two simulator examples, the README's and the webhooks one", () =>
    Effect.sync(() => {
      const tests = all.filter((b) => b.kind === "test")
      assert.deepStrictEqual(tests.map((b) => b.file), ["README.md", "docs/testing.md"])
      for (const test of tests) assert.include(test.code, "BatchApiSimulator.layerBatchApi")
    }))
})

// The `readme-check test:` blocks, written out (the folder is git-ignored and outside the typecheck) and imported
// here, so their `it` calls register as tests of this file.
const generated = Path.join(root, "test", "readme", ".generated")
for (const block of all.filter((b) => b.kind === "test")) {
  describe(`${block.file}:${block.line} runs (${block.reason})`, async () => {
    const file = Path.join(generated, `${slug(block.file)}.block-${block.line}.ts`)
    Fs.mkdirSync(generated, { recursive: true })
    Fs.writeFileSync(file, source(block))
    await import(pathToFileURL(file).href)
  })
}
