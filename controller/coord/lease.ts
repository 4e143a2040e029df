/**
 * The planner lease rule as pure functions (issue 12): every store adapter reads the current lease,
 * asks `nextLease` what to write, and makes that write conditional on the lease it read (memory:
 * one synchronous step; DynamoDB: ConditionExpression on holder/fence/expiry). No clock here: time
 * is `nowMs`, so a manual clock in tests drives expiry exactly.
 *
 * Worked example, ttl 10 s: A takes the free lease at t=0 -> {A, fence 1, expires 10,000}; A renews
 * at t=4,000 -> {A, fence 1, expires 14,000} (a renewal keeps the fence: A's launches stay valid);
 * B asks at t=9,000 -> refused, A's lease returned; A stops renewing, B asks at t=14,000 -> {B,
 * fence 2, expires 24,000}. A's late launch tagged fence 1 is now refused (fenced-fleet.ts).
 */
import {
  CoordinationInputError,
  type Lease,
  type LeaseResult,
  StaleFenceError,
} from './coordination-port.js';

/** Longest holder id accepted (a host name + pid + a random suffix fits easily). */
export const MAX_HOLDER_ID_LENGTH = 256;
/** Longest lease accepted: one day. A longer ttl would leave a dead planner's fleet unmanaged that long. */
export const MAX_LEASE_TTL_MS = 24 * 3600 * 1000;

/** A lease is expired at `nowMs` when nowMs >= expiresAtMs (a released lease has expiresAtMs 0). */
export function leaseExpired(lease: Lease, nowMs: number): boolean {
  return nowMs >= lease.expiresAtMs;
}

export function checkHolderId(holderId: unknown): string {
  if (typeof holderId !== 'string' || holderId.length === 0 || holderId.length > MAX_HOLDER_ID_LENGTH) {
    throw new CoordinationInputError(
      `holderId: must be a non-empty string of at most ${MAX_HOLDER_ID_LENGTH} characters`,
    );
  }
  return holderId;
}

export function checkTimeMs(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new CoordinationInputError(
      `${field}: must be a finite number of milliseconds >= 0 (got ${String(value)})`,
    );
  }
  return value;
}

export function checkTtlMs(ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_LEASE_TTL_MS) {
    throw new CoordinationInputError(
      `ttlMs: must be > 0 and <= ${MAX_LEASE_TTL_MS} ms (got ${String(ttlMs)})`,
    );
  }
  return ttlMs;
}

export function checkFence(fence: unknown): number {
  if (typeof fence !== 'number' || !Number.isSafeInteger(fence) || fence < 1) {
    throw new CoordinationInputError(`fence: must be an integer >= 1 (got ${String(fence)})`);
  }
  return fence;
}

/**
 * What `holderId` asking at `nowMs` gets:
 * - no lease yet: it takes it with fence 1;
 * - it already holds it (expired or not): renewed to nowMs + ttl, same fence (nobody else held it
 *   in between, or the holder would differ, so its earlier actions are still the newest);
 * - someone else holds it, expired: taken over with fence + 1;
 * - someone else holds it, unexpired: refused, the current lease returned unchanged.
 */
export function nextLease(
  current: Lease | undefined,
  holderId: string,
  nowMs: number,
  ttlMs: number,
): LeaseResult {
  checkHolderId(holderId);
  checkTimeMs('nowMs', nowMs);
  checkTtlMs(ttlMs);
  const expiresAtMs = nowMs + ttlMs;
  if (current === undefined) return { held: true, lease: { holderId, fence: 1, expiresAtMs } };
  if (current.holderId === holderId)
    return { held: true, lease: { holderId, fence: current.fence, expiresAtMs } };
  if (leaseExpired(current, nowMs))
    return { held: true, lease: { holderId, fence: current.fence + 1, expiresAtMs } };
  return { held: false, lease: current };
}

/**
 * The lease after `holderId` releases it with `fence`: expired at once (expiresAtMs 0) but kept, so
 * the successor's fence is still previous + 1. Undefined when the caller does not hold it with that
 * fence (a deposed planner's release changes nothing; it is not an error, because shutdown must not fail).
 */
export function releasedLease(
  current: Lease | undefined,
  holderId: string,
  fence: number,
): Lease | undefined {
  if (current === undefined || current.holderId !== holderId || current.fence !== fence) return undefined;
  return { ...current, expiresAtMs: 0 };
}

/** Whether `holderId` with `fence` may act at `nowMs`: it holds the lease, with that fence, unexpired. */
export function holdsLease(
  lease: Lease | undefined,
  holderId: string,
  fence: number,
  nowMs: number,
): boolean {
  return (
    lease !== undefined && lease.holderId === holderId && lease.fence === fence && !leaseExpired(lease, nowMs)
  );
}

/**
 * A fence-checked write (plan, learned state, trim) is allowed only with the lease's current fence;
 * otherwise StaleFenceError carrying the current one (0 when there is no lease at all). Expiry is
 * not checked here: fencing is what makes a late write safe, and the write has no clock of its own.
 */
export function assertCurrentFence(lease: Lease | undefined, fence: number, what: string): void {
  const current = lease?.fence ?? 0;
  if (current !== fence) {
    throw new StaleFenceError(
      `${what} refused: fence ${fence} is not the lease's current fence ${current}`,
      current,
    );
  }
}
