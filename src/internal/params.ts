/**
 * Client-side checks of what a caller passes: parameters decoded with their Schema, and ids that go into URL
 * paths. A failure is an `InvalidParamsError` naming the public operation, the field and the rule, in one short
 * line; nothing is sent.
 *
 * The issue is described from the schema, never from the value: a metadata value may be large or private, and
 * Schema's own formatters print the actual value ("Expected string, actual {...}") and a dump of the whole schema.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import * as BatchError from "../BatchError.js"
import * as PathSegment from "./pathSegment.js"

/** One line for the first leaf of a parse issue: where, and which rule. @internal */
export interface Described {
  readonly field: string | undefined
  readonly issue: string
}

/** What a value of `ast` must be, in words (`a number`, `one of "a", "b"`). @internal */
export const expected = (ast: AST.AST): string => {
  // The keywords first: Schema titles them "string", "number", which reads worse than "a string".
  switch (ast._tag) {
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
  }
  const title = Option.getOrUndefined(AST.getTitleAnnotation(ast)) ??
    Option.getOrUndefined(AST.getIdentifierAnnotation(ast))
  if (title !== undefined) return title
  switch (ast._tag) {
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union":
      return ast.types.every((t) => t._tag === "Literal")
        ? `one of ${ast.types.map((t) => t._tag === "Literal" ? JSON.stringify(t.literal) : "").join(", ")}`
        : "one of the allowed shapes"
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "an array"
    case "Refinement":
      return expected(ast.from)
    case "Transformation":
      return expected(ast.to)
    default:
      return String(ast)
  }
}

const isLiteralUnion = (ast: AST.AST): boolean =>
  ast._tag === "Union" && ast.types.every((member) => member._tag === "Literal")

const customMessage = (issue: ParseResult.ParseIssue): string | undefined => {
  if (issue._tag === "Pointer" || issue._tag === "Unexpected") return undefined
  // A refinement's message is about its own rule, not about a value that failed before it (a number for a string).
  if (issue._tag === "Refinement" && issue.kind === "From") return undefined
  const annotation = AST.getMessageAnnotation(issue.ast)
  if (Option.isNone(annotation)) return undefined
  const message = annotation.value(issue)
  return typeof message === "string" ? message : undefined
}

/**
 * The first leaf of an issue, with the path that leads to it. Messages come from the schema's own `message`
 * annotations where it has them, else from the expected type.
 *
 * @internal
 */
export const describe = (root: ParseResult.ParseIssue): Described => {
  const path: Array<PropertyKey> = []
  let issue: ParseResult.ParseIssue = root
  for (;;) {
    const custom = customMessage(issue)
    if (custom !== undefined) return { field: fieldOf(path), issue: custom }
    switch (issue._tag) {
      case "Pointer":
        for (const key of Array.isArray(issue.path) ? issue.path : [issue.path]) path.push(key)
        issue = issue.issue
        continue
      case "Composite": {
        // A value that is none of a set of literals (an endpoint): the set, not the first literal it is not.
        if (isLiteralUnion(issue.ast)) return { field: fieldOf(path), issue: `must be ${expected(issue.ast)}` }
        const first = Array.isArray(issue.issues) ? issue.issues[0] : issue.issues
        if (first === undefined) return { field: fieldOf(path), issue: `must be ${expected(issue.ast)}` }
        issue = first
        continue
      }
      case "Refinement":
      case "Transformation":
        issue = issue.issue
        continue
      case "Missing":
        return { field: fieldOf(path), issue: "is required" }
      case "Unexpected":
        return { field: fieldOf(path), issue: "is not a known parameter" }
      case "Forbidden":
        return { field: fieldOf(path), issue: "cannot be checked synchronously" }
      case "Type":
        // A filter's own words (`holds at most 16 key-value pairs, got 17`) where it gave some.
        return { field: fieldOf(path), issue: issue.message ?? `must be ${expected(issue.ast)}` }
    }
  }
}

const fieldOf = (path: ReadonlyArray<PropertyKey>): string | undefined =>
  path.length === 0
    ? undefined
    : path.map((key, i) => typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`).join("")

/**
 * An `InvalidParamsError` for `operation`, with `field` and `issue` in its one-line message.
 *
 * @internal
 */
export const invalid = (operation: string, issue: string, field?: string): BatchError.InvalidParamsError =>
  new BatchError.InvalidParamsError({
    operation,
    issue,
    ...(field === undefined ? {} : { field })
  })

/**
 * Decodes `input` with `schema` (excess properties are refused: a misspelt option must not be ignored).
 *
 * @internal
 */
export const validate = <A, I>(
  operation: string,
  schema: Schema.Schema<A, I>,
  input: unknown
): Effect.Effect<A, BatchError.InvalidParamsError> => {
  const decoded = ParseResult.decodeUnknownEither(schema, { onExcessProperty: "error" })(input)
  if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
  const { field, issue } = describe(decoded.left)
  return Effect.fail(invalid(operation, issue, field))
}

/** The `InvalidParamsError` of an unsafe id, or `undefined` when it is safe. @internal */
export const idIssue = (
  operation: string,
  kind: "batch" | "file",
  id: string
): BatchError.InvalidParamsError | undefined => {
  const rule = typeof id === "string" ? PathSegment.issue(id) : "must be a string"
  return rule === undefined ? undefined : invalid(operation, rule, kind === "batch" ? "batchId" : "fileId")
}

/**
 * `prefix` + the URI-encoded id, or an `InvalidParamsError` for an id that could change the path (the rule of
 * `Batch.BatchId`, checked without a Schema decode: this is on every call's path).
 *
 * @internal
 */
export const path = (
  operation: string,
  kind: "batch" | "file",
  prefix: string,
  id: string
): Effect.Effect<string, BatchError.InvalidParamsError> => {
  const error = idIssue(operation, kind, id)
  return error === undefined ? Effect.succeed(`${prefix}${encodeURIComponent(id)}`) : Effect.fail(error)
}
