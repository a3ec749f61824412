/**
 * Absent or `null`: how every optional field of the wire model decodes (the spec's own examples send `null` where
 * its schema says non-nullable). Effect 3's `Schema.optionalWith(schema, { nullable: true })` is gone in Effect 4;
 * this is the pattern its migration guide gives in its place: the encoded side accepts absent, `undefined` and
 * `null`, the decoded side is an optional key, and a transformation drops the nullish values.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"

/**
 * An optional key that decodes from absent, `undefined` or `null` to an absent key; encoding omits it. Its type is
 * `key?: A | undefined`, as the Effect 3 edition's (`optionalWith` was not exact), though decoding never gives
 * `undefined`: code that builds these values with an `undefined` field compiles against both editions.
 *
 * @internal
 */
export const optional = <S extends Schema.Top>(schema: S) =>
  Schema.optional(Schema.NullOr(schema)).pipe(
    Schema.decodeTo(Schema.optional(Schema.toType(schema)), {
      decode: SchemaGetter.transformOptional(Option.filter(Predicate.isNotNullish)),
      encode: SchemaGetter.passthrough()
    })
  )

/**
 * An optional id the API may send as `""` for none (a Responses-only batch reports `error_file_id: ""`): absent,
 * `undefined`, `null` and `""` all decode to an absent key, so `batch.output_file_id !== undefined` means a file to
 * read. The Effect 3 edition's `optionalId` (`Batch.ts`).
 *
 * @internal
 */
export const optionalId = Schema.optional(Schema.NullOr(Schema.String)).pipe(
  Schema.decodeTo(Schema.optional(Schema.String), {
    decode: SchemaGetter.transformOptional(
      Option.filter((id): id is string => Predicate.isNotNullish(id) && id !== "")
    ),
    encode: SchemaGetter.passthrough()
  })
)
