/**
 * One request, start to end, as a pure step over the state: the next matching fault, `settle` up to now, the key
 * (a bearer key, or Azure OpenAI's `api-key`: ./azure.ts maps Azure's shape onto the same routes), the route, the
 * headers the API sends (`x-request-id`, `openai-version`, `openai-processing-ms`, `openai-organization`), and the
 * entry for the request log (as sent: an Azure request's `/openai` path; never the key).
 *
 * @internal
 */
import * as Azure from "./azure.js"
import * as BatchRoutes from "./batchRoutes.js"
import * as Early from "./early.js"
import type { Body, Config, Env, Step } from "./env.js"
import { bodyOf } from "./env.js"
import * as Faults from "./faults.js"
import * as FileRoutes from "./fileRoutes.js"
import type { Fault, LoggedRequest, Options, SimRequest, SimResponse } from "./model.js"
import { organization, testApiKey } from "./model.js"
import * as Multipart from "./multipart.js"
import type { State } from "./state.js"
import { requestIdOf, settle } from "./state.js"
import * as UploadRoutes from "./uploadRoutes.js"
import type { Answer } from "./wire.js"
import { apiError } from "./wire.js"

/** The key rules: a key was sent, and it is the one accepted (or any, with `acceptAnyKey`). */
const authorize = (options: Options, shaped: Azure.Shaped): Answer | undefined => {
  const accepted = shaped.key !== undefined &&
    (options.acceptAnyKey === true || shaped.key === (options.apiKey ?? testApiKey))
  if (accepted) return undefined
  if (shaped.azure) return Azure.accessDenied
  if (shaped.key === undefined) {
    return apiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      { param: null, code: null }
    )
  }
  return apiError(
    401,
    "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    {
      code: "invalid_api_key"
    }
  )
}

/** `path` is the one the routes serve (`/v1/...`, an Azure request's mapped onto it). */
const route = (state: State, env: Env, path: string): Step => {
  const segments = path.replace(/\/+$/, "").split("/").slice(1).map((segment) =>
    segment.includes("%") ? decodeURIComponent(segment) : segment
  )
  const [v1, resource, id, action, ...extra] = segments
  const routed = v1 !== "v1" || extra.length > 0
    ? undefined
    : resource === "batches"
    ? BatchRoutes.route(state, env, id, action)
    : resource === "files"
    ? FileRoutes.route(state, env, id, action)
    : resource === "uploads"
    ? UploadRoutes.route(state, env, id, action)
    : undefined
  return routed ?? [apiError(404, `Invalid URL (${env.request.method} ${env.request.path})`), state]
}

/**
 * The headers a log keeps: never the key (`authorization`, `api-key`).
 *
 * @internal
 */
export const loggedHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const { "api-key": _apiKey, authorization: _authorization, ...kept } = headers
  return kept
}

/**
 * The API's own headers. `openai-processing-ms` is a deterministic stand-in (the simulator does not time itself,
 * so that runs repeat exactly).
 */
const apiHeaders = (requestNumber: number): Record<string, string> => ({
  "x-request-id": requestIdOf(requestNumber),
  "openai-organization": organization,
  "openai-processing-ms": String(20 + ((requestNumber * 7919) % 180)),
  "openai-version": "2020-10-01"
})

const respond = (answer: Answer, headers: Record<string, string>, cutAt?: number): SimResponse => ({
  _tag: "Response",
  status: answer.status,
  headers: { "content-type": answer.contentType, ...headers },
  body: answer.body,
  ...(cutAt === undefined ? {} : { cutAt })
})

const proxyPage = new TextEncoder().encode("<html><body><h1>200 OK</h1><p>upstream says hello</p></body></html>")

const decoder = new TextDecoder()

/** The logged body: parsed JSON, the fields of a multipart upload (files as name and size), or the text. */
const logBody = (request: SimRequest, body: Body): unknown => {
  if (request.body.length === 0) return undefined
  const parts = body.multipart()
  if (parts !== undefined) {
    if (typeof parts === "string") return undefined
    return Object.fromEntries(parts.map((part) =>
      part.filename === undefined
        ? [part.name, Multipart.text(part)]
        : [part.name, { filename: part.filename, bytes: part.data.length }]
    ))
  }
  const parsed = body.json()
  return parsed.ok ? parsed.value : decoder.decode(request.body)
}

/**
 * Answers `request` at `now`: the response, the log entry (unless logging is off), and the next state.
 *
 * @internal
 */
export const step =
  (config: Config, request: SimRequest, now: number) =>
  (initial: State): readonly [readonly [SimResponse, LoggedRequest | undefined], State] => {
    const [fault, faults] = Faults.take(initial.faults, request, Early.lateOnly(request))
    const settled = settle(faults === initial.faults ? initial : { ...initial, faults }, now, config.limits)
    const requestNumber = settled.requests + 1
    const counted: State = { ...settled, requests: requestNumber }
    const body = bodyOf(request)
    const handled = (): Step => {
      const shaped = Azure.shape(request)
      const refused = authorize(config.options, shaped) ?? (shaped.azure ? Azure.versionMissing(request) : undefined)
      return refused !== undefined ? [refused, counted] : route(counted, { config, now, request, body }, shaped.path)
    }
    const [response, state, status] = outcome(fault, handled, counted, requestNumber)
    if (config.options.logRequests === false) return [[response, undefined], state]
    const entry: LoggedRequest = {
      method: request.method,
      path: request.path,
      query: request.query,
      headers: loggedHeaders(request.headers),
      body: logBody(request, body),
      at: now,
      ...(fault === undefined ? {} : { fault: fault._tag }),
      ...(status === undefined ? {} : { status })
    }
    return [[response, entry], state]
  }

/** What a fault (or none) makes of the request: the response, the state after it, and the status sent. */
const outcome = (
  fault: Fault | undefined,
  handled: () => Step,
  counted: State,
  requestNumber: number
): readonly [SimResponse, State, number | undefined] => {
  const headers = apiHeaders(requestNumber)
  switch (fault?._tag) {
    case "Dropped":
    case "ResetDuringBody":
      return [{ _tag: "Dropped" }, counted, undefined]
    case "Timeout":
      return [{ _tag: "NoAnswer" }, counted, undefined]
    case "RateLimited": {
      const retry: Record<string, string> = {}
      if (fault.retryAfterSeconds !== undefined) retry["retry-after"] = String(fault.retryAfterSeconds)
      if (fault.retryAfterMs !== undefined) retry["retry-after-ms"] = String(fault.retryAfterMs)
      const answer = apiError(429, "Rate limit reached for requests. Please try again later. (simulated)", {
        type: "requests",
        code: "rate_limit_exceeded"
      })
      return [respond(answer, { ...headers, ...retry }), counted, 429]
    }
    case "ServerError": {
      const message = "The server had an error while processing your request. Sorry about that! (simulated)"
      return [respond(apiError(fault.status, message, { type: "server_error" }), headers), counted, fault.status]
    }
    case "MalformedBody": {
      // A proxy's page: none of the API's own headers but the request id the client may log.
      const answer: Answer = { status: 200, body: proxyPage, contentType: "text/html" }
      return [respond(answer, { "x-request-id": requestIdOf(requestNumber) }), counted, 200]
    }
    case "TruncatedBody": {
      const [answer, state] = handled()
      const cut = { ...answer, body: answer.body.subarray(0, Math.floor(answer.body.length / 2)) }
      return [respond(cut, headers), state, answer.status]
    }
    case "CutDuringBody": {
      const [answer, state] = handled()
      return [respond(answer, headers, Math.floor(answer.body.length / 2)), state, answer.status]
    }
    case "CommitThenDrop": {
      const [, state] = handled()
      return [{ _tag: "Dropped" }, state, undefined]
    }
    case "CommitThenTimeout": {
      const [, state] = handled()
      return [{ _tag: "NoAnswer" }, state, undefined]
    }
    case undefined: {
      const [answer, state] = handled()
      return [respond(answer, headers), state, answer.status]
    }
  }
}
