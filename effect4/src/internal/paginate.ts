/**
 * A cursor-paged list endpoint (`data`, `has_more`, the last item's id as the next `after`) as a lazy `Stream`
 * that refuses to truncate or loop: a page that says `has_more` but is empty, or a cursor that comes back, fails
 * with `PaginationError`. The rules of `BatchApi.streamBatches`, for any list of objects with an `id`.
 *
 * The Effect 4 edition: `Stream.paginate` (pages as arrays; Effect 3: `paginateChunkEffect` and `Chunk`s).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BatchError from "../BatchError.js"

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
 * Every item of a list, page by page as the consumer pulls. `operation` names the list call in the errors;
 * `fetch` gets the cursor of the page to fetch (`undefined` for the first, unless `after` is given).
 *
 * @internal
 */
export const stream = <A extends { readonly id: string }, E, R>(
  operation: string,
  after: string | undefined,
  fetch: (after: string | undefined) => Effect.Effect<Page<A>, E, R>
): Stream.Stream<A, E | BatchError.PaginationError, R> =>
  Stream.suspend(() => {
    // One set of used cursors per run of the stream (a run may be repeated; each starts afresh).
    const used = new Set<string>()
    const page = (
      cursor: Cursor
    ): Effect.Effect<readonly [ReadonlyArray<A>, Option.Option<Cursor>], E | BatchError.PaginationError, R> =>
      Effect.flatMap(fetch(cursor.after), (result) => {
        const pages = cursor.pages + 1
        if (!result.has_more) return Effect.succeed([result.data, Option.none()] as const)
        const last = result.data[result.data.length - 1]
        if (last === undefined) {
          return Effect.fail(
            new BatchError.PaginationError({
              operation,
              reason: "EmptyPageWithMore",
              pages,
              ...(cursor.after === undefined ? {} : { cursor: cursor.after })
            })
          )
        }
        if (used.has(last.id) || last.id === cursor.after) {
          return Effect.fail(
            new BatchError.PaginationError({
              operation,
              reason: "RepeatedCursor",
              pages,
              cursor: last.id
            })
          )
        }
        used.add(last.id)
        return Effect.succeed([result.data, Option.some({ after: last.id, pages })] as const)
      })
    return Stream.paginate<Cursor, A, E | BatchError.PaginationError, R>({ after, pages: 0 }, page)
  })
