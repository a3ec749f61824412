/**
 * The public operation a request belongs to, for its errors' messages and `operation` field, and the one span
 * style of every public operation.
 *
 * A request is sent by an operation of the service (`pollBatch`, `downloadFile`, ...), but the user may have called
 * something built on it (`awaitBatch`, `BatchResults.stream`): such an operation names itself for the region it
 * runs (the outermost one wins), and the pipeline reads that name only when it builds an error, so the hot path
 * pays nothing.
 *
 * The Effect 4 edition: the name is a `Context.Reference` (Effect 3: a `FiberRef`).
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"

/** The operation the user called, when it is not the one sending the request. @internal */
export const currentOperation: Context.Reference<string | undefined> = Context.Reference<string | undefined>(
  "effect-openai-batch/internal/currentOperation",
  { defaultValue: () => undefined }
)

const outermost = (name: string) => (current: string | undefined) => current ?? name

/** Names the region `self` runs as the operation `name`, unless an outer operation already named it. @internal */
export const named = (name: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.updateService(self, currentOperation, outermost(name))

/** `named`, for a stream: the name holds while the stream runs. @internal */
export const namedStream = (name: string) => <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.updateService(self, currentOperation, outermost(name))

/** `name` unless an outer operation named the region. @internal */
export const resolve = (name: string): Effect.Effect<string> =>
  Effect.map(Effect.service(currentOperation), (current) => current ?? name)

/**
 * Runs `body` in the span of a public operation (`BatchApi.retrieveBatch`, ...), given to it so that the request
 * id can be set on it (Effect 4's `useSpan` captures no stack trace, so no option is needed for it).
 *
 * @internal
 */
export const span = <A, E, R>(
  name: string,
  attributes: Record<string, string> | undefined,
  body: (span: Tracer.Span) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Effect.useSpan(name, attributes === undefined ? {} : { attributes }, body)

/** The span of a stream operation (Effect 4's `Stream.withSpan` captures no stack trace). @internal */
export const streamSpan =
  (name: string, attributes: Record<string, string> | undefined) =>
  <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    Stream.withSpan(self, name, attributes === undefined ? {} : { attributes })
