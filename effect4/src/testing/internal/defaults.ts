/**
 * The simulator's constants and its one error: the values every piece shares (re-exported by `model.ts`).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"

/**
 * The default script: validating 30 s, in progress 5 min, finalizing 30 s, cancelling 2 min, completed, 100
 * requests for a batch without an uploaded input file.
 *
 * @since 4.0.0
 * @category Scripts
 */
export const defaultScript = {
  validating: Duration.seconds(30),
  inProgress: Duration.minutes(5),
  finalizing: Duration.seconds(30),
  cancelling: Duration.minutes(2),
  outcome: "completed",
  requestCount: 100
} as const

/**
 * The key `layerBatchApi` configures and the simulator accepts by default.
 *
 * @since 4.0.0
 * @category Constants
 */
export const testApiKey = "sk-simulator-test-key"

/**
 * The organisation the simulator answers as (`openai-organization`, and the enqueued-limit messages).
 *
 * @since 4.0.0
 * @category Constants
 */
export const organization = "org-simulator"

/**
 * A batch the simulator does not hold.
 *
 * @since 4.0.0
 * @category Errors
 */
export class NoSuchBatchError extends Schema.TaggedError<NoSuchBatchError>(
  "effect-openai-batch/testing/BatchApiSimulator/NoSuchBatchError"
)("NoSuchBatchError", { batchId: Schema.String }) {
  /**
   * @since 4.0.0
   */
  override get message(): string {
    return `the simulator holds no live batch ${this.batchId}`
  }
}
