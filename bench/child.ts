/**
 * Child processes of the benchmark: the server and every measured client run in their own Node process (started
 * with tsx's loader), so each client's CPU and peak RSS are its own. The orchestrator talks to them over IPC.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url))
/** Where `--profile` writes .cpuprofile files (ignored by git). */
export const profileDir = fileURLToPath(new URL("./profiles/", import.meta.url))
const repoRoot = fileURLToPath(new URL("../", import.meta.url))

/** An IPC message: an object with a string `type`. */
export interface Message {
  readonly type: string
  readonly [key: string]: unknown
}

const isMessage = (value: unknown): value is Message =>
  typeof value === "object" && value !== null && "type" in value && typeof value.type === "string"

/** A running child with a queue of its messages. */
export interface Child {
  readonly process: ChildProcess
  readonly send: (message: Message) => void
  /** The next message, or a rejection if the child exits (or sends an `error`) first. */
  readonly next: <T extends string>(type: T) => Promise<Message & { readonly type: T }>
  readonly exited: Promise<number | null>
}

export interface SpawnOptions {
  /** Write CPU profiles into `profileDir/<name>/`. */
  readonly profileName?: string | undefined
  /**
   * Run this compiled `worker.js` with plain `node` instead of `bench/worker.ts` under tsx (tsx alone costs
   * ~180 MB of RSS; the results suite measures RSS against a goal below that).
   */
  readonly compiledWorker?: string | undefined
  /** Extra Node options, e.g. `--max-old-space-size=64`. */
  readonly nodeArgs?: ReadonlyArray<string> | undefined
  /** The Node executable (default: this process's); the Effect 4 edition's clients run on Node >= 22.19. */
  readonly node?: string | undefined
}

/** Starts `bench/worker.ts <role> ...args` under tsx (or a compiled worker.js with plain node). */
export const spawnWorker = (role: string, args: ReadonlyArray<string>, options: SpawnOptions = {}): Child => {
  const nodeArgs = [...(options.compiledWorker === undefined ? ["--import", "tsx"] : []), ...(options.nodeArgs ?? [])]
  if (options.profileName !== undefined) {
    // One directory per child: Node writes a profile per thread (tsx's loader runs on its own thread), and
    // bench/profile.ts picks the main thread's (the busiest) from the directory.
    const dir = join(profileDir, options.profileName)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    nodeArgs.push("--cpu-prof", "--cpu-prof-dir", dir)
  }
  const child = spawn(options.node ?? process.execPath, [
    ...nodeArgs,
    options.compiledWorker ?? workerPath,
    role,
    ...args
  ], {
    cwd: repoRoot,
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const queue: Array<Message> = []
  let waiter: { resolve: (m: Message) => void; reject: (e: Error) => void } | undefined
  let failure: Error | undefined
  const fail = (error: Error) => {
    failure ??= error
    if (waiter !== undefined) {
      const w = waiter
      waiter = undefined
      w.reject(failure)
    }
  }
  child.on("message", (raw: unknown) => {
    if (!isMessage(raw)) return
    if (raw.type === "error") return fail(new Error(`${role} ${args.join(" ")}: ${String(raw["message"])}`))
    if (waiter !== undefined) {
      const w = waiter
      waiter = undefined
      w.resolve(raw)
    } else {
      queue.push(raw)
    }
  })
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      fail(new Error(`${role} ${args.join(" ")} exited (code ${code}) before answering`))
      resolve(code)
    })
  })
  const next = <T extends string>(type: T): Promise<Message & { readonly type: T }> =>
    new Promise<Message>((resolve, reject) => {
      const queued = queue.shift()
      if (queued !== undefined) return resolve(queued)
      if (failure !== undefined) return reject(failure)
      waiter = { resolve, reject }
    }).then((message) => {
      if (message.type !== type) throw new Error(`${role}: expected a ${type} message, got ${message.type}`)
      return message as Message & { readonly type: T }
    })
  return { process: child, send: (message) => child.send(message), next, exited }
}

/** A number field of a message (children are ours, but a wrong field should fail loudly, not print NaN). */
export const num = (message: Message, key: string): number => {
  const value = message[key]
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`message ${message.type} has no number ${key}`)
  }
  return value
}

/** In a child: report a message to the orchestrator (or print it, when run by hand without IPC). */
export const report = (message: Message): void => {
  if (process.send === undefined) console.log(JSON.stringify(message))
  else process.send(message)
}

const inbox: Array<Message> = []
let inboxWaiter: ((message: Message) => void) | undefined
let listening = false

/** In a child: the next message from the orchestrator. */
export const receive = (): Promise<Message> => {
  if (!listening) {
    listening = true
    process.on("message", (raw: unknown) => {
      if (!isMessage(raw)) return
      if (inboxWaiter !== undefined) {
        const w = inboxWaiter
        inboxWaiter = undefined
        w(raw)
      } else {
        inbox.push(raw)
      }
    })
  }
  const queued = inbox.shift()
  return queued !== undefined ? Promise.resolve(queued) : new Promise((resolve) => {
    inboxWaiter = resolve
  })
}

/** In a child: peak resident set size of this process so far, in MiB. */
export const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024
