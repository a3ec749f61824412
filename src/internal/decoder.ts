/**
 * A fast path for decoding API responses with a Schema.
 *
 * `ParseResult.decodeUnknownEither` interprets the schema's AST generically and tracks every issue as it goes:
 * as much as the official SDK's whole per-batch cost when listing. Responses are valid almost always, so this
 * module compiles the AST once into decoders that only answer "here is the decoded value" or "not valid", and falls
 * back to the real Schema decode for anything invalid, so the error (and its message) is exactly Schema's. A struct
 * becomes straight-line code with its property names as constants (generated once with `new Function`, which V8
 * optimizes far better than reading names from an array), or, where a runtime refuses code from strings, a loop that
 * decodes the same. Nodes it does not know (suspensions, declarations with type parameters, other
 * transformations) make the whole schema use Schema's decoder.
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

/** Which decoded values of a field give no key (a nullable optional's `null`, an optional id's `""`). */
interface Drops {
  readonly null: boolean
  readonly undefined: boolean
  readonly empty: boolean
}

const noDrops: Drops = { null: false, undefined: false, empty: false }

/** One property of a struct, as the struct decoder needs it. */
interface Field {
  readonly name: PropertyKey
  readonly decode: Decode
  /** A JavaScript expression over `v`, true when `v` is valid as it is (see `inlineCheck`); else `decode` is called. */
  readonly check: string | undefined
  readonly optional: boolean
  readonly drops: Drops
}

/**
 * The check of a type that decodes a value to itself, as a JavaScript expression over `v`: a primitive keyword, a
 * literal, a union of them. `undefined` for anything else.
 */
const inlineCheck = (ast: AST.AST): string | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return `typeof v === "string"`
    case "NumberKeyword":
      return `typeof v === "number"`
    case "BooleanKeyword":
      return `typeof v === "boolean"`
    case "UnknownKeyword":
    case "AnyKeyword":
      return "true"
    case "Literal":
      return typeof ast.literal === "bigint" ? undefined : `v === ${JSON.stringify(ast.literal)}`
    case "Union": {
      const members = ast.types.map(inlineCheck)
      return members.every((member) => member !== undefined) ? `(${members.join(" || ")})` : undefined
    }
    default:
      return undefined
  }
}

/** Whether this runtime compiles code from strings (a strict Content-Security-Policy, or some edge runtimes, refuse). */
const generates: boolean = (() => {
  try {
    return typeof new Function("return 1") === "function"
  } catch {
    return false
  }
})()

/** Whether the decoder being compiled may generate code (`makeInterpreted` turns it off). */
let generating = generates

/** The body of a generated struct decoder (see `struct`). */
const structSource = (fields: ReadonlyArray<Field>): string => {
  const lines = [
    "return function(input) {",
    "if (typeof input !== \"object\" || input === null || Array.isArray(input)) return invalid",
    "const out = {}",
    "let v, d, present = 0"
  ]
  fields.forEach((field, i) => {
    const key = JSON.stringify(field.name)
    const drops = [
      ...(field.drops.null ? ["d === null"] : []),
      ...(field.drops.undefined ? ["d === undefined"] : []),
      ...(field.drops.empty ? ["d === \"\""] : [])
    ]
    lines.push(
      `v = input[${key}]`,
      // Parsed JSON never holds `undefined`: only then is the (slower) own-key check needed.
      `if (v !== undefined || hasOwn(input, ${key})) {`,
      "present++",
      field.check === undefined
        ? `d = decoders[${i}](v); if (d === invalid) return invalid`
        : `if (!(${field.check})) return invalid; d = v`,
      drops.length === 0 ? `out[${key}] = d` : `if (!(${drops.join(" || ")})) out[${key}] = d`,
      field.optional ? "}" : "} else return invalid"
    )
  })
  lines.push(
    // Fields the struct does not know are kept: looked for only when the input has more keys than it knows of.
    "let keys = 0",
    "for (const key in input) keys++",
    "if (keys > present) copyExcess(input, out, known)",
    "return out",
    "}"
  )
  return lines.join("\n")
}

/**
 * A struct's decoder. Generated as straight-line code with the property names as constants where the runtime allows
 * it (a property read or write by a constant name is what V8 optimizes best; by a name from an array it is a
 * dictionary lookup each time): measured faster on a page of batches (bench/decode-micro.ts). Else, and for symbol
 * keys, a loop over the fields that decodes the same.
 */
const struct = (fields: ReadonlyArray<Field>): Decode => {
  const known = new Set<PropertyKey>(fields.map((field) => field.name))
  const decoders = fields.map((field) => field.decode)
  if (generating && fields.every((field) => typeof field.name === "string")) {
    const make = new Function("invalid", "hasOwn", "decoders", "copyExcess", "known", structSource(fields))
    const generated: unknown = make(invalid, hasOwn, decoders, copyExcess, known)
    if (typeof generated === "function") return generated as Decode
  }
  const count = fields.length
  return (input) => {
    if (!isRecord(input)) return invalid
    const out: Record<PropertyKey, unknown> = {}
    for (let i = 0; i < count; i++) {
      const field = fields[i]!
      const value = input[field.name]
      if (value === undefined && !hasOwn(input, field.name)) {
        if (field.optional) continue
        return invalid
      }
      const decoded = field.decode(value)
      if (decoded === invalid) return invalid
      if (
        (decoded === null && field.drops.null) || (decoded === undefined && field.drops.undefined) ||
        (decoded === "" && field.drops.empty)
      ) continue
      out[field.name] = decoded
    }
    copyExcess(input, out, known)
    return out
  }
}

const compileTypeLiteral = (ast: AST.TypeLiteral): Decode | undefined => {
  const fields: Array<Field> = []
  for (const property of ast.propertySignatures) {
    const decode = compile(property.type)
    if (decode === undefined) return undefined
    fields.push({
      name: property.name,
      decode,
      check: inlineCheck(property.type),
      optional: property.isOptional,
      drops: noDrops
    })
  }
  if (ast.indexSignatures.length > 0) {
    // Records only (no mixed struct + record), keyed by plain strings.
    const [signature, ...more] = ast.indexSignatures
    if (signature === undefined || more.length > 0 || fields.length > 0) return undefined
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
  return struct(fields)
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
  const fields: Array<Field> = []
  for (const property of from.propertySignatures) {
    const decode = compile(property.type)
    if (decode === undefined) return undefined
    const rule = nullable.get(property.name)
    fields.push({
      name: property.name,
      decode,
      check: inlineCheck(property.type),
      optional: property.isOptional,
      drops: rule === undefined
        ? noDrops
        : { null: true, undefined: !rule.keepsUndefined, empty: rule.dropsEmpty }
    })
  }
  return struct(fields)
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

/**
 * `make` without generated code, as in a runtime that refuses it (for tests: both paths must decode as Schema does).
 *
 * @internal
 */
export const makeInterpreted = <A, I>(schema: Schema.Schema<A, I>): Decoder<A> => {
  generating = false
  try {
    return make(schema)
  } finally {
    generating = generates
  }
}
