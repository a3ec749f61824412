/**
 * Builds a simulator: its state in a `Ref`, `handle` as the router's pure step at Clock now, the request log, and
 * the handles tests use to script it and look inside.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Batch from "../../Batch.js"
import * as Early from "./early.js"
import type { Config } from "./env.js"
import * as Faults from "./faults.js"
import type { LoggedRequest, Options, Simulator } from "./model.js"
import { NoSuchBatchError } from "./model.js"
import * as Outbox from "./outbox.js"
import * as Responders from "./responder.js"
import { loggedHeaders, step } from "./router.js"
import * as Scripts from "./script.js"
import { seedBatches } from "./seed.js"
import * as Store from "./state.js"
import * as UploadRoutes from "./uploadRoutes.js"
import { batchObject } from "./wire.js"

const decodeBatch = Schema.decodeUnknownSync(Batch.Batch)

const encoder = new TextEncoder()

/**
 * A simulator with empty state.
 *
 * @internal
 */
export const make = (options: Options = {}): Effect.Effect<Simulator> =>
  Effect.gen(function*() {
    const config: Config = {
      options,
      responder: options.responder ?? Responders.defaultResponder,
      limits: { tokens: options.enqueuedTokenLimit, requests: options.enqueuedRequestLimit }
    }
    // Only what the user set: an unset `inProgress` means something for `outcome: "expired"`.
    const ref = yield* Ref.make(Store.initialState({ ...options.script }))
    // The log is append-only and only read by tests: a plain array keeps each request's append O(1).
    let log: Array<LoggedRequest> = []
    // Tells a webhook deliverer (outbox.ts) that a change moved the next instant a batch may end earlier.
    const moved = yield* Queue.sliding<void>(1)
    const modify = <A>(f: (state: Store.State, now: number) => readonly [A, Store.State]) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(ref, (state) => {
          const [result, next] = f(state, now)
          if (next.outbox !== undefined && next.nextEventAt < state.nextEventAt) moved.unsafeOffer(undefined)
          return [result, next]
        }))
    /** Like `modify`, on the state brought up to now first. */
    const settled = <A>(f: (state: Store.State, now: number) => readonly [A, Store.State]) =>
      modify((state, now) => f(Store.settle(state, now, config.limits), now))
    const simulator: Simulator = {
      handle: (request) =>
        Effect.map(modify((state, now) => step(config, request, now)(state)), ([response, entry]) => {
          if (entry !== undefined) log.push(entry)
          return response
        }),
      requests: Effect.sync(() => log.slice()),
      clearRequests: Effect.sync(() => {
        log = []
      }),
      injectFault: (fault, faultOptions = {}) =>
        Ref.update(ref, (state) => ({
          ...state,
          faults: [...state.faults, {
            fault,
            remaining: Math.max(1, faultOptions.times ?? 1),
            match: faultOptions.match
          }]
        })),
      clearFaults: Ref.update(ref, (state) => ({ ...state, faults: [] })),
      setDefaultScript: (script) =>
        Ref.update(ref, (state) => ({ ...state, defaultScript: { ...state.defaultScript, ...script } })),
      scriptNext: (script) => Ref.update(ref, (state) => ({ ...state, nextScripts: [...state.nextScripts, script] })),
      scriptBatch: (id, script) =>
        Effect.flatten(settled((state): readonly [Effect.Effect<void, NoSuchBatchError>, Store.State] => {
          const batch = Store.liveBatch(state, id)
          if (batch === undefined) {
            return [
              Effect.fail(new NoSuchBatchError({ batchId: id })),
              state
            ]
          }
          const scriptSource = { ...batch.scriptSource, ...script }
          const updated: Store.LiveBatch = { ...batch, scriptSource, script: Scripts.resolve(scriptSource) }
          return [Effect.void, Store.updateBatch(state, updated)]
        })),
      seed: (seedOptions) => settled((state, now) => seedBatches(state, seedOptions, now, config.responder)),
      batch: (id) =>
        settled((state, now) => [
          Option.map(HashMap.get(state.batches, id), (batch) => decodeBatch(batchObject(batch, now, options))),
          state
        ]),
      file: (id) =>
        settled((state) => [HashMap.get(state.files, id).pipe(Option.map(({ seq: _seq, ...file }) => file)), state]),
      putFile: (file) =>
        modify((state, now) => {
          const [stored, next] = Store.storeFile(state, now, {
            content: typeof file.content === "string" ? encoder.encode(file.content) : file.content,
            filename: file.filename ?? "input.jsonl",
            purpose: file.purpose ?? "batch"
          })
          const { seq: _seq, ...simFile } = stored
          return [simFile, next]
        }),
      enqueued: (model) => settled((state, now) => [Store.enqueued(state, model, now), state]),
      upload: (id) =>
        modify((state, now) => [
          Option.map(HashMap.get(state.uploads, id), (upload) => UploadRoutes.simUpload(state, upload, now)),
          state
        ])
    }
    Outbox.register(simulator, {
      // Collecting starts before the first settle: a batch that ended unseen before the deliverer came is sent too.
      drain: modify((state, now) => {
        const collecting = Store.settle(
          state.outbox === undefined ? { ...state, outbox: [] } : state,
          now,
          config.limits
        )
        return [{ events: collecting.outbox ?? [], nextAt: collecting.nextEventAt }, { ...collecting, outbox: [] }]
      }),
      changed: Queue.take(moved)
    })
    Early.register(simulator, (head) =>
      Effect.map(
        modify((state, now): readonly [LoggedRequest | undefined, Store.State] => {
          const [fault, faults] = Faults.take(state.faults, head, Early.isEarly)
          if (fault?._tag !== "ResetDuringBody") return [undefined, state]
          const entry: LoggedRequest = {
            ...head,
            headers: loggedHeaders(head.headers),
            body: undefined,
            at: now,
            fault: fault._tag
          }
          return [entry, { ...state, faults }]
        }),
        (entry) => {
          if (entry === undefined) return false
          if (options.logRequests !== false) log.push(entry)
          return true
        }
      ))
    return simulator
  })
