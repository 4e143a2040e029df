/**
 * The local store's wire format: routes, strict request schemas and the error body, shared by
 * local-store-server.ts and local-store-client.ts so the two cannot drift. JSON over loopback HTTP.
 *
 *   GET  /healthz                 {ok: true}                 (no token: a liveness probe)
 *   POST /lease/acquire           {holderId, nowMs, ttlMs} -> LeaseResult
 *   POST /lease/release           {holderId, fence}        -> {}
 *   GET  /lease                                            -> {lease: Lease | null}
 *   POST /plan                    {fence, atMs, body}      -> PlanDoc
 *   GET  /plan                                             -> {plan: PlanDoc | null}
 *   POST /observations            ObservationDoc           -> {}
 *   POST /observations/read       {after}                  -> {observations: ObservationDoc[]}
 *   POST /observations/trim       {upTo, fence}            -> {}
 *   POST /learned-state           {fence, atMs, body}      -> {}
 *   GET  /learned-state                                    -> {state: {fence, atMs, body} | null}
 *
 * Errors: {error: {code, message, currentFence?}} with 400 InvalidInput (the field named), 401
 * Unauthorized, 404 NotFound, 405 MethodNotAllowed, 409 StaleFence (currentFence set), 413
 * TooLarge, 503 Unavailable.
 */
import { z } from 'zod';
import { MAX_COORD_BODY_BYTES } from './coordination-port.js';

/** A request body: the largest JSON body plus 16 KB for the envelope (fence, times, cursors). */
export const MAX_LOCAL_STORE_REQUEST_BYTES = MAX_COORD_BODY_BYTES + 16 * 1024;

const ms = z.number().nonnegative();
const fence = z.number().int().min(1);
/** Present, any JSON (null allowed); the size limit is the store's own check. */
const jsonBody = z
  .unknown()
  .refine((v) => v !== undefined, { message: 'required (any JSON value; null is allowed)' });
const cursors = z.record(z.string(), z.number().int().nonnegative());

export const AcquireRequest = z.strictObject({
  holderId: z.string().min(1),
  nowMs: ms,
  ttlMs: z.number().positive(),
});
export const ReleaseRequest = z.strictObject({ holderId: z.string().min(1), fence });
export const PublishPlanRequest = z.strictObject({ fence, atMs: ms, body: jsonBody });
export const ObservationRequest = z.strictObject({
  routerId: z.string().min(1),
  seq: z.number().int().min(1),
  fromMs: ms,
  toMs: ms,
  body: jsonBody,
});
export const ReadObservationsRequest = z.strictObject({ after: cursors });
export const TrimObservationsRequest = z.strictObject({ upTo: cursors, fence });
export const SaveLearnedStateRequest = z.strictObject({ fence, atMs: ms, body: jsonBody });

export type WireErrorCode =
  | 'InvalidInput'
  | 'Unauthorized'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'StaleFence'
  | 'TooLarge'
  | 'Unavailable';

export interface WireError {
  error: { code: WireErrorCode; message: string; currentFence?: number };
}
