/**
 * The implementation side of `StructuredOutput`: which schemas take the answer's text as it is, and describing a
 * parse issue by its fields and rules, never by the values found there (finding the answer is `answer.ts`, the
 * root's file verbatim).
 *
 * The Effect 4 edition reads Effect 4's `SchemaIssue` tree. Its issues carry no value unless the parse is asked to
 * report it (`reportInput`); `StructuredOutput` asks, only so that a message quoting the value it rejected can be
 * told apart and worded by its rule instead. The values themselves never leave this module.
 *
 * @internal
 */
import * as SchemaAST from "effect/SchemaAST"
import * as SchemaIssue from "effect/SchemaIssue"
import type * as BatchError from "../BatchError.js"
import * as Params from "./params.js"

/** How the caller's schema is run: every issue, and the value each one rejected (see the module comment). @internal */
export const parseOptions = { errors: "all", reportInput: true } as const

const isStringLike = (ast: SchemaAST.AST): boolean => {
  switch (ast._tag) {
    case "String":
    case "TemplateLiteral":
      return true
    case "Literal":
      return typeof ast.literal === "string"
    case "Union":
      return ast.types.every(isStringLike)
    default:
      return false
  }
}

/**
 * Whether a schema takes the answer's text as it is: its encoded side is a string (`Schema.String`, a literal, a
 * template, `Schema.fromJsonString(...)`). Any other schema takes the text parsed as JSON.
 *
 * @internal
 */
export const takesText = (ast: SchemaAST.AST): boolean => isStringLike(SchemaAST.toEncoded(ast))

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

const stringAnnotation = (
  annotations: { readonly [key: string]: unknown } | undefined,
  key: "message" | "expected"
): string | undefined => {
  const value = annotations?.[key]
  return typeof value === "string" ? value : undefined
}

/** No value known at this point of the tree. */
const unknownValue: unique symbol = Symbol("unknownValue")
type Value = unknown | typeof unknownValue

/** The value an issue is about: the one it reports, else the one found at its path in its parent's. */
const valueOf = (issue: SchemaIssue.Issue, parent: Value): Value => SchemaIssue.hasInput(issue) ? issue.input : parent

const at = (value: Value, path: ReadonlyArray<PropertyKey>): Value => {
  let here = value
  for (const key of path) {
    if (typeof here !== "object" || here === null || !Object.hasOwn(here, key)) return unknownValue
    here = Reflect.get(here, key)
  }
  return here
}

/**
 * Whether a message shows the value it was given: whole, its first eight characters (as JSON.parse's excerpt shows
 * a string), or its JSON.
 */
const quotes = (message: string, value: Value): boolean => {
  if (value === unknownValue) return false
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? ""
  return text.length > 0 && (message.includes(text) || message.includes(text.slice(0, 8)))
}

/**
 * The rule a transformation broke (the `Encoding` of `ast` failed with `leaf`): the transformation's own message,
 * unless it quotes the value it could not decode (`cannot read "…"`): the model's answer. Then what it expected,
 * in words.
 */
const transformationRule = (ast: SchemaAST.AST, leaf: SchemaIssue.InvalidValue, value: Value): string => {
  const message = stringAnnotation(leaf.annotations, "message")
  if (message !== undefined && !quotes(message, value)) return message
  return `must be ${stringAnnotation(leaf.annotations, "expected") ?? Params.expected(ast)}`
}

const push = (out: Array<Issue>, path: ReadonlyArray<PropertyKey>, field: string | undefined, issue: string) => {
  const at = pathText(path, field)
  out.push(at === undefined ? { issue } : { path: at, issue })
}

const collect = (
  issue: SchemaIssue.Issue,
  path: ReadonlyArray<PropertyKey>,
  parent: Value,
  out: Array<Issue>
): void => {
  if (out.length >= maxIssues) return
  const value = valueOf(issue, parent)
  switch (issue._tag) {
    case "Pointer":
      collect(issue.issue, [...path, ...issue.path], at(value, issue.path), out)
      return
    case "Composite": {
      // Every failing field of a struct or an array, and every failed check of a value; a struct with a message of
      // its own is one rule, in its words.
      const own = stringAnnotation(issue.ast.annotations, "message")
      if (own !== undefined) return push(out, path, undefined, own)
      for (const inner of issue.issues) collect(inner, path, value, out)
      return
    }
    case "Filter": {
      // The schema author's rule, in their words; else what the check expects (`a finite number`).
      const own = stringAnnotation(issue.filter.annotations, "message")
      const expected = stringAnnotation(issue.filter.annotations, "expected")
      if (own !== undefined) return push(out, path, undefined, own)
      if (expected !== undefined) return push(out, path, undefined, `must be ${expected}`)
      collect(issue.issue, path, value, out)
      return
    }
    case "Encoding":
      if (issue.issue._tag === "InvalidValue") {
        return push(out, path, undefined, transformationRule(issue.ast, issue.issue, valueOf(issue.issue, value)))
      }
      collect(issue.issue, path, value, out)
      return
    default: {
      // A union's alternatives are one rule ("one of the shapes"); a leaf is described from the schema.
      const described = Params.describe(issue)
      return push(out, path, described.field, described.issue)
    }
  }
}

/**
 * The fields at fault and the rules they broke (at most `maxIssues`), from the schema, never from the values.
 * `input` is what was decoded: only compared with the messages (see `transformationRule`).
 *
 * @internal
 */
export const issuesOf = (issue: SchemaIssue.Issue, input: unknown): ReadonlyArray<Issue> => {
  const out: Array<Issue> = []
  collect(issue, [], input, out)
  return out
}
