/**
 * The embedded durable engine: `effect/cluster`'s workflow engine on a single runner whose journal, timers and
 * shard locks are rows in one SQLite file. One machine, no server to run: provide `layer` under the workflows'
 * layers and a crashed workflow resumes when the process starts again (the engine reads the unfinished workflows
 * of the file on start; nobody needs to execute it again).
 *
 * **One runner per file, enforced.** Exactly one long-lived process may use `layer` on a file; every other process
 * (a CLI that starts workflows or reads their results, a status page) uses `layerClient`, which only writes and
 * reads rows. A second full runner on the same file would take the same shards (the runner's address is fixed, see
 * below) and run the same workflows concurrently, every in-flight step twice, and the engine has no guard against
 * it on SQLite. So `layer` takes a runner lock before the engine starts and fails with `RunnerLockedError` (naming
 * the holder's pid, host and start) while another runner holds it; the lock goes with the layer, or with the
 * process. The lock is SQLite's own write lock on a small file beside the engine's, `<file>-runner`, held for the
 * runner's life: the operating system drops a process's file locks when it dies, SIGKILL included, so a crashed
 * runner never blocks the next start, and no pid has to be judged alive (pids are reused; a container's runner is
 * pid 1 at every start). It is not taken on the engine's file, whose writes it would stop. For several runners, use
 * `PostgresEngine`, whose shard leases are advisory locks. `<file>` is the file's real path: a runner on a symlink
 * to the file, or on another spelling of its path, is refused alike.
 *
 * Why the settings are not the engine's defaults:
 * - The runner's address is set here, never read from the environment. The engine's own layers
 *   (`SingleRunner.layer`) read `HOST`, `PORT`, `SHARDS_PER_GROUP` and friends from `process.env`, and many
 *   platforms set `PORT`: a different address after a restart leaves the dead process's shard locks to expire
 *   before the workflow resumes.
 * - `pollInterval` (the engine's `entityMessagePollInterval`) is 1 second instead of 10: it is how often the
 *   runner looks for messages another process wrote (a workflow started from a client) and for due timers, so a
 *   durable sleep or a workflow started elsewhere does not wait up to 10 seconds more.
 *
 * The Effect 4 edition runs on `@effect/sql-sqlite-node` 4.1, on Node's own `node:sqlite` (no native build: the
 * Effect 3 edition's driver was `better-sqlite3`). This module is the only one of the package that loads it (an
 * optional peer): import it only where the SQLite engine is used.
 *
 * @since 4.0.0
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as ClusterWorkflowEngine from "effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as Sharding from "effect/cluster/Sharding"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import * as Digest from "effect/crypto/Digest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import type * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import type * as BatchError from "../BatchError.js"
import * as RunnerLock from "../internal/durable/runnerLock.js"
import * as DurationOption from "../internal/durationOption.js"
import * as Params from "../internal/params.js"
import * as JobInterrupts from "./JobInterrupts.js"

/**
 * The settings of the SQLite engine.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Options {
  /** The SQLite file (created with its tables if missing). */
  readonly filename: string
  /**
   * How often the runner reads messages written by other processes and due timers; default 1 second. It must be a
   * duration > 0 (zero reads the file in a busy loop): `layer` fails with `InvalidParamsError` otherwise.
   */
  readonly pollInterval?: Duration.Input | undefined
  /** Any other setting of the engine (see `effect/cluster`'s `ShardingConfig`); wins over the above. */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/**
 * The defaults of `layer`.
 *
 * @since 4.0.0
 * @category Constants
 */
export const defaults = {
  pollInterval: Duration.seconds(1),
  /** The runner's address: only a name for the shard locks in the file (the runner listens on nothing). */
  runnerAddress: RunnerAddress.make("localhost", 34431)
} as const

const engine = (
  filename: string,
  config: Partial<ShardingConfig.ShardingConfig["Service"]>
): Layer.Layer<WorkflowEngine.WorkflowEngine | JobInterrupts.JobInterrupts, SqlError.SqlError> =>
  Layer.merge(
    ClusterWorkflowEngine.layer.pipe(
      // What `SingleRunner.layer({ runnerStorage: "sql" })` builds, with a config that is not read from the
      // environment (see the module comment).
      Layer.provide(Sharding.layer),
      Layer.provide(Runners.layerNoop),
      Layer.provide(SqlMessageStorage.layer),
      Layer.provide([SqlRunnerStorage.layer, RunnerHealth.layerNoop, Digest.layerWebCrypto]),
      Layer.provide(ShardingConfig.layer(config))
    ),
    // `DurableJob.interrupt`'s record, in the same file (see JobInterrupts.ts).
    Layer.effect(
      JobInterrupts.JobInterrupts,
      Effect.flatMap(Effect.service(SqlClient.SqlClient), JobInterrupts.fromSql)
    )
  ).pipe(Layer.provide(SqliteClient.layer({ filename })))

/** A poll interval out of range (the option, or the engine setting it names) is refused before the runner starts. */
const checkPollInterval = (options: Options): Effect.Effect<void, BatchError.InvalidParamsError> => {
  const given = [
    ["pollInterval", options.pollInterval],
    ["shardingConfig.entityMessagePollInterval", options.shardingConfig?.entityMessagePollInterval]
  ] as const
  for (const [option, value] of given) {
    if (value !== undefined && DurationOption.breaks(value, "> 0")) {
      return Effect.fail(Params.invalid("SqliteEngine.layer", DurationOption.issue("> 0"), option))
    }
  }
  return Effect.void
}

/**
 * The runner: it runs the file's workflows (those started here and by clients) and resumes the unfinished ones
 * when it starts. One per file: it fails with `RunnerLockedError` while another runner is up on the file (see the
 * module comment). A `pollInterval` that is not a duration > 0 fails it with `InvalidParamsError` before any file
 * is opened.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | JobInterrupts.JobInterrupts,
  BatchError.RunnerLockedError | BatchError.InvalidParamsError | SqlError.SqlError
> =>
  engine(options.filename, {
    runnerAddress: Option.some(defaults.runnerAddress),
    entityMessagePollInterval: options.pollInterval ?? defaults.pollInterval,
    ...options.shardingConfig
  }).pipe(
    Layer.provide(RunnerLock.layer(options.filename)),
    // Checked first: no lock is taken, no file opened.
    Layer.provide(Layer.effectDiscard(checkPollInterval(options)))
  )

/**
 * A client of the file's runner: it starts workflows, reads their results and interrupts them, and never runs
 * one. A workflow started here is run by the runner at its next poll. It takes no runner lock, and any number of
 * clients may share the file with its runner.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerClient = (options: {
  readonly filename: string
}): Layer.Layer<WorkflowEngine.WorkflowEngine | JobInterrupts.JobInterrupts, SqlError.SqlError> =>
  engine(options.filename, { runnerAddress: Option.none() })
