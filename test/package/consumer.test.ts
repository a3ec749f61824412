/**
 * The package as its users get it: a CommonJS program and an ES module program, each in its own folder, import the
 * built package by name through its `exports` map and run a real program on the simulator; the bin serves the
 * simulator over HTTP. What is checked is what a broken build or exports map would get wrong:
 *
 * - each kind of consumer gets its own format (`dist/cjs` for `require`, `dist/esm` for `import`), and that copy
 *   uses the consumer's own `effect` (one copy of effect in the process, the point of shipping both formats);
 * - every public entry point loads (`./tokenizer` with its optional peer), `./internal/*` and the CLI script are not
 *   importable;
 * - the library's errors are classes the consumer can match with `catchTag`, `instanceof` and `isBatchError`.
 *
 * Fast on purpose: the build here is the JavaScript half of `scripts/build.ts` (`emitJs`, a transpile with no type
 * checker), into a temporary folder whose `node_modules` is a symlink to the repository's, instead of `npm pack` and
 * `npm install` (those take most of a minute). Declarations are checked by `npm run check:package` (attw).
 */
import { assert, describe } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { emitJs, readConfig, root } from "../../scripts/build.js"
import { scaled } from "../support/patience.js"
import * as SharedLayer from "../support/sharedLayer.js"

interface Built {
  /** The package folder (package.json, bin/, dist/{esm,cjs}). */
  readonly pkg: string
  /** A consumer project whose node_modules holds the package, effect and @effect/*. */
  readonly app: string
}

class Package extends Context.Tag("test/package/Package")<Package, Built>() {}

const symlink = (target: string, link: string) => {
  Fs.mkdirSync(Path.dirname(link), { recursive: true })
  Fs.symlinkSync(target, link, "dir")
}

const PackageLive = Layer.scoped(
  Package,
  Effect.acquireRelease(
    Effect.sync((): Built => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "eob-package-"))
      const pkg = Path.join(dir, "effect-openai-batch")
      const config = readConfig()
      emitJs(Path.join(pkg, "dist"), "esm", config)
      emitJs(Path.join(pkg, "dist"), "cjs", config)
      Fs.copyFileSync(Path.join(root, "package.json"), Path.join(pkg, "package.json"))
      Fs.cpSync(Path.join(root, "bin"), Path.join(pkg, "bin"), { recursive: true })
      symlink(Path.join(root, "node_modules"), Path.join(pkg, "node_modules"))
      const app = Path.join(dir, "app")
      symlink(pkg, Path.join(app, "node_modules", "effect-openai-batch"))
      symlink(Path.join(root, "node_modules", "effect"), Path.join(app, "node_modules", "effect"))
      symlink(Path.join(root, "node_modules", "@effect"), Path.join(app, "node_modules", "@effect"))
      Fs.writeFileSync(Path.join(app, "package.json"), JSON.stringify({ name: "app", private: true }))
      Fs.writeFileSync(Path.join(app, "consumer.cjs"), cjsConsumer)
      Fs.writeFileSync(Path.join(app, "consumer.mjs"), esmConsumer)
      return { pkg, app }
    }),
    ({ pkg }) => Effect.sync(() => Fs.rmSync(Path.dirname(pkg), { recursive: true, force: true }))
  )
)

/**
 * The body both consumers share, after their imports: facts about what they loaded, then a program on the
 * simulator (three seeded batches listed, a missing one retrieved), printed as one JSON line.
 */
const body = `
const blocked = []
for (const path of ["effect-openai-batch/internal/http", "effect-openai-batch/testing/internal/state", "effect-openai-batch/testing/server-cli"]) {
  try { await load(path); blocked.push("loaded " + path) } catch (error) { blocked.push(error.code) }
}
const facts = {
  resolved,
  version: pkgJson.version,
  sameSubpathModule: BatchApiDirect.createBatch === lib.BatchApi.createBatch,
  // a Schedule the library built, and one the consumer builds: the same prototype only if they share effect
  oneEffect: Object.getPrototypeOf(lib.BatchSchedule.noRetry) === Object.getPrototypeOf(Schedule.recurs(0)),
  testingExports: Object.keys(testing).sort(),
  serverMake: typeof server.make,
  // the exact estimator loads its optional peer (gpt-tokenizer) in the consumer's format
  tokenized: tokenizer.estimator()(lib.BatchLine.embedding("e", { model: "text-embedding-3-small", input: "hello world" })),
  blocked
}
const program = Effect.gen(function*() {
  const simulator = yield* testing.BatchApiSimulator.BatchApiSimulator
  yield* simulator.seed({ count: 3 })
  const page = yield* lib.BatchApi.listBatches({ limit: 10 })
  const error = yield* Effect.flip(lib.BatchApi.retrieveBatch("batch_missing"))
  const caught = yield* lib.BatchApi.retrieveBatch("batch_missing").pipe(
    Effect.as("found"),
    Effect.catchTag("NotFoundError", (e) => Effect.succeed("caught " + e.status))
  )
  return {
    listed: page.data.length,
    decodedId: Schema.decodeUnknownSync(lib.Batch.Batch)(page.data[0]).id === page.data[0].id,
    tag: error._tag,
    instanceOf: error instanceof lib.BatchError.NotFoundError,
    isBatchError: lib.BatchError.isBatchError(error),
    caught
  }
})
Effect.runPromise(program.pipe(Effect.provide(testing.BatchApiSimulator.layerBatchApi()))).then(
  (result) => console.log(JSON.stringify({ ...facts, ...result })),
  (error) => { console.error(error); process.exitCode = 1 }
)
`

const cjsConsumer = `"use strict"
const { Effect, Schedule, Schema } = require("effect")
const lib = require("effect-openai-batch")
const testing = require("effect-openai-batch/testing")
const server = require("effect-openai-batch/testing/server")
const tokenizer = require("effect-openai-batch/tokenizer")
const BatchApiDirect = require("effect-openai-batch/BatchApi")
const pkgJson = require("effect-openai-batch/package.json")
const resolved = require.resolve("effect-openai-batch")
const load = async (path) => require(path)
;(async () => {${body}})()
`

const esmConsumer = `import { Effect, Schedule, Schema } from "effect"
import * as lib from "effect-openai-batch"
import * as testing from "effect-openai-batch/testing"
import * as server from "effect-openai-batch/testing/server"
import * as tokenizer from "effect-openai-batch/tokenizer"
import * as BatchApiDirect from "effect-openai-batch/BatchApi"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
const pkgJson = createRequire(import.meta.url)("effect-openai-batch/package.json")
const resolved = fileURLToPath(import.meta.resolve("effect-openai-batch"))
const load = (path) => import(path)
${body}`

const runNode = (cwd: string, file: string) =>
  Effect.async<{ readonly code: number; readonly out: string; readonly err: string }>((resume) => {
    const child = execFile(
      process.execPath,
      [file],
      // It prints one line at its end: a timeout stretched by the machine's load (test/support/patience.ts).
      { cwd, timeout: scaled(30_000) },
      (error, out, err) => resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), out, err }))
    )
    return Effect.sync(() => child.kill())
  })

const consume = (file: string) =>
  Effect.gen(function*() {
    const { app } = yield* Package
    const { code, err, out } = yield* runNode(app, file)
    assert.strictEqual(code, 0, err)
    return JSON.parse(out.trim().split("\n").at(-1) ?? "") as Record<string, unknown>
  })

const assertWorks = (facts: Record<string, unknown>) => {
  assert.strictEqual(facts["oneEffect"], true, "the library must use the consumer's copy of effect")
  assert.strictEqual(facts["sameSubpathModule"], true)
  assert.strictEqual(facts["serverMake"], "function")
  assert.strictEqual(facts["tokenized"], 2)
  assert.deepStrictEqual(facts["testingExports"], [
    "BatchApiSimulator",
    "BatchApiTest",
    "FastTestClock",
    "MemoryFileSystem",
    "SimulatorWebhooks"
  ])
  assert.deepStrictEqual(facts["blocked"], Array(3).fill("ERR_PACKAGE_PATH_NOT_EXPORTED"))
  assert.strictEqual(facts["version"], JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")).version)
  assert.strictEqual(facts["listed"], 3)
  assert.strictEqual(facts["decodedId"], true)
  assert.strictEqual(facts["tag"], "NotFoundError")
  assert.strictEqual(facts["instanceOf"], true)
  assert.strictEqual(facts["isBatchError"], true)
  assert.strictEqual(facts["caught"], "caught 404")
}

/** Starts the bin, waits for the base URL it prints, and stops it with SIGINT (as Ctrl-C does). */
const startBin = (pkg: string, args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly baseUrl: string; readonly output: () => string; readonly child: ChildProcess }, Error>(
      (resume) => {
        const child = spawn(process.execPath, [Path.join(pkg, "bin", "effect-openai-batch-simulator.js"), ...args], {
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        const onData = (chunk: Buffer) => {
          output += chunk.toString("utf8")
          const match = /base URL: (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(output)
          if (match?.[1] !== undefined) resume(Effect.succeed({ baseUrl: match[1], output: () => output, child }))
        }
        child.stdout.on("data", onData)
        child.stderr.on("data", onData)
        child.once("exit", (code) => resume(Effect.fail(new Error(`the bin exited (${code}):\n${output}`))))
        return Effect.sync(() => child.kill("SIGKILL"))
      }
    ).pipe(Effect.timeoutFail({ duration: scaled(20_000), onTimeout: () => new Error("the bin printed no base URL") })),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGINT")
      })
  )

/**
 * Caps, not expectations (the layer's build and each case, 1 to 7 s on a quiet 2-core machine, up to 58 s for the
 * file at load 16): the children's own waits above scale with the load.
 */
const cap = 300_000

// Concurrently: each case spends its time waiting on its child process.
describe.concurrent("the built package", () => {
  const it = SharedLayer.make(PackageLive, { timeout: Duration.millis(cap) })
  it.effect(
    "a CommonJS consumer requires dist/cjs, on its own copy of effect, and runs a program",
    () =>
      Effect.gen(function*() {
        const facts = yield* consume("consumer.cjs")
        assert.isTrue(
          String(facts["resolved"]).endsWith(Path.join("dist", "cjs", "index.js")),
          String(facts["resolved"])
        )
        assertWorks(facts)
      }),
    cap
  )

  it.effect(
    "an ES module consumer imports dist/esm, on its own copy of effect, and runs a program",
    () =>
      Effect.gen(function*() {
        const facts = yield* consume("consumer.mjs")
        assert.isTrue(
          String(facts["resolved"]).endsWith(Path.join("dist", "esm", "index.js")),
          String(facts["resolved"])
        )
        assertWorks(facts)
      }),
    cap
  )

  it.scoped("the bin serves the simulator on 127.0.0.1 and accepts any key by default", () =>
    Effect.gen(function*() {
      const { pkg } = yield* Package
      const server = yield* startBin(pkg, ["--port", "0", "--speed", "60"])
      const response = yield* Effect.promise(() =>
        fetch(`${server.baseUrl}/batches`, { headers: { authorization: "Bearer any-key-at-all" } })
      )
      assert.strictEqual(response.status, 200)
      const page = (yield* Effect.promise(() => response.json())) as { object?: unknown; data?: unknown }
      assert.strictEqual(page.object, "list")
      assert.deepStrictEqual(page.data, [])
      assert.include(server.output(), "60x")
      // a client's own schedules do not speed up: the bin says so, and how to keep pace
      assert.include(server.output(), "warning: --speed 60 speeds up the batches, not your client")
      const unauthenticated = yield* Effect.promise(() => fetch(`${server.baseUrl}/batches`))
      assert.strictEqual(unauthenticated.status, 401)
    }), cap)
})
