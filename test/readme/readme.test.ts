/**
 * The README compiles: every ```ts block of README.md, completed by its hidden lines (see ./blocks.ts), is
 * type-checked against `src/` with the project's compiler options, in one in-process TypeScript program over virtual
 * files (no temp files, no second `tsc`). Unused names are allowed: a snippet may show a value it does not use. A
 * block marked `readme-check test:` is also run here as a vitest test, the way a user would run it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import ts from "typescript"
import { type Block, blocks, readmeLine, source } from "./blocks.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")

interface Problem {
  /** `README.md:<line>`, or the hidden line of the block at `<line>`. */
  readonly where: string
  readonly code: number
  readonly message: string
}

/** Type-checks blocks as modules next to this file; returns the problems, each placed in the README. */
const typecheck = (checked: ReadonlyArray<Block>): ReadonlyArray<Problem> => {
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
  const files = new Map(checked.map((block, i) => [
    Path.join(root, "test", "readme", `README.block-${i}.ts`),
    { block, text: source(block) }
  ]))
  const host = ts.createCompilerHost(options)
  const { fileExists, getSourceFile, readFile } = host
  host.fileExists = (name) => files.has(name) || fileExists(name)
  host.readFile = (name) => files.get(name)?.text ?? readFile(name)
  host.getSourceFile = (name, language, onError, shouldCreate) => {
    const file = files.get(name)
    return file === undefined
      ? getSourceFile(name, language, onError, shouldCreate)
      : ts.createSourceFile(name, file.text, language)
  }
  const program = ts.createProgram([...files.keys()], options, host)
  const problems: Array<Problem> = program.getOptionsDiagnostics().map((d) => ({
    where: "tsconfig.json",
    code: d.code,
    message: ts.flattenDiagnosticMessageText(d.messageText, "\n")
  }))
  for (const [name, { block }] of files) {
    const sourceFile = program.getSourceFile(name)
    if (sourceFile === undefined) throw new Error(`${name} was not loaded`)
    for (const d of [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)]) {
      const line = d.start === undefined ? 0 : sourceFile.getLineAndCharacterOfPosition(d.start).line
      const at = readmeLine(block, line)
      problems.push({
        where: at === undefined ? `a hidden line of the block at README.md:${block.line}` : `README.md:${at}`,
        code: d.code,
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n")
      })
    }
  }
  return problems
}

const all = blocks(readme)

describe("README.md", () => {
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
    assert.deepStrictEqual(parsed.map((b) => [b.line, b.kind, b.code]), [[3, "complete", "const a = 1"], [
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
  })

  it("every TypeScript block type-checks (and a wrong one would not)", () => {
    assert.isAbove(all.length, 10)
    // a control: the checker must catch a wrong block and place the error on its README line
    const control: Block = {
      line: 1000,
      kind: "complete",
      reason: "",
      code: "\nconst n: number = \"one\"",
      before: [],
      after: []
    }
    const problems = typecheck([...all, control])
    const controlProblems = problems.filter((p) => p.where === "README.md:1001")
    assert.deepStrictEqual(controlProblems.map((p) => p.code), [2322])
    const real = problems.filter((p) => !controlProblems.includes(p))
    assert.deepStrictEqual(
      real.map((p) => `${p.where}: TS${p.code} ${p.message}`),
      [],
      "README blocks that do not compile (a deliberately partial one needs a readme-check comment: test/readme/blocks.ts)"
    )
    // 6 s on a quiet 2-core machine, 47 s at load 16: a cap, not an expectation.
  }, 300_000)

  // it.effect: under a plain `it`, the returned Effect was never run, so this check could not fail.
  it.effect("the blocks that run as tests: the two simulator examples", () =>
    Effect.sync(() => {
      const tests = all.filter((b) => b.kind === "test")
      assert.strictEqual(tests.length, 2)
      for (const test of tests) assert.include(test.code, "BatchApiSimulator.layerBatchApi")
    }))
})

// The `readme-check test:` blocks, written out (the folder is git-ignored and outside the typecheck) and imported
// here, so their `it` calls register as tests of this file.
const generated = Path.join(root, "test", "readme", ".generated")
for (const block of all.filter((b) => b.kind === "test")) {
  describe(`README.md:${block.line} runs (${block.reason})`, async () => {
    const file = Path.join(generated, `README.block-${block.line}.ts`)
    Fs.mkdirSync(generated, { recursive: true })
    Fs.writeFileSync(file, source(block))
    await import(pathToFileURL(file).href)
  })
}
