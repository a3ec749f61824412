/**
 * Azure OpenAI's shape of the same API, mapped onto the simulator's routes here and only here: the `/openai` prefix
 * in place of `/v1` (and a create sent to `/openai/deployments/{deployment}/batches`, as openai-node's `AzureOpenAI`
 * sends it), an `api-version` query parameter on every request (any non-empty value; without it, Azure's 404
 * `Resource not found`), and the key in an `api-key` header (or `Authorization: Bearer`, as Azure takes a token
 * there), held to the same rules as the bearer key of `/v1`. A `/v1` request takes the bearer key only, as OpenAI.
 *
 * @internal
 */
import type { SimRequest } from "./model.js"
import type { Answer } from "./wire.js"
import { apiError } from "./wire.js"

/** How a request reached the simulator: the path the routes serve (`/v1/...`) and the key it carries. @internal */
export interface Shaped {
  readonly azure: boolean
  readonly path: string
  /** `undefined` when none was sent (or an empty one). */
  readonly key: string | undefined
}

const prefix = "/openai"

const bearerOf = (request: SimRequest): string | undefined => {
  const header = request.headers["authorization"]
  return header === undefined ? undefined : /^Bearer\s+(.+)$/i.exec(header.trim())?.[1]?.trim()
}

const nonEmpty = (value: string | undefined) => value === undefined || value.length === 0 ? undefined : value

/** `/openai/deployments/{deployment}/batches` (a create only) is `/batches`; any other path keeps its rest. */
const restOf = (method: string, rest: string): string => {
  const deployment = /^\/deployments\/[^/]+(\/batches\/*)$/.exec(rest)
  return deployment !== null && method.toUpperCase() === "POST" ? deployment[1]! : rest
}

/** @internal */
export const shape = (request: SimRequest): Shaped => {
  const { method, path } = request
  if (path !== prefix && !path.startsWith(`${prefix}/`)) {
    return { azure: false, path, key: nonEmpty(bearerOf(request)) }
  }
  return {
    azure: true,
    path: `/v1${restOf(method, path.slice(prefix.length))}`,
    key: nonEmpty(request.headers["api-key"]?.trim()) ?? nonEmpty(bearerOf(request))
  }
}

/** Azure's answer to a missing or wrong key (both the same there). @internal */
export const accessDenied: Answer = apiError(
  401,
  "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an " +
    "active subscription and use a correct regional API endpoint for your resource.",
  { code: "401" }
)

/** Azure's answer to a request without `api-version`, or `undefined` when it has one. @internal */
export const versionMissing = (request: SimRequest): Answer | undefined =>
  nonEmpty(request.query["api-version"]) === undefined
    ? apiError(404, "Resource not found", { code: "404" })
    : undefined
