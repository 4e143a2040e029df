/**
 * Errors the public API maps to HTTP statuses. Each names the field and the limit so the
 * caller can fix the request; 5xx messages never carry internals.
 */
import type { ErrorCode } from '../../functions/engine/error-codes.js';
import { SpillwayError } from '../../functions/engine/spillway-error.js';

export class ApiError extends SpillwayError {
  constructor(
    readonly status: number,
    /** Catalogued in functions/engine/error-codes.ts (status, retry, meaning); docs/error-codes.md. */
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly retryAfterS?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `request body exceeds the limit of ${limitBytes} bytes`);
  }
}

/** The request body did not arrive in full: too slow (timeout) or the client hung up mid-body. */
export class BodyIncompleteError extends ApiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(408, 'request_timeout', message, 'body', undefined, options);
  }
}

/** The method does not apply to an existing route; `allow` becomes the `Allow` header (RFC 9110 15.5.6). */
export class MethodNotAllowedError extends ApiError {
  constructor(
    method: string,
    readonly allow: readonly string[],
  ) {
    super(405, 'method_not_allowed', `method ${method.slice(0, 16)} not allowed; use ${allow.join(' or ')}`, 'method');
  }
}

export class UnauthorizedError extends ApiError {
  constructor() {
    super(401, 'unauthorized', 'missing or invalid x-api-key header');
  }
}

/** Every backend that could take the request was tried (or throttled); the caller should retry later. */
export class NoCapacityError extends ApiError {
  constructor(message: string, retryAfterS: number, options?: { cause?: unknown }) {
    super(503, 'no_capacity', message, undefined, retryAfterS, options);
  }
}

export class DeadlineError extends ApiError {
  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super(504, 'deadline_exceeded', message, field, undefined, options);
  }
}

/** The controller is draining for shutdown: the request was not started; retry (another instance, or after restart). */
export class ShuttingDownError extends ApiError {
  constructor() {
    super(503, 'shutting_down', 'the server is shutting down and accepts no new requests; retry', undefined, 1);
  }
}

/**
 * Refused at admission, before the body was read: the router already holds its limit of inference
 * requests (or of their body bytes). The message names the limit and its setting; Retry-After 1 s.
 */
export class OverloadedError extends ApiError {
  constructor(message: string, retryAfterS = 1) {
    super(503, 'overloaded', message, undefined, retryAfterS);
  }
}
