/**
 * The Effect 4 edition's README and MIGRATION.md compile (the root's test/readme/readme.test.ts, ported): every ```ts
 * block of effect4/README.md and effect4/MIGRATION.md, completed by its hidden lines (see ./blocks.ts, the root's,
 * shared verbatim), is type-checked against effect4/src with this edition's compiler options by the root's
 * TypeScript 7 `tsc` (see `typecheck`). Unused names are allowed: a snippet may show a value it does not use. A block
 * marked `readme-check test:` is also run here as a vitest test, the way a user would run it.
 *
 * The generated modules go to effect4/.scratch/readme/, which git and the root's eslint both ignore (a folder under
 * test/ would be linted by the root's `eslint .`), and which this edition's `tsc -p tsconfig.json` does not include.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { type Block, blocks, readmeLine, source } from "./blocks.js"

/** effect4/ */
const edition = fileURLToPath(new URL("../..", import.meta.url))
/** The repository's root, whose node_modules holds the tools (TypeScript 7 among them). */
const repository = Path.join(edition, "..")
const generated = Path.join(edition, ".scratch", "readme")

/** The Markdown files whose blocks are checked, relative to effect4/. */
const files = ["README.md", "MIGRATION.md"]

interface Problem {
  /** `<file>:<line>`, or the hidden line of the block at `<file>:<line>`. */
  readonly where: string
  readonly code: number
  readonly message: string
}

/** `MIGRATION.md` -> `MIGRATION_md`: a file name for the blocks of a Markdown file. */
const slug = (file: string): string => file.replace(/[^A-Za-z0-9-]/g, "_")

/**
 * Type-checks blocks as modules in effect4/.scratch/readme/typecheck/ with the compiler the root's `npm test` type-
 * checks this edition with (TypeScript 7, the native `tsc`, one run for all blocks), under effect4/tsconfig.json's
 * options (its `paths` map `effect-openai-batch/*` to src/) but for unused names; returns the problems, each placed
 * in its Markdown file.
 */
const typecheck = (blocksToCheck: ReadonlyArray<Block>): ReadonlyArray<Problem> => {
  const dir = Path.join(generated, "typecheck")
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
      extends: "../../../tsconfig.json",
      compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
      include: [],
      files: [...modules.keys()]
    })
  )
  const tsc = Path.join(repository, "node_modules", "typescript-native", "bin", "tsc")
  const run = spawnSync(process.execPath, [
    tsc,
    "--pretty",
    "false",
    "--singleThreaded",
    "-p",
    Path.join(dir, "tsconfig.json")
  ], {
    cwd: edition,
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

const all = files.flatMap((file) => blocks(Fs.readFileSync(Path.join(edition, file), "utf8"), file))

describe("effect4/README.md and MIGRATION.md", () => {
  it("every TypeScript block type-checks (and a wrong one would not)", () => {
    assert.isAbove(all.filter((b) => b.file === "README.md").length, 10)
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
    const problems = typecheck([...all, control("README.md"), control("MIGRATION.md")])
    const controlProblems = problems.filter((p) => p.where === "README.md:1001" || p.where === "MIGRATION.md:1001")
    // the real problems first: a block that does not parse stops tsc before its type check, controls included
    const real = problems.filter((p) => !controlProblems.includes(p))
    assert.deepStrictEqual(
      real.map((p) => `${p.where}: TS${p.code} ${p.message}`),
      [],
      "blocks that do not compile (a deliberately partial one needs a readme-check comment: test/readme/blocks.ts)"
    )
    assert.deepStrictEqual(controlProblems.map((p) => `${p.where} ${p.code}`).sort(), [
      "MIGRATION.md:1001 2322",
      "README.md:1001 2322"
    ])
  }, 300_000)

  // it.effect: under a plain `it`, a returned Effect would never run, so this check could not fail.
  it.effect("the block that runs as a test: the README's, on the in-memory simulator", () =>
    Effect.sync(() => {
      const tests = all.filter((b) => b.kind === "test")
      assert.deepStrictEqual(tests.map((b) => b.file), ["README.md"])
      for (const test of tests) assert.include(test.code, "BatchApiSimulator.layerBatchApi")
    }))
})

// The `readme-check test:` blocks, written out and imported here, so their `it` calls register as tests of this file.
for (const block of all.filter((b) => b.kind === "test")) {
  describe(`${block.file}:${block.line} runs (${block.reason})`, async () => {
    const file = Path.join(generated, `${slug(block.file)}.block-${block.line}.ts`)
    Fs.mkdirSync(generated, { recursive: true })
    Fs.writeFileSync(file, source(block))
    await import(pathToFileURL(file).href)
  })
}
