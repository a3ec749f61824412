/**
 * The simulator's vocabulary for its pieces: the public types, declared in `BatchApiSimulator` and re-exported here
 * as types only, and the constants and error of `defaults.ts`. The pieces import this module, never the public
 * one's values, so no value cycle forms.
 *
 * @internal
 */
export type {
  Enqueued,
  EnqueuedLimit,
  ErrorItem,
  Fault,
  FaultOptions,
  LoggedRequest,
  Options,
  RequestLine,
  RequestMatcher,
  Responder,
  ResponderContext,
  ResponderResult,
  Script,
  SeedOptions,
  SimFile,
  SimRequest,
  SimResponse,
  Simulator,
  SimUpload
} from "../BatchApiSimulator.js"

export { defaultScript, NoSuchBatchError, organization, testApiKey } from "./defaults.js"
