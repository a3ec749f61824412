/**
 * The implementation side of `StructuredOutput`: which schemas take the answer's text as it is, and describing a
 * parse issue by its fields and rules, never by the values found there (finding the answer is `answer.ts`).
 *
 * @internal
 */
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as AST from "effect/SchemaAST"
import type * as BatchError from "../BatchError.js"
import * as Params from "./params.js"

const isStringLike = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return true
    case "Literal":
      return typeof ast.literal === "string"
    case "Union":
      return ast.types.every(isStringLike)
    case "Refinement":
      return isStringLike(ast.from)
    default:
      return false
  }
}

/**
 * Whether a schema takes the answer's text as it is: its encoded side is a string (`Schema.String`, a literal, a
 * template, `Schema.parseJson(...)`). Any other schema takes the text parsed as JSON.
 *
 * @internal
 */
export const takesText = (ast: AST.AST): boolean => isStringLike(AST.encodedAST(ast))

/** The most issues a `SchemaMismatch` lists. @internal */
export const maxIssues = 10

type Issue = BatchError.StructuredOutputError["issues"] extends ReadonlyArray<infer I> | undefined ? I : never

const pathText = (path: ReadonlyArray<PropertyKey>, tail: string | undefined): string | undefined => {
  let text = ""
  for (const key of path) {
    text += typeof key === "number" ? `[${key}]` : `${text === "" ? "" : "."}${String(key)}`
  }
  if (tail === undefined) return text === "" ? undefined : text
  return text === "" ? tail : tail.startsWith("[") ? `${text}${tail}` : `${text}.${tail}`
}

const hasMessage = (ast: AST.AST) => Option.isSome(AST.getMessageAnnotation(ast))

/**
 * Whether a type error's message shows the value it was given, whole, or its first eight characters (as
 * JSON.parse's excerpt shows a string), or its JSON. A message the schema's author wrote without the value is kept.
 */
const quotes = (issue: ParseResult.Type): boolean => {
  const message = issue.message
  if (message === undefined) return false
  const actual = issue.actual
  const text = typeof actual === "string" ? actual : JSON.stringify(actual) ?? ""
  return text.length > 0 && (message.includes(text) || message.includes(text.slice(0, 8)))
}

const collect = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>, out: Array<Issue>): void => {
  if (out.length >= maxIssues) return
  switch (issue._tag) {
    case "Pointer":
      collect(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])], out)
      return
    case "Composite":
      // Every failing field of a struct or an array; a union's alternatives are one rule ("one of the shapes").
      if (issue.ast._tag !== "Union" && !hasMessage(issue.ast)) {
        for (const inner of Array.isArray(issue.issues) ? issue.issues : [issue.issues]) collect(inner, path, out)
        return
      }
      break
    case "Transformation":
      if (!hasMessage(issue.ast)) {
        // A failed decoding's own message may quote what it could not decode (`Unable to decode "…" into a number`,
        // JSON.parse's excerpt): the model's answer. Then the rule, in words, instead.
        if (issue.kind === "Transformation" && issue.issue._tag === "Type" && quotes(issue.issue)) {
          const at = pathText(path, undefined)
          const rule = `must be ${Params.expected(issue.ast.to)}`
          out.push(at === undefined ? { issue: rule } : { path: at, issue: rule })
          return
        }
        collect(issue.issue, path, out)
        return
      }
      break
    case "Refinement":
      if (issue.kind === "From") {
        collect(issue.issue, path, out)
        return
      }
      break
  }
  const described = Params.describe(issue)
  const at = pathText(path, described.field)
  out.push(at === undefined ? { issue: described.issue } : { path: at, issue: described.issue })
}

/**
 * The fields at fault and the rules they broke (at most `maxIssues`), from the schema, never from the values.
 *
 * @internal
 */
export const issuesOf = (issue: ParseResult.ParseIssue): ReadonlyArray<Issue> => {
  const out: Array<Issue> = []
  collect(issue, [], out)
  return out
}
