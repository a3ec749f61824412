/**
 * Client-side checks of what a caller passes: a Schema issue described in one short line, naming the field and the
 * rule.
 *
 * The issue is described from the schema, never from the value: a metadata value may be large or private, and
 * Schema's own formatters print the actual value ("Expected string, got {...}").
 *
 * The Effect 4 edition: `describe` reads Effect 4's `SchemaIssue` tree; `validate` decodes with `SchemaParser`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import type * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"
import * as BatchError from "../BatchError.js"
import * as PathSegment from "./pathSegment.js"

/** One line for the first leaf of a parse issue: where, and which rule. @internal */
export interface Described {
  readonly field: string | undefined
  readonly issue: string
}

const nameOf = (ast: SchemaAST.AST): string | undefined => {
  const annotations = ast.annotations
  const name = annotations?.["title"] ?? annotations?.["identifier"]
  return typeof name === "string" ? name : undefined
}

/** What a schema expects, in words (`a string`, `one of "a", "b"`, its title or identifier). @internal */
export const expected = (ast: SchemaAST.AST): string => {
  const name = nameOf(ast)
  if (name !== undefined) return name
  switch (ast._tag) {
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union":
      return ast.types.every((type) => type._tag === "Literal")
        ? `one of ${ast.types.map((type) => type._tag === "Literal" ? JSON.stringify(type.literal) : "").join(", ")}`
        : "one of the allowed shapes"
    case "String":
      return "a string"
    case "Number":
      return "a number"
    case "Boolean":
      return "a boolean"
    case "Objects":
      return "an object"
    case "Arrays":
      return "an array"
    default:
      return "a valid value"
  }
}

/** A `message` annotation, when it is a string (a filter's own rule, in its words). */
const messageOf = (annotations: { readonly [key: string]: unknown } | undefined): string | undefined => {
  const message = annotations?.["message"]
  return typeof message === "string" ? message : undefined
}

const fieldOf = (path: ReadonlyArray<PropertyKey>): string | undefined =>
  path.length === 0
    ? undefined
    : path.map((key, i) => typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`).join("")

/**
 * The first leaf of an issue, with the path that leads to it. Messages come from the schema's own `message`
 * annotations (a filter's, or an issue's) where it has them, else from the expected type.
 *
 * @internal
 */
export const describe = (root: SchemaIssue.Issue): Described => {
  const path: Array<PropertyKey> = []
  let issue: SchemaIssue.Issue = root
  for (;;) {
    switch (issue._tag) {
      case "Pointer":
        for (const key of issue.path) path.push(key)
        issue = issue.issue
        continue
      case "Composite": {
        issue = issue.issues[0]
        continue
      }
      case "AnyOf": {
        const first = issue.issues[0]
        if (first === undefined) return { field: fieldOf(path), issue: `must be ${expected(issue.ast)}` }
        issue = first
        continue
      }
      case "Filter": {
        const custom = messageOf(issue.filter.annotations)
        if (custom !== undefined) return { field: fieldOf(path), issue: custom }
        issue = issue.issue
        continue
      }
      case "Encoding":
        issue = issue.issue
        continue
      case "MissingKey":
        return { field: fieldOf(path), issue: messageOf(issue.annotations) ?? "is required" }
      case "UnexpectedKey":
        return { field: fieldOf(path), issue: "is not a known parameter" }
      case "Forbidden":
        return { field: fieldOf(path), issue: messageOf(issue.annotations) ?? "cannot be checked synchronously" }
      case "InvalidType":
        return { field: fieldOf(path), issue: messageOf(issue.ast.annotations) ?? `must be ${expected(issue.ast)}` }
      case "InvalidValue":
        return { field: fieldOf(path), issue: messageOf(issue.annotations) ?? "is not a valid value" }
      case "OneOf":
        return { field: fieldOf(path), issue: `must match exactly one of ${expected(issue.ast)}` }
    }
  }
}

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
export const validate = <S extends Schema.Decoder<unknown>>(
  operation: string,
  schema: S,
  input: unknown
): Effect.Effect<S["Type"], BatchError.InvalidParamsError> => {
  const decoded = SchemaParser.decodeUnknownResult(schema, { onExcessProperty: "error" })(input)
  if (Result.isSuccess(decoded)) return Effect.succeed(decoded.success)
  const { field, issue } = describe(decoded.failure)
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
