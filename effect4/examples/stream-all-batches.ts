/**
 * Every batch of the organization as a lazy Stream: pages are fetched as you pull, memory stays flat.
 *
 *   npx tsx examples/stream-all-batches.ts        # on the simulator, seeded with 1,234 batches
 *   OPENAI_API_KEY=sk-... npx tsx examples/stream-all-batches.ts --live
 *
 * The root's program on this edition (inside effect4/, on Node >= 22.19): `Stream.runFold` takes its initial value
 * lazily.
 */
import { Console, Effect, Stream } from "effect"
import { BatchApi } from "effect-openai-batch"
import { BatchApiSimulator } from "effect-openai-batch/testing"
import { run } from "./support/run.js"

const program = Effect.gen(function*() {
  // The five newest: one page is fetched, not all of them.
  const newest = yield* BatchApi.streamBatches({ pageSize: 5 }).pipe(Stream.take(5), Stream.runCollect)
  yield* Console.log(`newest: ${[...newest].map((b) => `${b.id} (${b.status})`).join(", ")}`)

  // Count all batches by status, 100 per page.
  const byStatus = yield* BatchApi.streamBatches().pipe(
    Stream.runFold(
      () => new Map<string, number>(),
      (counts, b) => counts.set(b.status, (counts.get(b.status) ?? 0) + 1)
    )
  )
  yield* Console.log("all batches by status:")
  for (const [status, count] of byStatus) yield* Console.log(`  ${status.padEnd(11)} ${count}`)

  // Batches still running, with their progress.
  yield* BatchApi.streamBatches().pipe(
    Stream.filter((b) => b.status === "in_progress"),
    Stream.take(3),
    Stream.runForEach((b) =>
      Console.log(`running: ${b.id} ${b.request_counts?.completed ?? 0}/${b.request_counts?.total ?? "?"}`)
    )
  )
}).pipe(
  // A list that breaks its paging contract fails loudly instead of returning a truncated list.
  Effect.catchTag("PaginationError", (e) => Console.error(e.message))
)

run(program, {
  setup: Effect.gen(function*() {
    const simulator = yield* BatchApiSimulator.BatchApiSimulator
    // Seeded batches live on by the default script: the running ones stay running for a day (the simulator's clock
    // runs hundreds of times faster than real time here, and listing 1,234 batches takes a while on a busy machine).
    yield* simulator.setDefaultScript({ inProgress: "24 hours" })
    yield* simulator.seed({ count: 1000, status: "completed" })
    yield* simulator.seed({ count: 200, status: "failed" })
    yield* simulator.seed({ count: 34, status: "in_progress" })
  })
})
