/**
 * The two editions are two independent npm projects in one repository (effect4/README.md, "The project"): the root
 * (the Effect 3 edition) and effect4/, both named effect-openai-batch, each with its own lock file and its own
 * changesets. What would quietly undo that is checked here:
 *
 * - `workspaces` back in the root's package.json: changesets would then see effect4/ as the only package of that
 *   name and version it in place of the root (and changesets run inside effect4/ would find the root);
 * - effect4/ missing from neither lock file, or in the root's;
 * - the root's `prepare` no longer installing effect4/;
 * - a pre-release version (4.0.0-alpha.N) outside changesets' pre mode;
 * - a tool declared in both (effect4/ takes the root's typescript, tsx, eslint, publint, attw and changesets), or
 *   one the root stopped declaring.
 */
import { assert, describe, it } from "@effect/vitest"
import { existsSync, readFileSync } from "node:fs"

const read = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as Record<string, unknown>

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null ? value as Record<string, unknown> : {}

const root = read("../../package.json")
const effect4 = read("../package.json")

/** The tools effect4/ resolves from the root's node_modules. */
const rootTools = ["typescript", "tsx", "eslint", "publint", "@arethetypeswrong/cli", "@changesets/cli", "esbuild"]

describe("two npm projects", () => {
  it("the root has no workspaces, and both packages have their name", () => {
    assert.isUndefined(root["workspaces"])
    assert.strictEqual(root["name"], "effect-openai-batch")
    assert.strictEqual(effect4["name"], "effect-openai-batch")
    assert.match(String(effect4["version"]), /^4\./)
  })

  it("each has its own lock file, and the root's does not hold effect4/", () => {
    const rootLock = read("../../package-lock.json")
    const lock = read("../package-lock.json")
    assert.strictEqual(lock["version"], effect4["version"])
    assert.strictEqual(rootLock["version"], root["version"])
    const rootPackages = Object.keys(record(rootLock["packages"]))
    assert.deepStrictEqual(rootPackages.filter((path) => path.startsWith("effect4")), [])
    assert.isFalse(rootPackages.includes("node_modules/effect-openai-batch"))
  })

  it("the root's npm ci installs effect4/ through its prepare step", () => {
    assert.strictEqual(record(root["scripts"])["prepare"], "node scripts/install-effect4.mjs")
  })

  it("each has its own changesets", () => {
    assert.isTrue(existsSync(new URL("../../.changeset/config.json", import.meta.url)))
    assert.isTrue(existsSync(new URL("../.changeset/config.json", import.meta.url)))
  })

  it("a pre-release version is in changesets' pre mode (else `changeset version` jumps to 4.0.0)", () => {
    const prerelease = /-([a-z]+)\./.exec(String(effect4["version"]))?.[1]
    if (prerelease !== undefined) assert.strictEqual(read("../.changeset/pre.json")["tag"], prerelease)
  })

  it("the tools are the root's, declared once", () => {
    const rootDev = record(root["devDependencies"])
    const dev = record(effect4["devDependencies"])
    for (const tool of rootTools) {
      assert.isString(rootDev[tool], `the root declares ${tool}`)
      assert.isUndefined(dev[tool], `effect4/ takes ${tool} from the root`)
    }
  })
})
