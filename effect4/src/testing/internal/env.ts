/**
 * What a route gets besides the state: the simulator's configuration, Clock now, and the request with its body
 * parsed at most once (the routes and the request log share the parse).
 *
 * @internal
 */
import type { Limits } from "./lifecycle.js"
import type { Options, Responder, SimRequest } from "./model.js"
import * as Multipart from "./multipart.js"
import type { State } from "./state.js"
import type { Answer } from "./wire.js"

/** @internal */
export interface Config {
  readonly options: Options
  readonly responder: Responder
  readonly limits: Limits
}

/** @internal */
export type ParsedJson = { readonly ok: true; readonly value: unknown } | { readonly ok: false }

/** The request body, parsed on first use. @internal */
export interface Body {
  readonly json: () => ParsedJson
  /** `undefined` when the body is not `multipart/form-data`; a string says why it could not be read. */
  readonly multipart: () => ReadonlyArray<Multipart.Part> | string | undefined
}

/** @internal */
export interface Env {
  readonly config: Config
  readonly now: number
  readonly request: SimRequest
  readonly body: Body
}

/** A route's answer and the state after it. @internal */
export type Step = readonly [Answer, State]

const decoder = new TextDecoder()

/** @internal */
export const bodyOf = (request: SimRequest): Body => {
  let json: ParsedJson | undefined
  let multipart: ReadonlyArray<Multipart.Part> | string | undefined | null = null
  return {
    json: () => {
      if (json === undefined) {
        try {
          json = { ok: true, value: JSON.parse(decoder.decode(request.body)) }
        } catch {
          json = { ok: false }
        }
      }
      return json
    },
    multipart: () => {
      if (multipart === null) {
        const boundary = Multipart.boundaryOf(request.headers["content-type"])
        multipart = boundary === undefined ? undefined : Multipart.parse(request.body, boundary)
      }
      return multipart
    }
  }
}
