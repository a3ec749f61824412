/**
 * Requests to stop durable jobs, kept beside the engine's own tables, so that any process of the engine can ask
 * (`DurableJob.interrupt`) and the runner of the job sees it while the job runs.
 *
 * Why the workflow engine's own `interrupt` is not enough: `effect/cluster`'s engine acts on it only when the
 * workflow suspends (a durable sleep, a durable deferred). A job spends its life inside activities (a wait is one
 * activity per round, 30 minutes by default) and between them, so a request made while it runs would wait for the
 * job's end, its batches billing meanwhile. A durable job checks this record every `interruptCheck` (1 second by
 * default) and stops itself: the workflow ends interrupted, and its compensation cancels the batches it made.
 *
 * `SqliteEngine` and `PostgresEngine` provide it on their own database. An engine wired by hand provides it with
 * `fromSql` on its `SqlClient`; without it, `interrupt` still reaches a job running in the same process (and any
 * job on the in-memory engine) at once and, on other engines, takes effect when the job next suspends.
 *
 * @since 4.0.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

/**
 * @since 4.0.0
 * @category Models
 */
export interface Service {
  /** Records that the job of this workflow execution is to stop (asking twice is asking once). */
  readonly request: (executionId: string) => Effect.Effect<void, SqlError>
  /** Whether the job of this workflow execution was asked to stop. */
  readonly requested: (executionId: string) => Effect.Effect<boolean, SqlError>
}

/**
 * @since 4.0.0
 * @category Context
 */
export class JobInterrupts
  extends Context.Service<JobInterrupts, Service>()("effect-openai-batch/durable/JobInterrupts")
{}

/**
 * The table, in the engine's database (SQLite and PostgreSQL both read this SQL).
 *
 * @since 4.0.0
 * @category Constants
 */
export const table = "effect_openai_batch_job_interrupts"

/**
 * The record on a `SqlClient`: creates its table if missing. On PostgreSQL, run it where two runners cannot create
 * the table at once (`PostgresEngine` does it under the lock it takes for the engine's own tables).
 *
 * @since 4.0.0
 * @category Constructors
 */
export const fromSql = (sql: SqlClient.SqlClient): Effect.Effect<Service, SqlError> =>
  Effect.as(
    sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
      execution_id VARCHAR(255) PRIMARY KEY,
      requested_at BIGINT NOT NULL
    )`,
    {
      request: (executionId) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.asVoid(
            sql`INSERT INTO ${sql(table)} (execution_id, requested_at) VALUES (${executionId}, ${now})
              ON CONFLICT (execution_id) DO NOTHING`
          )),
      requested: (executionId) =>
        Effect.map(
          sql`SELECT execution_id FROM ${sql(table)} WHERE execution_id = ${executionId}`,
          (rows) => rows.length > 0
        )
    }
  )
