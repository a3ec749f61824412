/**
 * The README and the docs compile: every ```ts block of README.md and of every docs/**\/*.md page (docgen's
 * generated API reference aside, see `checked`), completed by its hidden lines (see ./blocks.ts), is type-checked
 * against `src/` with the project's compiler options, in one in-process TypeScript program over virtual files (no
 * temp files, no second `tsc`). Unused names are allowed: a snippet may show a value it does not use. A block marked
 * `readme-check test:` is also run here as a vitest test, the way a user would run it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import ts from "typescript"
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

/** Type-checks blocks as modules next to this file; returns the problems, each placed in its Markdown file. */
const typecheck = (blocksToCheck: ReadonlyArray<Block>): ReadonlyArray<Problem> => {
  const config = ts.getParsedCommandLineOfConfigFile(Path.join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  if (config === undefined) throw new Error("tsconfig.json could not be read")
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false
  }
  const modules = new Map(blocksToCheck.map((block, i) => [
    Path.join(root, "test", "readme", `${slug(block.file)}.block-${i}.ts`),
    { block, text: source(block) }
  ]))
  const host = ts.createCompilerHost(options)
  const { fileExists, getSourceFile, readFile } = host
  host.fileExists = (name) => modules.has(name) || fileExists(name)
  host.readFile = (name) => modules.get(name)?.text ?? readFile(name)
  host.getSourceFile = (name, language, onError, shouldCreate) => {
    const module = modules.get(name)
    return module === undefined
      ? getSourceFile(name, language, onError, shouldCreate)
      : ts.createSourceFile(name, module.text, language)
  }
  const program = ts.createProgram([...modules.keys()], options, host)
  const problems: Array<Problem> = program.getOptionsDiagnostics().map((d) => ({
    where: "tsconfig.json",
    code: d.code,
    message: ts.flattenDiagnosticMessageText(d.messageText, "\n")
  }))
  for (const [name, { block }] of modules) {
    const sourceFile = program.getSourceFile(name)
    if (sourceFile === undefined) throw new Error(`${name} was not loaded`)
    for (const d of [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)]) {
      const line = d.start === undefined ? 0 : sourceFile.getLineAndCharacterOfPosition(d.start).line
      const at = readmeLine(block, line)
      problems.push({
        where: at === undefined ? `a hidden line of the block at ${block.file}:${block.line}` : `${block.file}:${at}`,
        code: d.code,
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n")
      })
    }
  }
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
