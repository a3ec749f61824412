/**
 * A batch against the in-memory simulator on Effect 4: no key, no network; the simulator keeps state and follows a
 * batch's lifecycle on the `Clock`. The README's "Testing against the simulator" block, runnable.
 *
 * Type-checked with the edition (`npx tsc -p effect4`); it runs from the built package (`npm run build` in effect4/).
 */
import { Console, Effect } from "effect"
import { BatchApi } from "effect-openai-batch"
import { BatchApiSimulator } from "effect-openai-batch/testing"

const program = Effect.gen(function*() {
  const simulator = yield* BatchApiSimulator.BatchApiSimulator
  const file = yield* simulator.putFile({ content: "{}\n" })
  const batch = yield* BatchApi.createBatch({
    input_file_id: file.id,
    endpoint: "/v1/embeddings",
    completion_window: "24h"
  })
  yield* Console.log(`created ${batch.id} (${batch.status})`)
  return batch.status // "validating"
}).pipe(Effect.provide(BatchApiSimulator.layerBatchApi()))

Effect.runPromise(program)
