/**
 * Named errors of the serving layer (VM server + Lambda handler). Each one that reaches a client
 * carries its HTTP status, a stable `code`, and optionally the offending `field`, so the reply
 * mapper (error-reply.ts) never has to guess. Everything else is an internal error: 500 with a
 * generic message, details only in the logs.
 */
import type { ErrorCode, ErrorCodeOf } from '../engine/error-codes.js';
import { SpillwayError } from '../engine/spillway-error.js';

export class ServingError extends SpillwayError {}

/** An error that is meant for the client: status, code and message are safe to send. */
export class ClientFacingError extends ServingError {
  constructor(
    readonly status: number,
    /** Catalogued in functions/engine/error-codes.ts (status, retry, meaning); docs/error-codes.md. */
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown; retryAfterS?: number },
  ) {
    super(message, options);
    this.retryAfterS = options?.retryAfterS;
  }
  readonly retryAfterS: number | undefined;
}

export class InvalidRequestError extends ClientFacingError {
  constructor(message: string, field?: string, options?: { cause?: unknown; code?: ErrorCodeOf<400> }) {
    super(400, options?.code ?? 'invalid_request', message, field, options);
  }
}

export class PayloadTooLargeError extends ClientFacingError {
  constructor(limitBytes: number, options?: { cause?: unknown }) {
    super(413, 'payload_too_large', `request body exceeds the limit of ${limitBytes} bytes`, 'body', options);
  }
}

export class UnsupportedMediaTypeError extends ClientFacingError {
  constructor(contentType: string) {
    super(415, 'unsupported_media_type', `content-type must be application/json, got '${contentType.slice(0, 64)}'`, 'content-type');
  }
}

export class UnknownModelError extends ClientFacingError {
  constructor(model: string, served: readonly string[]) {
    super(
      404,
      'unknown_model',
      `model '${model.slice(0, 128)}' is not served here; served: ${served.join(', ') || '(none)'}`,
      'model',
    );
  }
}

export class QueueFullError extends ClientFacingError {
  constructor(queueLimit: number, retryAfterS = 1) {
    super(503, 'queue_full', `queue is full (limit ${queueLimit} requests); retry later`, undefined, { retryAfterS });
  }
}

export class DrainingError extends ClientFacingError {
  constructor() {
    super(503, 'draining', 'server is shutting down and accepts no new requests', undefined, { retryAfterS: 1 });
  }
}

/** This VM got EC2's Spot interruption notice (spot-notice.ts): it finishes what it accepted and takes nothing new. */
export class SpotReclaimError extends ClientFacingError {
  constructor(action: string, time: string) {
    super(
      503,
      'spot_reclaim',
      `this Spot VM is being reclaimed by EC2 (${action} at ${time}) and accepts no new requests; send them elsewhere`,
      undefined,
      { retryAfterS: 1 },
    );
  }
}

/** The instance metadata service gave no usable answer (caught by the watcher, never sent to a client). */
export class ImdsError extends ServingError {}

export class NotReadyError extends ClientFacingError {
  constructor() {
    super(503, 'not_ready', 'models are still loading; retry later', undefined, { retryAfterS: 1 });
  }
}

export class DeadlineExceededError extends ClientFacingError {
  constructor(budgetMs: number, reason: string, field = 'budgetMs') {
    super(504, 'deadline_exceeded', `request could not be answered within its budget of ${Math.round(budgetMs)} ms: ${reason}`, field);
  }
}

export class MethodNotAllowedError extends ClientFacingError {
  constructor(method: string, allowed: string) {
    super(405, 'method_not_allowed', `method ${method.slice(0, 16)} not allowed; use ${allowed}`, 'method');
  }
}

/** An environment variable or option was missing or invalid; the message names it and what is accepted. */
export class ServingConfigError extends ServingError {}
