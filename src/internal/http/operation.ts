/**
 * The public operation a request belongs to, for its errors' messages and `operation` field, and the one span
 * style of every public operation.
 *
 * A request is sent by an operation of the service (`pollBatch`, `downloadFile`, ...), but the user may have called
 * something built on it (`awaitBatch`, `BatchResults.stream`): such an operation names itself for the region it
 * runs (the outermost one wins), and the pipeline reads that name only when it builds an error, so the hot path
 * pays nothing.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"

/** The operation the user called, when it is not the one sending the request. @internal */
export const currentOperation: FiberRef.FiberRef<string | undefined> = globalValue(
  Symbol.for("effect-openai-batch/internal/currentOperation"),
  () => FiberRef.unsafeMake<string | undefined>(undefined)
)

const outermost = (name: string) => (current: string | undefined) => current ?? name

/** Names the region `self` runs as the operation `name`, unless an outer operation already named it. @internal */
export const named = (name: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(self, currentOperation, outermost(name))

/** `named`, for a stream: the name holds while the stream runs. @internal */
export const namedStream = (name: string) => <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrapScoped(Effect.as(Effect.locallyScopedWith(currentOperation, outermost(name)), self))

/** `name` unless an outer operation named the region. @internal */
export const resolve = (name: string): Effect.Effect<string> =>
  Effect.map(FiberRef.get(currentOperation), (current) => current ?? name)

const noStackTrace = { captureStackTrace: false } as const

/**
 * Runs `body` in the span of a public operation (`BatchApi.retrieveBatch`, ...), given to it so that the request
 * id can be set on it. Not `Effect.fn`: that captures a stack trace on every call (a `new Error()`, a measurable
 * share of a `retrieveBatch`'s CPU in bench/inprocess.ts) for an attribute written only on failure; and the span is not made
 * current (a copy of the fiber's context, set and restored, costs as much again as the span), since nothing inside
 * makes a span of its own.
 *
 * @internal
 */
export const span = <A, E, R>(
  name: string,
  attributes: Record<string, string> | undefined,
  body: (span: Tracer.Span) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.useSpan(name, attributes === undefined ? noStackTrace : { captureStackTrace: false, attributes }, body)

/** The span of a stream operation, the same style. @internal */
export const streamSpan =
  (name: string, attributes: Record<string, string> | undefined) =>
  <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    Stream.withSpan(self, name, attributes === undefined ? noStackTrace : { captureStackTrace: false, attributes })
