/**
 * What each of the library's transports declares about its bodies (`Transport.Service.bodyIdleTimeout`): the
 * pipeline leaves a download's stalls to the transport only where it says it cuts them itself.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Duration, Effect } from "effect"
import * as Undici from "undici"
import * as FetchTransport from "../../src/transport/FetchTransport.js"
import * as Transport from "../../src/transport/Transport.js"
import * as UndiciTransport from "../../src/transport/UndiciTransport.js"

const declared = (layer: Layer.Layer<Transport.Transport>) =>
  Effect.map(Transport.Transport, (transport) => transport.bodyIdleTimeout).pipe(Effect.provide(layer))

describe("Transport.Service.bodyIdleTimeout", () => {
  it.effect("UndiciTransport: true with undici's bodyTimeout (its default), false when it is turned off", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* declared(UndiciTransport.layer))
      assert.isTrue(yield* declared(UndiciTransport.layerWithOptions({ bodyTimeout: "1 minute" })))
      assert.isFalse(yield* declared(UndiciTransport.layerWithOptions({ bodyTimeout: 0 })))
      assert.isFalse(yield* declared(UndiciTransport.layerWithOptions({ bodyTimeout: Duration.infinity })))
      const dispatcher = new Undici.Agent()
      try {
        // without the option, the dispatcher's own (undici's 5 minutes)
        assert.isTrue(UndiciTransport.fromDispatcher(dispatcher).bodyIdleTimeout)
        assert.isTrue(UndiciTransport.fromDispatcher(dispatcher, { bodyTimeout: "2 minutes" }).bodyIdleTimeout)
        assert.isFalse(UndiciTransport.fromDispatcher(dispatcher, { bodyTimeout: 0 }).bodyIdleTimeout)
      } finally {
        yield* Effect.promise(() => dispatcher.destroy())
      }
    }))

  it.effect("FetchTransport: true (Node's fetch is undici, with its 5-minute bodyTimeout)", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* declared(FetchTransport.layer))
    }))
})
