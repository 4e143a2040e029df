/**
 * Middy middlewares of the Lambda handler. Each takes options validated by a strict zod schema
 * (unknown keys rejected) so a typo in wiring fails at init, not on the first request.
 */
import type middy from '@middy/core';
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorReply } from '../server/error-reply.js';
import { InvalidRequestError, ServingConfigError } from './errors.js';
import { type ReadEvent, readEvent } from './event.js';
import { describeIssues } from '../engine/zod-issues.js';

function parseOptions<S extends z.ZodType>(name: string, schema: S, opts: unknown): z.output<S> {
  const r = schema.safeParse(opts ?? {});
  if (r.success) return r.data;
  throw new ServingConfigError(`${name} option ${describeIssues(r.error.issues)}`);
}

/** What the handler sees after `spillwayEvent`: the raw payload plus when the invocation arrived. */
export interface SpillwayEvent extends ReadEvent {
  arrivalMs: number;
}

export const SpillwayEventOptionsSchema = z.strictObject({
  maxBodyBytes: z.number().int().positive(),
  now: z.custom<() => number>((v) => typeof v === 'function').optional(),
});

export const EventGuardOptionsSchema = z.strictObject({
  now: z.custom<() => number>((v) => typeof v === 'function').optional(),
});

/**
 * First in the chain: stamps the arrival time (the budget counts from here) and turns a payload
 * that is not a JSON object (null, a number, an array; a JSON string is parsed once) into a 400
 * before header normalisation touches it.
 */
export function eventGuard(options: z.input<typeof EventGuardOptionsSchema> = {}): middy.MiddlewareObj {
  const o = parseOptions('eventGuard', EventGuardOptionsSchema, options);
  const now = o.now ?? (() => performance.now());
  return {
    before: (request) => {
      (request.internal as Record<string, unknown>)['arrivalMs'] = now();
      let e: unknown = request.event;
      if (typeof e === 'string') {
        try {
          e = JSON.parse(e);
        } catch (cause) {
          throw new InvalidRequestError('body: not valid JSON', 'body', { cause, code: 'invalid_json' });
        }
      }
      if (typeof e !== 'object' || e === null || Array.isArray(e)) {
        throw new InvalidRequestError('body: expected a JSON object (BackendInferRequest)', 'body');
      }
      request.event = e;
    },
  };
}

/** Replaces any supported event with {kind, payload, arrivalMs}; bad transport -> ClientFacingError. */
export function spillwayEvent(options: z.input<typeof SpillwayEventOptionsSchema>): middy.MiddlewareObj {
  const o = parseOptions('spillwayEvent', SpillwayEventOptionsSchema, options);
  const now = o.now ?? (() => performance.now());
  return {
    before: (request) => {
      const stamped = (request.internal as Record<string, unknown>)['arrivalMs'];
      const arrivalMs = typeof stamped === 'number' ? stamped : now();
      const read = readEvent(request.event, o.maxBodyBytes);
      const ev: SpillwayEvent = { ...read, arrivalMs };
      request.event = ev;
    },
  };
}

export const ErrorMapperOptionsSchema = z.strictObject({
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && 'error' in v),
});

/**
 * Turns any error into what @middy/http-error-handler renders: statusCode, expose, message = the
 * ErrorBody JSON. Internal errors are logged here with details and become a generic 500.
 */
export function errorMapper(options: z.input<typeof ErrorMapperOptionsSchema>): middy.MiddlewareObj {
  const o = parseOptions('errorMapper', ErrorMapperOptionsSchema, options);
  return {
    onError: (request) => {
      if (request.response !== undefined) return;
      const r = errorReply(request.error, o.logger);
      const { 'content-type': _ct, ...headers } = r.headers;
      const e = Object.assign(new Error(JSON.stringify(r.body)), { statusCode: r.status, expose: true, headers });
      request.error = e;
    },
  };
}

export const ResponseShapeOptionsSchema = z.strictObject({});

/** Guarantees the contract's {statusCode, headers, body-string} on every path, whatever the event kind. */
export function responseShape(options: z.input<typeof ResponseShapeOptionsSchema> = {}): middy.MiddlewareObj {
  parseOptions('responseShape', ResponseShapeOptionsSchema, options);
  const fix = (request: middy.Request) => {
    const r = request.response as { statusCode?: unknown; headers?: unknown; body?: unknown } | undefined;
    if (!r || typeof r !== 'object') return;
    const headers = (typeof r.headers === 'object' && r.headers) || {};
    request.response = {
      statusCode: typeof r.statusCode === 'number' ? r.statusCode : 500,
      headers,
      body: typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? null),
    };
  };
  return { after: fix, onError: fix };
}
