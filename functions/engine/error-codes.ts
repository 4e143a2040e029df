/**
 * The one catalogue of public error codes: every `error.code` a client can receive from the public
 * API (controller/server: /v1/infer, /v1/models/{name}/infer, ...) or from a backend (VM server,
 * Lambda handler). The error classes take their code from `ErrorCode` (the keys below), so a code
 * that is not catalogued does not compile; docs/error-codes.md is generated from it
 * (`npm run docs:error-codes`) and the OpenAPI ErrorBody lists the keys as an enum.
 *
 * The OIP (/v2) and SageMaker routes answer in their own shapes (`{error}` / `x-amzn-errortype`)
 * from the same ApiError status and message; the status column holds for them too.
 *
 * Lives in functions/engine/ because both the controller and the serving layer import it, and the
 * engine imports neither (same reason as spillway-error.ts).
 */

export interface ErrorCodeEntry {
  /** HTTP status the code is sent with; '4xx' = the backend's own 4xx, passed through. */
  readonly status: number | '4xx';
  /** Can the same request, sent again later, succeed? (false: change the request or the setup first). */
  readonly retryable: boolean;
  /** Retry-After seconds sent with it: a number, 'varies' (computed per reply), or null (none sent). */
  readonly retryAfterS: number | 'varies' | null;
  /** Who sends it: 'api' = the public controller API, 'backend' = VM server and Lambda handler. */
  readonly from: readonly ('api' | 'backend')[];
  /** One line for the docs table. */
  readonly meaning: string;
}

const API = ['api'] as const;
const BACKEND = ['backend'] as const;
// A backend 4xx is passed through to the public client unchanged (dispatch.ts passThrough).
const BOTH = ['api', 'backend'] as const;

export const ERROR_CODES = {
  invalid_request: {
    status: 400,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'The body or a parameter fails its schema; `field` names it and the message the limit.',
  },
  invalid_json: {
    status: 400,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'The body is not valid JSON.',
  },
  invalid_path: {
    status: 400,
    retryable: false,
    retryAfterS: null,
    from: API,
    meaning: 'The URL path has a malformed percent-escape.',
  },
  invalid_image: {
    status: 400,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'The image is not base64, is empty, is not JPEG/PNG/WebP, or its header cannot be decoded.',
  },
  invalid_input: {
    status: 400,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'The engine refused the input for this model (e.g. a tensor shape or dtype it does not take).',
  },
  unauthorized: {
    status: 401,
    retryable: false,
    retryAfterS: null,
    from: API,
    meaning: 'Missing or wrong API key (x-api-key or Authorization: Bearer).',
  },
  not_found: {
    status: 404,
    retryable: false,
    retryAfterS: null,
    from: API,
    meaning: 'No such route, task or model on the public API; the message lists what is served.',
  },
  unknown_model: {
    status: 404,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'The backend does not serve that model variant.',
  },
  method_not_allowed: {
    status: 405,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'The route exists but not for this method; the Allow header says which.',
  },
  request_timeout: {
    status: 408,
    retryable: true,
    retryAfterS: null,
    from: API,
    meaning: 'The body did not arrive in full (too slow, or the client hung up mid-body).',
  },
  payload_too_large: {
    status: 413,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'The body exceeds the configured limit (the message names it in bytes).',
  },
  unsupported_media_type: {
    status: 415,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'Content-Type is not application/json.',
  },
  client_closed_request: {
    status: 499,
    retryable: true,
    retryAfterS: null,
    from: BACKEND,
    meaning: "The client hung up mid-body (nginx's 499); counted in /metrics, nobody is left to read it.",
  },
  slo_unattainable: {
    status: 422,
    retryable: false,
    retryAfterS: null,
    from: API,
    meaning: 'No served variant can meet the requested sloMs; relax it (the message gives the fastest).',
  },
  backend_rejected: {
    status: '4xx',
    retryable: false,
    retryAfterS: null,
    from: API,
    meaning: "A backend refused the call with a code of its own (e.g. Lambda's RequestTooLargeException).",
  },
  internal: {
    status: 500,
    retryable: false,
    retryAfterS: null,
    from: BOTH,
    meaning: 'An unexpected error; details are in the server log only, never in the reply.',
  },
  backend_failed: {
    status: 502,
    retryable: true,
    retryAfterS: 1,
    from: API,
    meaning: 'Every backend tried failed (e.g. Lambda function errors); retry later.',
  },
  no_capacity: {
    status: 503,
    retryable: true,
    retryAfterS: 'varies',
    from: API,
    meaning: 'Lambda is throttling and no VM has room, or the variant is cold; Retry-After estimates when.',
  },
  overloaded: {
    status: 503,
    retryable: true,
    retryAfterS: 1,
    from: API,
    meaning: 'The router already holds its limit of inference requests (or body bytes); refused unread.',
  },
  shutting_down: {
    status: 503,
    retryable: true,
    retryAfterS: 1,
    from: API,
    meaning: 'The controller is draining for shutdown; the request was not started.',
  },
  queue_full: {
    status: 503,
    retryable: true,
    retryAfterS: 'varies',
    from: BACKEND,
    meaning: "The VM server's queue is at its limit; Retry-After is the time to drain it (at least 1 s).",
  },
  spot_reclaim: {
    status: 503,
    retryable: true,
    retryAfterS: 1,
    from: BACKEND,
    meaning: "This Spot VM got EC2's two-minute interruption notice: it finishes what it accepted and takes nothing new; the router sends the request elsewhere.",
  },
  draining: {
    status: 503,
    retryable: true,
    retryAfterS: 1,
    from: BACKEND,
    meaning: 'The VM server is shutting down and accepts no new requests.',
  },
  not_ready: {
    status: 503,
    retryable: true,
    retryAfterS: 1,
    from: BACKEND,
    meaning: 'The VM server is still loading its models.',
  },
  not_spot: {
    status: 409,
    retryable: false,
    retryAfterS: null,
    from: API,
    meaning: 'POST /v1/vms/{id}/reclaim named an on-demand VM: only a Spot VM (`<type>:spot`) can be reclaimed.',
  },
  deadline_exceeded: {
    status: 504,
    retryable: true,
    retryAfterS: null,
    from: BOTH,
    meaning: "No answer within the request's budget (sloMs / budgetMs); the call was abandoned.",
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes sent with one HTTP status, e.g. `ErrorCodeOf<400>` for InvalidRequestError's `code` option. */
export type ErrorCodeOf<S extends number | '4xx'> = {
  [K in ErrorCode]: (typeof ERROR_CODES)[K]['status'] extends S ? K : never;
}[ErrorCode];

/** The keys as a non-empty tuple (for z.enum and the OpenAPI enum). */
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
