/**
 * The Effect 4 edition as its users get it: an ES module program and a CommonJS program, each importing the built
 * package by name through its `exports` map, on their own `effect` 4, decode the official Batch example and a
 * results line. What is checked is what a broken build or exports map would get wrong:
 *
 * - `import` and `require` both load `dist/` (ES modules only: `require` loads them as require(esm) does on Node
 *   >= 22.12), and get the same module instances, so a program that mixes them has one copy of the library;
 * - every public module loads by its subpath, `./tokenizer` with its optional peer (gpt-tokenizer), `./internal/*`
 *   is not importable;
 * - the schemas are the consumer's Effect 4 schemas: its own `Schema.decodeUnknownSync` decodes with them.
 *
 * Fast on purpose: the build here is the JavaScript half of `scripts/build.ts` (a transpile with no type checker)
 * into a temporary folder whose `node_modules` is a symlink to the workspace's; declarations are checked by
 * `npm run check:package` (publint, attw).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { emitJs, readConfig, root } from "../../scripts/build.js"

const fixtures = Path.join(root, "..", "fixtures")

const symlink = (target: string, link: string) => {
  Fs.mkdirSync(Path.dirname(link), { recursive: true })
  Fs.symlinkSync(target, link, "dir")
}

/** What both consumers print, after their imports (`lib`, `BatchDirect`, `Schema`, `load`, `same`). */
const body = `
const batch = Schema.decodeUnknownSync(lib.Batch.Batch)(JSON.parse(readFileSync(fixtures + "/Batch.object.json", "utf8")))
const line = readFileSync(fixtures + "/batchResults.jsonl", "utf8").split("\\n")[0]
const result = Schema.decodeUnknownSync(lib.BatchLine.BatchResultFromLine)(JSON.parse(line))
const blocked = []
for (const path of ["effect-openai-batch/internal/decoder", "effect-openai-batch/internal/nullable"]) {
  try { await load(path); blocked.push("loaded " + path) } catch (error) { blocked.push(error.code) }
}
console.log(JSON.stringify({
  resolved,
  version: pkgJson.version,
  id: batch.id,
  status: batch.status,
  terminal: lib.Batch.isTerminal(batch),
  failedAtDropped: !("failed_at" in batch),
  result: result._tag + " " + result.custom_id,
  sameSubpathModule: BatchDirect.Batch === lib.Batch.Batch,
  isSchema: Schema.isSchema(lib.Batch.Batch),
  same: await same(),
  // the exact estimator loads its optional peer (gpt-tokenizer) in the consumer's format
  tokenized: tokenizer.estimator()(lib.BatchLine.embedding("e", { model: "text-embedding-3-small", input: "hello world" })),
  estimated: lib.TokenEstimate.estimateTokens(lib.BatchLine.embedding("e", { model: "text-embedding-3-small", input: "hello world" })),
  blocked,
  // the request side: an error decoded back into its class, the transport's subpath
  errorBack: lib.BatchError.isBatchError(Schema.decodeUnknownSync(lib.BatchError.BatchError)({ _tag: "EmptyInputError", message: "none" })),
  fetchTransport: lib.BatchApi.layer !== undefined && (await load("effect-openai-batch/transport/FetchTransport")).layer !== undefined,
  // the undici transport's subpath, with its optional peer (undici 8)
  undiciTransport: (await load("effect-openai-batch/transport/UndiciTransport")).layer !== undefined
}))
`

const esmConsumer = `import { Schema } from "effect"
import * as lib from "effect-openai-batch"
import * as BatchDirect from "effect-openai-batch/Batch"
import * as tokenizer from "effect-openai-batch/tokenizer"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
const fixtures = process.argv[2]
const require = createRequire(import.meta.url)
const pkgJson = require("effect-openai-batch/package.json")
const resolved = fileURLToPath(import.meta.resolve("effect-openai-batch"))
const load = (path) => import(path)
// the CommonJS view of the same package: the same module objects
const same = async () => require("effect-openai-batch").BatchLine === lib.BatchLine
${body}`

const cjsConsumer = `"use strict"
const { Schema } = require("effect")
const lib = require("effect-openai-batch")
const BatchDirect = require("effect-openai-batch/Batch")
const tokenizer = require("effect-openai-batch/tokenizer")
const { readFileSync } = require("node:fs")
const fixtures = process.argv[2]
const pkgJson = require("effect-openai-batch/package.json")
const resolved = require.resolve("effect-openai-batch")
const load = async (path) => require(path)
// the ES module view of the same package: the same module objects
const same = async () => (await import("effect-openai-batch")).BatchLine === lib.BatchLine
;(async () => {${body}})().catch((error) => { console.error(error); process.exitCode = 1 })
`

/** A cap, not an expectation: each consumer takes about a second on a quiet machine, longer under load. */
const cap = 300_000

// Concurrently: each case spends its time waiting on its child process.
describe.concurrent("the built package", () => {
  let dir = ""
  let app = ""

  beforeAll(() => {
    dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "eob4-package-"))
    const pkg = Path.join(dir, "effect-openai-batch")
    emitJs(Path.join(pkg, "dist"), readConfig())
    Fs.copyFileSync(Path.join(root, "package.json"), Path.join(pkg, "package.json"))
    symlink(Path.join(root, "node_modules"), Path.join(pkg, "node_modules"))
    app = Path.join(dir, "app")
    symlink(pkg, Path.join(app, "node_modules", "effect-openai-batch"))
    symlink(Path.join(root, "node_modules", "effect"), Path.join(app, "node_modules", "effect"))
    Fs.writeFileSync(Path.join(app, "package.json"), JSON.stringify({ name: "app", private: true }))
    Fs.writeFileSync(Path.join(app, "consumer.mjs"), esmConsumer)
    Fs.writeFileSync(Path.join(app, "consumer.cjs"), cjsConsumer)
  })

  afterAll(() => {
    if (dir !== "") Fs.rmSync(dir, { recursive: true, force: true })
  })

  const consume = (file: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) =>
      execFile(process.execPath, [file, fixtures], { cwd: app, encoding: "utf8" }, (error, out, err) =>
        error === null
          ? resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "") as Record<string, unknown>)
          : reject(new Error(`${file}: ${error.message}\n${err}`)))
    )

  const assertWorks = (facts: Record<string, unknown>) => {
    assert.isTrue(String(facts["resolved"]).endsWith(Path.join("dist", "index.js")), String(facts["resolved"]))
    assert.strictEqual(facts["version"], JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")).version)
    assert.strictEqual(facts["id"], "batch_abc123")
    assert.strictEqual(facts["status"], "completed")
    assert.strictEqual(facts["terminal"], true)
    assert.strictEqual(facts["failedAtDropped"], true)
    assert.strictEqual(facts["result"], "Succeeded r1")
    assert.strictEqual(facts["sameSubpathModule"], true)
    assert.strictEqual(facts["isSchema"], true)
    assert.strictEqual(facts["same"], true, "import and require must give the same module")
    assert.strictEqual(facts["tokenized"], 2)
    assert.isAtLeast(Number(facts["estimated"]), 2)
    assert.deepStrictEqual(facts["blocked"], ["ERR_PACKAGE_PATH_NOT_EXPORTED", "ERR_PACKAGE_PATH_NOT_EXPORTED"])
    assert.strictEqual(facts["errorBack"], true)
    assert.strictEqual(facts["fetchTransport"], true)
    assert.strictEqual(facts["undiciTransport"], true)
  }

  it("an ES module consumer imports it and decodes the official Batch example", async () => {
    assertWorks(await consume("consumer.mjs"))
  }, cap)

  it("a CommonJS consumer requires the same ES modules and decodes the official Batch example", async () => {
    assertWorks(await consume("consumer.cjs"))
  }, cap)
})
