/**
 * A fast path for decoding API responses with a Schema, built on Effect 4's public `SchemaAST`.
 *
 * Schema's own decode interprets the AST generically, through Effects, and tracks every issue as it goes: several
 * times this fast path's cost for one `Batch`, measured when it was written. Responses are valid almost always, so
 * this module compiles the AST once into plain closures that only answer "here is the decoded value" or "not
 * valid", and falls back to Schema's real decode for anything invalid, so the error (and its message) is exactly
 * Schema's. Nodes it does not know (suspensions, declarations with type parameters, unions of several objects,
 * structs with a rest, other transformations) make the whole schema use Schema's decoder.
 *
 * What it reads of the AST is public: node tags and fields, `checks` (each filter's `run`), `context` (optional
 * keys), `encoding` (one link whose decode getter is a `TransformOptional`, probed to be the wire model's
 * null-dropping optional, or its optional id's, which drops `""` too), and a declaration's `run` when its answer is an `Exit`.
 *
 * Fields the schema does not know are kept, at every level of a struct: a field the API adds tomorrow stays
 * readable (`Batch.unknownFields`) and survives a round trip through JSON, without a release. Effect 3 did this on
 * both paths (`onExcessProperty: "preserve"`); Effect 4 has no such option, so on Effect 4 only the fast path
 * keeps them (the schemas the library decodes responses with all take it; test/decoder.test.ts checks that).
 *
 * The result is Schema's value plus those fields: test/decoder.test.ts checks that on the fixtures and on
 * thousands of mutated inputs.
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import type * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"
import * as SchemaTransformation from "effect/SchemaTransformation"

const invalid: unique symbol = Symbol("invalid")
/** A property whose value decodes to "no key" (the wire model's `null`): the key is left out. */
const absent: unique symbol = Symbol("absent")
type Decode = (input: unknown) => unknown
const noOptions: SchemaAST.ParseOptions = {}
const hasOwn = (record: object, key: PropertyKey) => Object.prototype.hasOwnProperty.call(record, key)
/** A plain record; anything else (arrays included) is left to Schema, which is always exact. */
const isRecord = (input: unknown): input is Record<PropertyKey, unknown> =>
  typeof input === "object" && input !== null && !Array.isArray(input)

const isObjectLike = (ast: SchemaAST.AST): boolean => {
  switch (ast._tag) {
    case "Objects":
    case "Arrays":
    case "Declaration":
    case "Suspend":
    case "ObjectKeyword":
      return true
    case "Union":
      return ast.types.some(isObjectLike)
    default:
      return false
  }
}

/** The filters of a node, groups flattened. */
const filtersOf = (checks: SchemaAST.Checks): ReadonlyArray<SchemaAST.Filter<unknown>> =>
  checks.flatMap((check) => check._tag === "Filter" ? [check] : filtersOf(check.checks))

/** Runs a node's checks on its decoded value (Schema runs them after the node itself has decoded). */
const withChecks = (ast: SchemaAST.AST, decode: Decode): Decode => {
  if (ast.checks === undefined) return decode
  const filters = filtersOf(ast.checks)
  return (input) => {
    const decoded = decode(input)
    if (decoded === invalid) return invalid
    for (const filter of filters) {
      if (filter.run(decoded, ast, noOptions) !== undefined) return invalid
    }
    return decoded
  }
}

/**
 * The wire model's null-dropping optional (`internal/nullable.ts`): a decode getter that maps absent, `null` and
 * `undefined` to absent and passes any other value through unchanged, except perhaps `""` (an optional id's: it
 * gives absent too). Probed on the function itself, so a transformation that does anything else is never mistaken
 * for it. `undefined` when it is not one; else whether `""` gives no key.
 */
const nullishDrop = (transformation: SchemaAST.Link["transformation"]): { readonly empty: boolean } | undefined => {
  if (!SchemaTransformation.isTransformation(transformation)) return undefined
  const getter = transformation.decode
  if (getter._tag !== "TransformOptional") return undefined
  const probe = {}
  const passed = getter.transform(Option.some(probe))
  const text = getter.transform(Option.some("x"))
  const zero = getter.transform(Option.some(0))
  const empty = getter.transform(Option.some(""))
  const drops = Option.isNone(getter.transform(Option.none())) && Option.isNone(getter.transform(Option.some(null))) &&
    Option.isNone(getter.transform(Option.some(undefined))) &&
    Option.isSome(passed) && passed.value === probe && Option.isSome(text) && text.value === "x" &&
    Option.isSome(zero) && zero.value === 0 && (Option.isNone(empty) || empty.value === "")
  return drops ? { empty: Option.isNone(empty) } : undefined
}

/** A node with an encoding: only the null-dropping optional key (a property's type), else Schema decodes. */
const compileEncoded = (ast: SchemaAST.AST, encoding: SchemaAST.Encoding): Decode | undefined => {
  const [link, ...more] = encoding
  const drop = more.length > 0 || !SchemaAST.isOptional(ast) ? undefined : nullishDrop(link.transformation)
  if (drop === undefined) return undefined
  const from = compile(link.to)
  // Schema decodes the type side again after the transformation (its checks, for one); so does this.
  const to = compile(SchemaAST.toType(ast))
  if (from === undefined || to === undefined) return undefined
  return (input) => {
    const decoded = from(input)
    if (decoded === invalid) return invalid
    return decoded === null || decoded === undefined || (drop.empty && decoded === "") ? absent : to(decoded)
  }
}

/** Copies the fields a struct does not know, as they are. */
const copyExcess = (
  input: Record<PropertyKey, unknown>,
  out: Record<PropertyKey, unknown>,
  known: ReadonlySet<PropertyKey>
) => {
  for (const key in input) {
    if (!known.has(key) && hasOwn(input, key)) out[key] = input[key]
  }
}

const compileObjects = (ast: SchemaAST.Objects): Decode | undefined => {
  if (ast.encodingChecks !== undefined) return undefined
  if (ast.indexSignatures.length > 0) {
    // Records only (no struct with a rest), keyed by plain strings.
    const [signature, ...more] = ast.indexSignatures
    if (signature === undefined || more.length > 0 || ast.propertySignatures.length > 0) return undefined
    if (signature.parameter._tag !== "String" || signature.parameter.checks !== undefined) return undefined
    const value = compile(signature.type)
    if (value === undefined) return undefined
    return (input) => {
      if (!isRecord(input)) return invalid
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(input)) {
        const decoded = value(input[key])
        if (decoded === invalid || decoded === absent) return invalid
        out[key] = decoded
      }
      return out
    }
  }
  // Parallel arrays and a counted loop: this runs for every nested object of every decoded batch.
  const names: Array<PropertyKey> = []
  const decoders: Array<Decode> = []
  const optional: Array<boolean> = []
  for (const property of ast.propertySignatures) {
    const decode = compile(property.type)
    if (decode === undefined) return undefined
    names.push(property.name)
    decoders.push(decode)
    optional.push(SchemaAST.isOptional(property.type))
  }
  const count = names.length
  const known = new Set<PropertyKey>(names)
  return (input) => {
    if (!isRecord(input)) return invalid
    const out: Record<PropertyKey, unknown> = {}
    for (let i = 0; i < count; i++) {
      const name = names[i]!
      const value = input[name]
      // Parsed JSON never holds `undefined`: only then is the (slower) own-key check needed.
      if (value === undefined && !hasOwn(input, name)) {
        if (optional[i]) continue
        return invalid
      }
      const decoded = decoders[i]!(value)
      if (decoded === invalid) return invalid
      if (decoded !== absent) out[name] = decoded
    }
    copyExcess(input, out, known)
    return out
  }
}

const compileUnion = (ast: SchemaAST.Union): Decode | undefined => {
  if (ast.encodingChecks !== undefined || ast.options?.mode === "oneOf") return undefined
  // A union of literals (a status, an endpoint) is one set lookup.
  if (ast.types.every((member) => member._tag === "Literal" && member.checks === undefined)) {
    const literals = new Set<unknown>(ast.types.map((member) => member._tag === "Literal" ? member.literal : undefined))
    return (input) => literals.has(input) ? input : invalid
  }
  // Schema chooses among object members by their fields; with more than one object-like member the order could
  // differ from ours, so such unions are left to Schema. Primitives and one object never overlap.
  if (ast.types.filter(isObjectLike).length > 1) return undefined
  const members: Array<Decode> = []
  for (const member of ast.types) {
    const decode = compile(member)
    if (decode === undefined) return undefined
    members.push(decode)
  }
  return (input) => {
    for (const decode of members) {
      const decoded = decode(input)
      if (decoded !== invalid && decoded !== absent) return decoded
    }
    return invalid
  }
}

const compileArrays = (ast: SchemaAST.Arrays): Decode | undefined => {
  // Arrays (`Schema.Array(x)`) only.
  const [rest, ...more] = ast.rest
  if (ast.encodingChecks !== undefined || ast.elements.length > 0 || rest === undefined || more.length > 0) {
    return undefined
  }
  const item = compile(rest)
  if (item === undefined) return undefined
  return (input) => {
    if (!Array.isArray(input)) return invalid
    const out: Array<unknown> = new Array(input.length)
    for (let i = 0; i < input.length; i++) {
      const decoded = item(input[i])
      if (decoded === invalid || decoded === absent) return invalid
      out[i] = decoded
    }
    return out
  }
}

const compileDeclaration = (ast: SchemaAST.Declaration): Decode | undefined => {
  // `Schema.declare(guard)`: no type parameters, and its parser answers synchronously with an Exit.
  if (ast.typeParameters.length > 0 || ast.encodingChecks !== undefined) return undefined
  const parse = ast.run(ast.typeParameters)
  return (input) => {
    const result = parse(input, ast, noOptions)
    return Exit.isExit(result) && Exit.isSuccess(result) ? result.value : invalid
  }
}

const compileNode = (ast: SchemaAST.AST): Decode | undefined => {
  switch (ast._tag) {
    case "String":
      return (input) => typeof input === "string" ? input : invalid
    case "Number":
      return (input) => typeof input === "number" ? input : invalid
    case "Boolean":
      return (input) => typeof input === "boolean" ? input : invalid
    case "Null":
      return (input) => input === null ? input : invalid
    case "Undefined":
      return (input) => input === undefined ? input : invalid
    case "Unknown":
    case "Any":
      return (input) => input
    case "Literal": {
      const literal = ast.literal
      return (input) => input === literal ? input : invalid
    }
    case "Union":
      return compileUnion(ast)
    case "Arrays":
      return compileArrays(ast)
    case "Objects":
      return compileObjects(ast)
    case "Declaration":
      return compileDeclaration(ast)
    default:
      return undefined
  }
}

const compile = (ast: SchemaAST.AST): Decode | undefined => {
  if (ast.encoding !== undefined) return compileEncoded(ast, ast.encoding)
  const decode = compileNode(ast)
  return decode === undefined ? undefined : withChecks(ast, decode)
}

/**
 * Decodes an unknown input, failing with Schema's issue.
 *
 * @internal
 */
export type Decoder<A> = (input: unknown) => Result.Result<A, SchemaIssue.Issue>

/**
 * A decoder for `schema`: the compiled fast path when the schema is within reach, Schema's own decode otherwise
 * and for every input the fast path rejects.
 *
 * @internal
 */
export const make = <S extends Schema.ConstraintDecoder<unknown>>(schema: S): Decoder<S["Type"]> => {
  const slow = SchemaParser.decodeUnknownResult(schema)
  const fast = compile(schema.ast)
  if (fast === undefined) return slow
  return (input) => {
    const decoded = fast(input)
    // The fast path decodes as Schema does (see the module comment), so its value is an S["Type"].
    return decoded === invalid || decoded === absent ? slow(input) : Result.succeed(decoded as S["Type"])
  }
}

/**
 * Whether `make(schema)` takes the fast path (for tests).
 *
 * @internal
 */
export const isCompiled = (schema: Schema.Top): boolean => compile(schema.ast) !== undefined
