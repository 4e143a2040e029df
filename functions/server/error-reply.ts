/**
 * Maps any thrown value to an HTTP reply with an ErrorBody. Client-facing errors keep their
 * status/code/field/message; engine input errors become 400; anything else is a 500 with a
 * generic message (the details go to the log only, never to the client).
 */
import type { Logger } from 'pino';
import type { ErrorCode } from '../engine/error-codes.js';
import type { ErrorBody } from '../engine/protocol.js';
import { ClientFacingError } from './errors.js';

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

/** Engine errors are matched by name so this module does not depend on the engine's internals. */
const ENGINE_CLIENT_ERRORS: Record<string, { status: number; code: ErrorCode }> = {
  InvalidInputError: { status: 400, code: 'invalid_input' },
  UnknownVariantError: { status: 404, code: 'unknown_model' },
};

export function errorReply(err: unknown, log?: Logger): ErrorReply {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (err instanceof ClientFacingError) {
    if (err.retryAfterS !== undefined) headers['retry-after'] = String(err.retryAfterS);
    if (err.status >= 500) log?.warn({ code: err.code, msg: err.message }, 'request refused');
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.field) body.error.field = err.field;
    return { status: err.status, headers, body };
  }
  const name = err instanceof Error ? err.name : '';
  const mapped = ENGINE_CLIENT_ERRORS[name];
  if (mapped && err instanceof Error) {
    const field = (err as { field?: unknown }).field;
    const body: ErrorBody = { error: { code: mapped.code, message: err.message.slice(0, 500) } };
    if (typeof field === 'string') body.error.field = field;
    return { status: mapped.status, headers, body };
  }
  log?.error({ err }, 'internal error');
  return { status: 500, headers, body: { error: { code: 'internal', message: 'internal error' } } };
}
