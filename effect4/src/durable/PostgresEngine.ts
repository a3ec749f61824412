/**
 * The durable engine for several machines: `@effect/cluster`'s workflow engine on runners that share one
 * PostgreSQL database (the journal, timers and the list of runners are rows; each shard is leased with an advisory
 * lock) and talk to each other over TCP. No separate coordinator: every runner computes the same assignment of
 * shards from the live runners it sees in the database.
 *
 * When a runner dies, its jobs move to another runner once its shard leases expire (`shardLockExpiration`, 35
 * seconds by default) and resume from their journal there: the step that was running runs again (the create finds
 * its batch by its idempotency key, a delivery goes to an idempotent sink), nothing journaled runs twice.
 *
 * Processes that only start jobs and read their results use `layerClient`: they own no shard and run nothing.
 *
 * Two things differ from the engine's own layers. The storages are built one process at a time (see `oneAtATime`:
 * runners started together on an empty database race to create the tables). And no setting is read from the
 * environment: the engine's own layers read `HOST`, `PORT`, `SHARDS_PER_GROUP` and friends from `process.env`
 * (many platforms set `PORT`), which would change the address a runner listens on and is known by, or split the
 * shards differently on two runners. Pass anything else through `shardingConfig`.
 *
 * This module is the only one of the package that loads `@effect/sql-pg` and `@effect/platform-node`'s socket
 * transport (optional peers): import it only where the Postgres engine is used. The Effect 4 edition's runners
 * talk to each other in newline-delimited JSON (`RpcSerialization.layerNdjson`), the encoding their messages have in
 * the database too, and hash long message keys with `Digest.layerWebCrypto`. Not in
 * `RpcSerialization.layerSchemaBinary`, what `NodeClusterSocket.layer` picks (Effect 4 has no MessagePack layer): it
 * cannot lay out a union whose members it cannot tell apart, and a job's payload (`budget.limits`: a budget or a
 * record of them), summary and errors hold such unions, so every message sent over a socket (a client starting a job
 * on the runner it knows owns the job's shard) failed to encode.
 *
 * @since 4.0.0
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as ClusterWorkflowEngine from "effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SocketRunner from "effect/cluster/SocketRunner"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import * as Digest from "effect/crypto/Digest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as Scope from "effect/Scope"
import type * as SocketServer from "effect/socket/SocketServer"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import * as JobInterrupts from "./JobInterrupts.js"

/**
 * The settings of a runner.
 *
 * @since 4.0.0
 * @category Models
 */
export interface Options {
  /** The database, e.g. `postgres://user:password@db:5432/jobs` (redacted: it may hold a password). */
  readonly url: Redacted.Redacted
  /** The host other runners reach this one at (it listens there too, unless `runnerListenAddress` says else). */
  readonly host: string
  /** The TCP port this runner listens on for other runners. */
  readonly port: number
  /** Any other setting of the engine (see `@effect/cluster`'s `ShardingConfig`); wins over the above. */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/** An advisory lock of this module's own (the two-key space: the engine's shard locks use the one-key space). */
const tablesLock = [0x656f62, 1] as const

/**
 * Builds the engine's storages (which create their tables) one process at a time. The engine creates its tables
 * with `CREATE TABLE IF NOT EXISTS`, which PostgreSQL does not make safe against a concurrent create: two runners
 * started at once on an empty database failed 3 times in 5 here (without this lock) with `duplicate key value violates unique
 * constraint "pg_type_typname_nsp_index"` or `type "cluster_runners" already exists`. The lock is a session lock
 * on a connection of its own, released as soon as the storages are built (or when the process dies).
 */
const oneAtATime = <A, E, R>(
  storages: Layer.Layer<A, E, R>
): Layer.Layer<A, E | SqlError, R | SqlClient.SqlClient> =>
  Layer.effectContext(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const lockScope = yield* Scope.make()
    const release = Scope.close(lockScope, Exit.void)
    const conn = yield* Effect.onError(Scope.provide(lockScope)(sql.reserve), () => release)
    const [classId, objId] = tablesLock
    yield* Effect.onError(conn.executeRaw("SELECT pg_advisory_lock($1, $2)", [classId, objId]), () => release)
    return yield* Layer.build(storages).pipe(
      Effect.ensuring(
        Effect.ignore(conn.executeRaw("SELECT pg_advisory_unlock($1, $2)", [classId, objId])).pipe(
          Effect.andThen(release)
        )
      )
    )
  }))

/** The SQL storages over one Postgres pool, and the engine's wire format between runners. */
const storage =
  (url: Redacted.Redacted, config: Partial<ShardingConfig.ShardingConfig["Service"]>) =>
  <A, E, R>(self: Layer.Layer<A, E, R>) =>
    Layer.merge(
      self.pipe(
        Layer.provide(oneAtATime(Layer.merge(SqlMessageStorage.layer, SqlRunnerStorage.layer))),
        Layer.provide([ShardingConfig.layer(config), RpcSerialization.layerNdjson, Digest.layerWebCrypto])
      ),
      // `DurableJob.interrupt`'s record, in the same database (see JobInterrupts.ts), its table made under the lock.
      oneAtATime(
        Layer.effect(
          JobInterrupts.JobInterrupts,
          Effect.flatMap(Effect.service(SqlClient.SqlClient), JobInterrupts.fromSql)
        )
      )
    ).pipe(Layer.provide(PgClient.layer({ url })))

/**
 * A runner: it owns a share of the shards, runs their jobs, and takes over the jobs of runners that die. What
 * `NodeClusterSocket.layer({ storage: "sql" })` builds, with a config not read from the environment.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | JobInterrupts.JobInterrupts,
  SqlError | SocketServer.SocketServerError
> =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provide(SocketRunner.layer),
    Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc))),
    Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol]),
    storage(options.url, {
      runnerAddress: Option.some(RunnerAddress.make(options.host, options.port)),
      ...options.shardingConfig
    })
  )

/**
 * A client: it starts jobs (`DurableJob.start`), reads their results and interrupts them, and runs nothing. It
 * sends to the runners directly when it knows who owns a job's shard, else through the database.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layerClient = (options: {
  readonly url: Redacted.Redacted
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}): Layer.Layer<WorkflowEngine.WorkflowEngine | JobInterrupts.JobInterrupts, SqlError> =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provide(SocketRunner.layerClientOnly),
    Layer.provide(NodeClusterSocket.layerClientProtocol),
    storage(options.url, { ...options.shardingConfig, runnerAddress: Option.none() })
  )
