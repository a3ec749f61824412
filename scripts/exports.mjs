// Counts the names the package exports and checks their `@since` tags.
//
//   node scripts/exports.mjs            per-module counts and the total
//   node scripts/exports.mjs --names    the names too
//
// What counts: each namespace's members of the entry points (src/index.ts, src/testing/index.ts,
// src/durable/index.ts) and the direct exports of the other public modules (src/testing/server.ts,
// src/transport/*.ts, src/tokenizer/index.ts). Every export must carry a `@since` tag naming a released version
// (0.1.0, 0.2.0) or the next one (0.3.0); the script exits 1 when one is missing or names a later version.
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const next = "0.3.0"
const known = new Set(["0.1.0", "0.2.0", next])

/**
 * The public surface: `counts` (a label and its names, per module) and `problems` (exports whose `@since` is missing
 * or names an unreleased version).
 */
export const survey = () => {
  const namespaceEntries = ["src/index.ts", "src/testing/index.ts", "src/durable/index.ts"]
  const moduleEntries = [
    "src/testing/server.ts",
    ...fs.readdirSync(path.join(root, "src/transport")).filter((f) => f.endsWith(".ts")).map((f) =>
      `src/transport/${f}`
    ),
    "src/tokenizer/index.ts"
  ]

  // Every file of src/ and nothing else: no lib, no types, no module outside the program (`noResolve`). What is
  // asked (which names a module exports, and their JSDoc) is all in src/; effect's declarations, which a program
  // would otherwise load whole, were most of this survey's CPU.
  const sources = fs.readdirSync(path.join(root, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts")).map((f) => path.join(root, "src", f))
  const program = ts.createProgram(sources, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    noLib: true,
    noResolve: true,
    types: []
  })
  const checker = program.getTypeChecker()

  const sinceOf = (symbol) => {
    const tags = []
    for (const declaration of symbol.declarations ?? []) {
      for (const tag of ts.getJSDocTags(declaration)) {
        if (tag.tagName.text === "since") tags.push(ts.getTextOfJSDocComment(tag.comment)?.trim())
      }
      // `export const x = ...`: the JSDoc sits on the statement.
      if (ts.isVariableDeclaration(declaration)) {
        for (const tag of ts.getJSDocTags(declaration.parent.parent)) {
          if (tag.tagName.text === "since") tags.push(ts.getTextOfJSDocComment(tag.comment)?.trim())
        }
      }
    }
    return tags
  }

  const moduleSymbolOf = (file) => checker.getSymbolAtLocation(program.getSourceFile(file))

  const problems = []
  const counts = []

  const count = (label, exports) => {
    const names = []
    for (const symbol of exports) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
      const tags = [...new Set([...sinceOf(symbol), ...sinceOf(target)])]
      if (tags.length === 0) problems.push(`${label}.${symbol.name}: no @since`)
      for (const tag of tags) {
        if (!known.has(tag)) {
          problems.push(`${label}.${symbol.name}: @since ${tag} (released: 0.1.0, 0.2.0; next: ${next})`)
        }
      }
      names.push(symbol.name)
    }
    counts.push([label, names])
  }

  for (const entry of namespaceEntries) {
    const file = path.join(root, entry)
    for (const symbol of checker.getExportsOfModule(moduleSymbolOf(file))) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
      if (target.flags & ts.SymbolFlags.ValueModule) {
        count(
          `${path.relative(path.join(root, "src"), path.dirname(file)) || "."}:${symbol.name}`,
          checker.getExportsOfModule(target)
        )
      } else {
        count(`${entry}:${symbol.name}`, [symbol])
      }
    }
  }
  for (const entry of moduleEntries) {
    count(
      entry.replace(/^src\//, "").replace(/\.ts$/, ""),
      checker.getExportsOfModule(moduleSymbolOf(path.join(root, entry)))
    )
  }
  return { counts, problems }
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
if (isMain) {
  const showNames = process.argv.includes("--names")
  const { counts, problems } = survey()
  let total = 0
  for (const [label, names] of counts) {
    total += names.length
    console.log(`${String(names.length).padStart(4)}  ${label}${showNames ? `: ${names.sort().join(", ")}` : ""}`)
  }
  console.log(`${String(total).padStart(4)}  total`)
  if (problems.length > 0) {
    console.error(`\n${problems.length} export(s) with a missing or unreleased @since:`)
    for (const problem of problems) console.error(`  ${problem}`)
    process.exitCode = 1
  }
}
