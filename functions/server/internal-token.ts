/**
 * A per-start shared secret for the internal endpoints (the VM servers and the local Lambda API).
 *
 * `npm start` makes a fresh token each start and gives it only to its own children and clients;
 * a VM server or the local Lambda API started with one refuses any call that does not carry it
 * (health probes excepted), so another local user's process cannot bypass the public API key by
 * calling a VM directly, or reconfigure Lambda. Same-user processes can read a child's environment
 * anyway; the token keeps out everyone else and every accidental caller. On AWS the security
 * groups play this part (a VM accepts its port from the controller's group only).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header a caller puts the token in. */
export const INTERNAL_TOKEN_HEADER = 'x-spillway-internal-token';

/** 32 random bytes as 64 hex characters (hex: also valid as an AWS access key id for the SDK). */
export function newInternalToken(): string {
  return randomBytes(32).toString('hex');
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function sameToken(expected: string, got: string | readonly string[] | undefined): boolean {
  if (typeof got !== 'string') return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(got).digest();
  return timingSafeEqual(a, b);
}
