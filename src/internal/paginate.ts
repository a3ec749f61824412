/**
 * A cursor-paged list endpoint (`data`, `has_more`, the last item's id as the next `after`) as a lazy `Stream`
 * that refuses to truncate, loop or repeat: a page that says `has_more` but is empty, or a cursor that comes back,
 * fails with `PaginationError`, and an item that two pages both return is passed once. The rules of
 * `BatchApi.streamBatches` and `OpenAiFiles.streamFiles`, for any list of objects with an `id`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BatchError from "../BatchError.js"
import * as Operation from "./http/operation.js"

/** One page of a list endpoint. @internal */
export interface Page<A extends { readonly id: string }> {
  readonly data: ReadonlyArray<A>
  readonly has_more: boolean
}

interface Cursor {
  readonly after: string | undefined
  readonly pages: number
}

/**
 * What one run of the stream has seen (a run may be repeated; each starts afresh): the cursors, and the ids of the
 * previous page. A list that moves between two requests shifts an item from the end of one page to the start of
 * the next; the list is paged by cursor, so an item can come back only on the page after it. Keeping that one page,
 * not every id, keeps the check cheap (a Set of every id was a measurable cost per batch in bench/inprocess.ts) and
 * memory flat.
 */
interface Seen {
  readonly cursors: Set<string>
  previous: ReadonlySet<string>
}

/** The page's items without those already passed (the previous page's, a repeat within the page); notes its ids. */
const fresh = <A extends { readonly id: string }>(seen: Seen, data: ReadonlyArray<A>): ReadonlyArray<A> => {
  const previous = seen.previous
  const ids = new Set<string>()
  let repeated = false
  for (const item of data) {
    if (previous.has(item.id) || ids.has(item.id)) repeated = true
    ids.add(item.id)
  }
  seen.previous = ids
  return repeated
    ? data.filter((item, i) => !previous.has(item.id) && data.findIndex((other) => other.id === item.id) === i)
    : data
}

/**
 * Every item of a list, page by page as the consumer pulls. `operation` names the list call in the errors (unless
 * an outer operation named the region); `fetch` gets the cursor of the page to fetch (`undefined` for the first,
 * unless `after` is given).
 *
 * @internal
 */
export const stream = <A extends { readonly id: string }, E, R>(
  operation: string,
  after: string | undefined,
  fetch: (after: string | undefined) => Effect.Effect<Page<A>, E, R>
): Stream.Stream<A, E | BatchError.PaginationError, R> =>
  Stream.suspend(() => {
    const seen: Seen = { cursors: new Set(), previous: new Set() }
    const fail = (reason: BatchError.PaginationError["reason"], pages: number, cursor: string | undefined) =>
      Effect.flatMap(Operation.resolve(operation), (name) =>
        Effect.fail(
          new BatchError.PaginationError({
            operation: name,
            reason,
            pages,
            ...(cursor === undefined ? {} : { cursor })
          })
        ))
    const page = (
      cursor: Cursor
    ): Effect.Effect<readonly [Chunk.Chunk<A>, Option.Option<Cursor>], E | BatchError.PaginationError, R> =>
      Effect.flatMap(fetch(cursor.after), (result) => {
        const pages = cursor.pages + 1
        const items = Chunk.unsafeFromArray(fresh(seen, result.data))
        if (!result.has_more) return Effect.succeed([items, Option.none()] as const)
        const last = result.data[result.data.length - 1]
        if (last === undefined) return fail("EmptyPageWithMore", pages, cursor.after)
        if (seen.cursors.has(last.id) || last.id === cursor.after) {
          return fail("RepeatedCursor", pages, last.id)
        }
        seen.cursors.add(last.id)
        return Effect.succeed([items, Option.some({ after: last.id, pages })] as const)
      })
    return Stream.paginateChunkEffect<Cursor, A, E | BatchError.PaginationError, R>({ after, pages: 0 }, page)
  })
