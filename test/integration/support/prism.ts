/**
 * Stoplight Prism as a child process: `prism mock <spec> -h 127.0.0.1 -p <free port> --errors`, started once for a
 * test file (as a scoped layer) and killed when the layer's scope closes. Its output is kept, because Prism logs its
 * verdict on every request ("The request passed the validation rules" or "Request did not pass the validation
 * rules"): a second witness next to the HTTP status and the `sl-violations` header.
 */
import { Context, Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { whileProgressing } from "../../support/patience.js"
import { freePort } from "./server.js"

export interface Service {
  /** `http://127.0.0.1:<port>`: Prism serves the spec's paths without the `/v1` prefix. */
  readonly baseUrl: string
  readonly pid: number
  /** Every line Prism printed so far. */
  readonly lines: () => ReadonlyArray<string>
  /**
   * Waits until the output satisfies `done` (Prism's log can trail its HTTP answer a little); fails once Prism
   * printed nothing for `idleMillis` (stretched by the machine's load, see test/support/patience.ts).
   */
  readonly waitForOutput: (
    done: (lines: ReadonlyArray<string>) => boolean,
    idleMillis?: number
  ) => Effect.Effect<void, Error>
}

export class Prism extends Context.Tag("test/integration/Prism")<Prism, Service>() {}

const bin = fileURLToPath(new URL("../../../node_modules/.bin/prism", import.meta.url))
export const specPath = fileURLToPath(new URL("../../../fixtures/openapi.batches.yaml", import.meta.url))

/** Prism prints a line as it loads the spec, one per route, then "Prism is listening". */
const startupIdleMillis = 25_000

const stop = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const force = setTimeout(() => child.kill("SIGKILL"), 3000)
    child.once("exit", () => {
      clearTimeout(force)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

/** Prism on a free port for the layer's lifetime. */
export const layer: Layer.Layer<Prism, Error> = Layer.scoped(
  Prism,
  Effect.gen(function*() {
    const port = yield* freePort
    const lines: Array<string> = []
    let partial = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(bin, ["mock", specPath, "-h", "127.0.0.1", "-p", String(port), "--errors", "--multiprocess=false"], {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }
        })
      ),
      stop
    )
    const onData = (chunk: Buffer) => {
      const text = partial + chunk.toString("utf8")
      const parts = text.split("\n")
      partial = parts.pop() ?? ""
      for (const line of parts) lines.push(line)
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)

    const waitForOutput = (
      done: (lines: ReadonlyArray<string>) => boolean,
      idleMillis = 5_000
    ): Effect.Effect<void, Error> =>
      whileProgressing(
        Effect.async<void, Error>((resume) => {
          const check = () => {
            if (done(lines)) {
              finish()
              resume(Effect.void)
            } else if (child.exitCode !== null || child.signalCode !== null) {
              finish()
              resume(
                Effect.fail(new Error(`Prism exited (${child.exitCode ?? child.signalCode}):\n${lines.join("\n")}`))
              )
            }
          }
          const timer = setInterval(check, 20)
          const finish = () => clearInterval(timer)
          check()
          return Effect.sync(finish)
        }),
        {
          progress: () => lines.length + partial.length,
          idleMillis,
          what: (limit) =>
            `Prism output did not show what was awaited (nothing new for ${limit} ms):\n${lines.slice(-30).join("\n")}`
        }
      )

    yield* waitForOutput((all) => all.some((line) => line.includes("Prism is listening")), startupIdleMillis)
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      pid: child.pid ?? -1,
      lines: () => [...lines],
      waitForOutput
    }
  })
)
