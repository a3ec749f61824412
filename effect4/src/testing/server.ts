/**
 * The Batch API simulator over real HTTP (`effect-openai-batch/testing/server`): the same `handle` as the
 * in-process simulator, served on `@effect/platform-node`'s HTTP server, on 127.0.0.1.
 * Point any OpenAI client at `baseUrl` (the official SDKs too), or an Azure OpenAI client at `url` (its endpoint:
 * `/openai/...`, `api-version`, `api-key`). Its clock is the real one or an accelerated one (`speed`: simulated
 * seconds per real second), so a 24-hour window can pass in minutes.
 *
 * This is the only module of the package that needs `@effect/platform-node` (an optional peer dependency).
 *
 * The Effect 4 edition: the app is one HTTP effect (`effect/http`), served with `NodeHttpServer.make`'s `serve`;
 * it runs interruptibly (Effect 4's server runs handlers uninterruptibly unless told), so that a request never
 * answered does not hold the server's close, and the server stops without a graceful wait. Clocks are provided as
 * the `Clock.Clock` reference.
 *
 * @since 4.0.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import type { ServeError } from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type * as Http2 from "node:http2"
import * as BatchApiSimulator from "./BatchApiSimulator.js"
import * as SimulatorClock from "./internal/clock.js"
import * as Early from "./internal/early.js"
import * as SimulatorWebhooks from "./SimulatorWebhooks.js"

/**
 * @since 4.0.0
 * @category Models
 */
export interface Options extends BatchApiSimulator.Options {
  /** The port on 127.0.0.1; 0 (the default) picks a free one (read it from `port`). */
  readonly port?: number
  /**
   * Simulated seconds per real second. Default 1 (the real clock). A client's own schedules do not speed up: run
   * it on `server.clock` (`Effect.withClock`), or poll often.
   */
  readonly speed?: number
  /**
   * Deliver `batch.*` webhook events to `url` (with `fetch`), when batches end on the server's clock. Their
   * `webhook-timestamp` is the real time unless `timestamps: "simulator"`: an endpoint elsewhere checks it against
   * its own clock.
   */
  readonly webhooks?: (SimulatorWebhooks.Options & { readonly url: string }) | undefined
}

/**
 * A running server.
 *
 * @since 4.0.0
 * @category Models
 */
export interface SimulatorServer {
  /** The bound port. */
  readonly port: number
  /**
   * `http://127.0.0.1:<port>`: also an Azure OpenAI client's endpoint
   * (`OpenAiConfig.layerAzure({ endpoint: server.url, apiVersion, apiKey })`).
   */
  readonly url: string
  /** `http://127.0.0.1:<port>/v1`: what OpenAI clients take as their base URL. */
  readonly baseUrl: string
  /** The served simulator; its handles run on the server's clock (accelerated with `speed`), as its requests do. */
  readonly simulator: BatchApiSimulator.Simulator
  /**
   * The server's clock: the real one, or with `speed` an accelerated one. Run a client on it
   * (`Effect.withClock(server.clock)`) and its polls and timeouts keep pace with the batches.
   *
   * @since 4.0.0
   */
  readonly clock: Clock.Clock
  /**
   * The webhook deliveries, with the `webhooks` option.
   *
   * @since 4.0.0
   */
  readonly webhooks: SimulatorWebhooks.Service | undefined
}

/**
 * @since 4.0.0
 * @category Context
 */
export class BatchApiSimulatorServer extends Context.Service<BatchApiSimulatorServer, SimulatorServer>()(
  "effect-openai-batch/testing/BatchApiSimulatorServer"
) {}

const noBody = new Uint8Array(0)

type Incoming = Http.IncomingMessage | Http2.Http2ServerRequest

/**
 * The whole request body, its chunks joined once at the end (read from the Node request itself, as the Effect 3
 * edition does: there the platform's `request.arrayBuffer` joined the body so far with every chunk).
 */
const readBody = (incoming: Incoming) =>
  Effect.callback<Uint8Array>((resume) => {
    const chunks: Array<Uint8Array> = []
    let length = 0
    incoming.on("data", (chunk: Uint8Array) => {
      chunks.push(chunk)
      length += chunk.length
    })
    incoming.on("end", () => {
      const body = new Uint8Array(length)
      let offset = 0
      for (const chunk of chunks) {
        body.set(chunk, offset)
        offset += chunk.length
      }
      resume(Effect.succeed(body))
    })
    // A body cut short is handled as what arrived (the client is gone anyway).
    incoming.on("error", () => resume(Effect.succeed(noBody)))
  })

/** Reads half of the request body (by its `content-length`), then destroys the socket: the client is mid-upload. */
const resetDuringBody = (incoming: Incoming) =>
  Effect.callback<void>((resume) => {
    const half = Number(incoming.headers["content-length"] ?? "0") / 2
    let received = 0
    let done = false
    const reset = () => {
      if (done) return
      done = true
      incoming.socket.destroy()
      resume(Effect.void)
    }
    incoming.on("data", (chunk: Uint8Array) => {
      received += chunk.length
      if (received >= half) reset()
    })
    incoming.on("end", reset)
    incoming.on("error", reset)
  })

/** Announces the whole body, sends its first `cutAt` bytes, then resets the connection: a download broken off. */
const cutDuringBody = (
  outgoing: Http.ServerResponse,
  response: { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: Uint8Array },
  cutAt: number
) =>
  Effect.callback<void>((resume) => {
    outgoing.writeHead(response.status, { ...response.headers, "content-length": String(response.body.length) })
    outgoing.write(response.body.subarray(0, cutAt), () => {
      outgoing.socket?.destroy()
      resume(Effect.void)
    })
  })

/**
 * The HTTP app over a simulator: every path goes to `handle`. A dropped connection destroys the socket; a
 * timeout never answers; a reset during the body destroys the socket once half of the body has arrived; a body cut
 * short is announced whole and broken off.
 *
 * @since 4.0.0
 * @category Constructors
 */
export const app = (
  simulator: BatchApiSimulator.Simulator,
  speed = 1
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> => {
  const withClock = speed === 1
    ? <A>(effect: Effect.Effect<A>) => effect
    : (() => {
      const clock = BatchApiSimulator.acceleratedClock(speed)
      return <A>(effect: Effect.Effect<A>) => SimulatorClock.withClock(effect, clock)
    })()
  const handler = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://127.0.0.1")
    const query: Record<string, string> = {}
    url.searchParams.forEach((value, key) => {
      query[key] = value
    })
    const head = { method: request.method, path: url.pathname, query, headers: { ...request.headers }, body: noBody }
    if (yield* Early.resetsDuringBody(simulator, head)) {
      yield* resetDuringBody(NodeHttpServerRequest.toIncomingMessage(request))
      return yield* Effect.interrupt
    }
    const body = yield* readBody(NodeHttpServerRequest.toIncomingMessage(request))
    const response = yield* withClock(simulator.handle(Early.markChecked({ ...head, body })))
    switch (response._tag) {
      case "Dropped": {
        NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
        return yield* Effect.interrupt
      }
      case "NoAnswer":
        return yield* Effect.never
      case "Response": {
        if (response.cutAt !== undefined) {
          const outgoing = NodeHttpServerRequest.toServerResponse(request)
          // The server is an HTTP/1 server (`make`'s): its responses are `Http.ServerResponse`s.
          if (outgoing instanceof Http.ServerResponse) yield* cutDuringBody(outgoing, response, response.cutAt)
          else outgoing.stream.destroy()
          return yield* Effect.interrupt
        }
        const { "content-type": contentType, ...headers } = response.headers
        return HttpServerResponse.uint8Array(response.body, {
          status: response.status,
          headers,
          ...(contentType === undefined ? {} : { contentType })
        })
      }
    }
  })
  return Effect.interruptible(handler)
}

/**
 * Starts a simulator server on 127.0.0.1; it stops when the scope closes (open connections are closed too).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { make } from "effect-openai-batch/testing/server"
 *
 * // any OpenAI client can be pointed at server.baseUrl; any non-empty key is accepted
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const server = yield* make({ port: 0, speed: 60, acceptAnyKey: true }) // one real second = one batch minute
 *     const response = yield* Effect.promise(() =>
 *       fetch(`${server.baseUrl}/batches`, { headers: { authorization: "Bearer anything" } })
 *     )
 *     return response.status // 200
 *   })
 * )
 * ```
 *
 * @since 4.0.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<SimulatorServer, ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const { port: requestedPort, speed, webhooks: webhookOptions, ...simulatorOptions } = options
    const onRealClock = yield* BatchApiSimulator.make(simulatorOptions)
    const accelerated = speed === undefined || speed === 1 ? undefined : BatchApiSimulator.acceleratedClock(speed)
    const clock = accelerated ?? (yield* Effect.clockWith(Effect.succeed))
    const simulator = accelerated === undefined
      ? onRealClock
      : SimulatorClock.simulatorOn(onRealClock, accelerated)
    const node = Http.createServer()
    const server = yield* NodeHttpServer.make(() => node, {
      port: requestedPort ?? 0,
      host: "127.0.0.1",
      disablePreemptiveShutdown: true
    })
    // Runs before the server's own close: a request that never answers must not keep the close waiting.
    yield* Effect.addFinalizer(() => Effect.sync(() => node.closeAllConnections()))
    yield* server.serve(app(simulator))
    const port = server.address._tag === "UnixPathAddress" ? 0 : server.address.port
    const url = `http://127.0.0.1:${port}`
    const webhooks = webhookOptions === undefined ? undefined : yield* SimulatorWebhooks.layer({
      timestamps: "real",
      ...webhookOptions
    }).pipe(
      Layer.provide(FetchHttpClient.layer),
      Layer.provide(Layer.succeed(BatchApiSimulator.BatchApiSimulator, simulator)),
      Layer.build,
      Effect.map(Context.get(SimulatorWebhooks.SimulatorWebhooks)),
      // Its sleeps and retries on the server's clock, like its batches.
      (effect) => SimulatorClock.withClock(effect, clock)
    )
    return { port, url, baseUrl: `${url}/v1`, simulator, clock, webhooks }
  })

/**
 * A simulator server as a layer, with the simulator in context to script it.
 *
 * @since 4.0.0
 * @category Layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<BatchApiSimulatorServer | BatchApiSimulator.BatchApiSimulator, ServeError> =>
  Layer.effectContext(Effect.map(make(options), (server) =>
    Context.make(BatchApiSimulatorServer, server).pipe(
      Context.add(BatchApiSimulator.BatchApiSimulator, server.simulator)
    )))
