/**
 * A fast path for decoding API responses with a Schema.
 *
 * `ParseResult.decodeUnknownEither` interprets the schema's AST generically and tracks every issue as it goes:
 * about 14 µs for one `Batch`, as much as the official SDK's whole per-batch cost when listing. Responses are
 * valid almost always, so this module compiles the AST once into plain closures that only answer "here is the
 * decoded value" or "not valid" (~1 µs), and falls back to the real Schema decode for anything invalid, so the
 * error (and its message) is exactly Schema's. Nodes it does not know (suspensions, declarations with type
 * parameters, other transformations) make the whole schema use Schema's decoder.
 *
 * Fields the schema does not know are kept (Schema's `onExcessProperty: "preserve"`, on both paths): a field the API
 * adds tomorrow stays readable (`Batch.unknownFields`) and survives a round trip through JSON, without a release.
 *
 * The result is the same value Schema's decode produces: test/decoder.test.ts checks that on the fixtures and on
 * thousands of mutated inputs.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"

const invalid: unique symbol = Symbol("invalid")
type Decode = (input: unknown) => unknown
const noOptions: AST.ParseOptions = {}
/** What both paths decode with: unknown fields are kept. */
const preserve: AST.ParseOptions = { onExcessProperty: "preserve" }
const hasOwn = (record: object, key: PropertyKey) => Object.prototype.hasOwnProperty.call(record, key)
/** A plain record; anything else (arrays included) is left to Schema, which is always exact. */
const isRecord = (input: unknown): input is Record<PropertyKey, unknown> =>
  typeof input === "object" && input !== null && !Array.isArray(input)

const isObjectLike = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "TypeLiteral":
    case "TupleType":
    case "Transformation":
    case "Declaration":
    case "Suspend":
      return true
    case "Refinement":
      return isObjectLike(ast.from)
    case "Union":
      return ast.types.some(isObjectLike)
    default:
      return false
  }
}

const compileTypeLiteral = (ast: AST.TypeLiteral): Decode | undefined => {
  const properties: Array<readonly [PropertyKey, Decode, boolean]> = []
  for (const property of ast.propertySignatures) {
    const decode = compile(property.type)
    if (decode === undefined) return undefined
    properties.push([property.name, decode, property.isOptional])
  }
  if (ast.indexSignatures.length > 0) {
    // Records only (no mixed struct + record), keyed by plain strings.
    const [signature, ...more] = ast.indexSignatures
    if (signature === undefined || more.length > 0 || properties.length > 0) return undefined
    if (signature.parameter._tag !== "StringKeyword") return undefined
    const value = compile(signature.type)
    if (value === undefined) return undefined
    return (input) => {
      if (!isRecord(input)) return invalid
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(input)) {
        const decoded = value(input[key])
        if (decoded === invalid) return invalid
        out[key] = decoded
      }
      return out
    }
  }
  // Parallel arrays and a counted loop: this runs for every nested object of every decoded batch.
  const names = properties.map(([name]) => name)
  const decoders = properties.map(([, decode]) => decode)
  const optional = properties.map(([, , isOptional]) => isOptional)
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
      out[name] = decoded
    }
    copyExcess(input, out, known)
    return out
  }
}

/** Copies the fields a struct does not know, as they are (Schema's "preserve"). */
const copyExcess = (
  input: Record<PropertyKey, unknown>,
  out: Record<PropertyKey, unknown>,
  known: ReadonlySet<PropertyKey>
) => {
  for (const key in input) {
    if (!known.has(key) && hasOwn(input, key)) out[key] = input[key]
  }
}

/** How a nullable optional property decodes (see `nullableOptional`). */
interface NullableRule {
  readonly keepsUndefined: boolean
  /** `""` gives no key either (an id the API sends empty for none). */
  readonly dropsEmpty: boolean
}

/**
 * How a property transformation decodes, when it is `optionalWith(x, { nullable: true })` as far as decoding goes:
 * same key, absent and `null` give no key, any other value passes through unchanged; an explicit `undefined`
 * either gives no key or passes through (`keepsUndefined`), and `""` either passes through or gives no key
 * (`dropsEmpty`, `Batch`'s optional ids). Probed on the function itself, so a transformation that does anything else
 * is never mistaken for one.
 */
const nullableOptional = (t: AST.PropertySignatureTransformation): NullableRule | undefined => {
  if (t.from !== t.to) return undefined
  const probe = {}
  const passed = t.decode(Option.some(probe))
  const text = t.decode(Option.some("x"))
  const undef = t.decode(Option.some(undefined))
  const empty = t.decode(Option.some(""))
  const fits = Option.isNone(t.decode(Option.none())) && Option.isNone(t.decode(Option.some(null))) &&
    Option.isSome(passed) && passed.value === probe && Option.isSome(text) && text.value === "x" &&
    (Option.isNone(undef) || undef.value === undefined) && (Option.isNone(empty) || empty.value === "")
  return fits ? { keepsUndefined: Option.isSome(undef), dropsEmpty: Option.isNone(empty) } : undefined
}

/** One pass for the common case: a struct whose transformed properties are all nullable optionals. */
const compileNullableStruct = (
  from: AST.TypeLiteral,
  nullable: ReadonlyMap<PropertyKey, NullableRule>
): Decode | undefined => {
  const names: Array<PropertyKey> = []
  const decoders: Array<Decode> = []
  const optional: Array<boolean> = []
  const dropsNull: Array<boolean> = []
  const dropsUndefined: Array<boolean> = []
  const dropsEmpty: Array<boolean> = []
  for (const property of from.propertySignatures) {
    const decode = compile(property.type)
    if (decode === undefined) return undefined
    const rule = nullable.get(property.name)
    names.push(property.name)
    decoders.push(decode)
    optional.push(property.isOptional)
    dropsNull.push(rule !== undefined)
    dropsUndefined.push(rule !== undefined && !rule.keepsUndefined)
    dropsEmpty.push(rule !== undefined && rule.dropsEmpty)
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
      if (
        (decoded === null && dropsNull[i]) || (decoded === undefined && dropsUndefined[i]) ||
        (decoded === "" && dropsEmpty[i])
      ) continue
      out[name] = decoded
    }
    copyExcess(input, out, known)
    return out
  }
}

const compileTransformation = (ast: AST.Transformation): Decode | undefined => {
  // Only struct-level nullable optionals (`optionalWith(x, { nullable: true })`): their `to` side holds by
  // construction, which is why it is not checked again.
  if (!AST.isTypeLiteralTransformation(ast.transformation)) return undefined
  const transformations = ast.transformation.propertySignatureTransformations
  const rules = new Map<PropertyKey, NullableRule>()
  for (const t of transformations) {
    const rule = nullableOptional(t)
    if (rule === undefined) return undefined
    rules.set(t.from, rule)
  }
  if (ast.from._tag === "TypeLiteral" && ast.from.indexSignatures.length === 0) {
    return compileNullableStruct(ast.from, rules)
  }
  // Other property transformations (defaults, renames) are left to Schema, which also checks their output.
  return undefined
}

const compile = (ast: AST.AST): Decode | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (input) => typeof input === "string" ? input : invalid
    case "NumberKeyword":
      return (input) => typeof input === "number" ? input : invalid
    case "BooleanKeyword":
      return (input) => typeof input === "boolean" ? input : invalid
    case "UndefinedKeyword":
      return (input) => input === undefined ? input : invalid
    case "UnknownKeyword":
    case "AnyKeyword":
      return (input) => input
    case "Literal": {
      const literal = ast.literal
      return (input) => input === literal ? input : invalid
    }
    case "Union": {
      // A union of literals (a status, an endpoint) is one set lookup.
      if (ast.types.every((member) => member._tag === "Literal")) {
        const literals = new Set<unknown>(
          ast.types.map((member) => member._tag === "Literal" ? member.literal : undefined)
        )
        return (input) => literals.has(input) ? input : invalid
      }
      // Schema tries object members whose literal fields match first; with more than one object-like member the
      // order could differ from ours, so such unions are left to Schema. Primitives and one object never overlap.
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
          if (decoded !== invalid) return decoded
        }
        return invalid
      }
    }
    case "Refinement": {
      const from = compile(ast.from)
      if (from === undefined) return undefined
      return (input) => {
        const decoded = from(input)
        if (decoded === invalid) return invalid
        return Option.isNone(ast.filter(decoded, noOptions, ast)) ? decoded : invalid
      }
    }
    case "TupleType": {
      // Arrays (`Schema.Array(x)`) only.
      const [rest, ...more] = ast.rest
      if (ast.elements.length > 0 || rest === undefined || more.length > 0) return undefined
      const item = compile(rest.type)
      if (item === undefined) return undefined
      return (input) => {
        if (!Array.isArray(input)) return invalid
        const out: Array<unknown> = new Array(input.length)
        for (let i = 0; i < input.length; i++) {
          const decoded = item(input[i])
          if (decoded === invalid) return invalid
          out[i] = decoded
        }
        return out
      }
    }
    case "Declaration": {
      // `Schema.declare(guard)` without type parameters: its parser answers synchronously with an Either.
      if (ast.typeParameters.length > 0) return undefined
      const parse = ast.decodeUnknown()
      return (input) => {
        const result = parse(input, preserve, ast)
        return Either.isEither(result) && Either.isRight(result) ? result.right : invalid
      }
    }
    case "TypeLiteral":
      return compileTypeLiteral(ast)
    case "Transformation":
      return compileTransformation(ast)
    default:
      return undefined
  }
}

/**
 * Decodes an unknown input, failing with Schema's issue.
 *
 * @internal
 */
export type Decoder<A> = (input: unknown) => Either.Either<A, ParseResult.ParseIssue>

/**
 * A decoder for `schema`: the compiled fast path when the schema is within reach, Schema's own decode otherwise
 * and for every input the fast path rejects.
 *
 * @internal
 */
export const make = <A, I>(
  schema: Schema.Schema<A, I>
): Decoder<A> => {
  const slow = ParseResult.decodeUnknownEither(schema, preserve)
  const fast = compile(schema.ast)
  if (fast === undefined) return slow
  return (input) => {
    const decoded = fast(input)
    // The fast path decodes exactly as Schema does (see the module comment), so its value is an A.
    return decoded === invalid ? slow(input) : Either.right(decoded as A)
  }
}

/**
 * Whether `make(schema)` takes the fast path (for tests).
 *
 * @internal
 */
export const isCompiled = (schema: Schema.Schema.Any): boolean => compile(schema.ast) !== undefined
