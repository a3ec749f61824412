/**
 * The TypeScript blocks of README.md and of the pages of docs/, as programs a compiler can check.
 *
 * Every ```ts (or ```typescript) block is checked. A block that is complete on its own (its imports included) needs nothing more. A
 * block that is deliberately partial says so in an HTML comment right above it, which GitHub and npm do not show,
 * and the lines of that comment complete it:
 *
 *     <!-- readme-check partial: why it is partial, in a few words
 *     import { BatchApi } from "effect-openai-batch"
 *     declare const id: string
 *     const program = Effect.gen(function*() {
 *     ...
 *     })
 *     -->
 *
 * The lines before a line holding only `...` go before the block, the lines after it go after it (no `...`: all
 * go before). `readme-check test:` instead of `partial:` marks a block that is also run as a vitest test file.
 */

/** One ```ts block of a Markdown file, completed by its hidden lines. */
export interface Block {
  /** The file the block is in, relative to the repository's root (`README.md`, `docs/jobs.md`). */
  readonly file: string
  /** The line of the block's first code line in its file (1-based). */
  readonly line: number
  readonly kind: "complete" | "partial" | "test"
  /** Why the block is partial (the rest of the directive's first line). */
  readonly reason: string
  /** The block's own lines. */
  readonly code: string
  readonly before: ReadonlyArray<string>
  readonly after: ReadonlyArray<string>
}

const fence = /^```(?:ts|typescript)\s*$/
const directive = /^<!--\s*readme-check\s+(partial|test):\s*(.*)$/

/** The ```ts blocks of a Markdown file (`file` names it in errors), in order. */
export const blocks = (readme: string, file = "README.md"): ReadonlyArray<Block> => {
  const lines = readme.split("\n")
  const found: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    if (!fence.test(lines[i] ?? "")) continue
    const end = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line))
    if (end === -1) throw new Error(`${file}:${i + 1}: a \`\`\`ts block that never closes`)
    const code = lines.slice(i + 1, end).join("\n")
    // the directive, if any: the nearest comment above the fence, with only blank lines between
    let above = i - 1
    while (above >= 0 && (lines[above] ?? "").trim() === "") above--
    let kind: Block["kind"] = "complete"
    let reason = ""
    let hidden: Array<string> = []
    if ((lines[above] ?? "").trimEnd().endsWith("-->")) {
      let start = above
      while (start >= 0 && !(lines[start] ?? "").trimStart().startsWith("<!--")) start--
      const match = directive.exec((lines[start] ?? "").replace(/-->\s*$/, ""))
      if (match === null) {
        throw new Error(`${file}:${start + 1}: a comment right above a ts block must be a readme-check directive`)
      }
      kind = match[1] === "test" ? "test" : "partial"
      reason = (match[2] ?? "").trim()
      if (reason === "") throw new Error(`${file}:${start + 1}: say why the block is partial`)
      hidden = start === above ? [] : lines.slice(start + 1, above)
    }
    const split = hidden.findIndex((line) => line.trim() === "...")
    found.push({
      file,
      line: i + 2,
      kind,
      reason,
      code,
      before: split === -1 ? hidden : hidden.slice(0, split),
      after: split === -1 ? [] : hidden.slice(split + 1)
    })
    i = end
  }
  return found
}

/** The block as a module: hidden lines before, the block, hidden lines after. */
export const source = (block: Block): string =>
  [...block.before, block.code, ...block.after, "export {}", ""].join("\n")

/** Maps a 0-based line of `source(block)` back to its file: its line there, or `undefined` for a hidden line. */
export const readmeLine = (block: Block, sourceLine: number): number | undefined => {
  const codeLines = block.code.split("\n").length
  const offset = sourceLine - block.before.length
  return offset >= 0 && offset < codeLines ? block.line + offset : undefined
}
