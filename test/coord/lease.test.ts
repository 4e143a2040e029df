import { describe, expect, it } from 'vitest';
import {
  CoordinationInputError,
  type Lease,
  StaleFenceError,
} from '../../controller/coord/coordination-port.js';
import {
  assertCurrentFence,
  holdsLease,
  leaseExpired,
  MAX_LEASE_TTL_MS,
  nextLease,
  releasedLease,
} from '../../controller/coord/lease.js';

/** A manual clock: tests move time, nothing reads Date.now(). */
function manualClock(startMs = 0) {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('lease rule (pure)', () => {
  const ttlMs = 10_000;

  it('the first holder takes a free lease with fence 1', () => {
    const r = nextLease(undefined, 'A', 0, ttlMs);
    expect(r).toEqual({ held: true, lease: { holderId: 'A', fence: 1, expiresAtMs: 10_000 } });
  });

  it('renewing keeps the fence and moves the expiry (the worked example in lease.ts)', () => {
    const clock = manualClock();
    let lease: Lease = nextLease(undefined, 'A', clock.now(), ttlMs).lease;
    clock.advance(4_000);
    const renewed = nextLease(lease, 'A', clock.now(), ttlMs);
    expect(renewed).toEqual({ held: true, lease: { holderId: 'A', fence: 1, expiresAtMs: 14_000 } });
    lease = renewed.lease;
    clock.advance(5_000); // t = 9,000: A's lease runs to 14,000
    const refused = nextLease(lease, 'B', clock.now(), ttlMs);
    expect(refused).toEqual({ held: false, lease });
    clock.advance(5_000); // t = 14,000: expired exactly now
    const taken = nextLease(lease, 'B', clock.now(), ttlMs);
    expect(taken).toEqual({ held: true, lease: { holderId: 'B', fence: 2, expiresAtMs: 24_000 } });
  });

  it('a holder renewing its own expired lease keeps its fence (nobody held it in between)', () => {
    const lease = nextLease(undefined, 'A', 0, ttlMs).lease;
    const r = nextLease(lease, 'A', 50_000, ttlMs);
    expect(r).toEqual({ held: true, lease: { holderId: 'A', fence: 1, expiresAtMs: 60_000 } });
  });

  it('the fence grows by exactly one per change of holder, never on renewals', () => {
    const clock = manualClock();
    let lease: Lease | undefined;
    const fences: number[] = [];
    for (const holder of ['A', 'A', 'A', 'B', 'B', 'A', 'C', 'C']) {
      const r = nextLease(lease, holder, clock.now(), ttlMs);
      expect(r.held).toBe(true);
      lease = r.lease;
      fences.push(lease.fence);
      clock.advance(ttlMs); // expire it, so the next holder (if different) may take it
    }
    expect(fences).toEqual([1, 1, 1, 2, 2, 3, 4, 4]);
  });

  it('expiry is nowMs >= expiresAtMs', () => {
    const lease: Lease = { holderId: 'A', fence: 3, expiresAtMs: 1_000 };
    expect(leaseExpired(lease, 999)).toBe(false);
    expect(leaseExpired(lease, 1_000)).toBe(true);
  });

  it('release expires the lease at once but keeps the fence, so the successor gets fence + 1 immediately', () => {
    const lease = nextLease(undefined, 'A', 0, ttlMs).lease;
    const released = releasedLease(lease, 'A', 1);
    expect(released).toEqual({ holderId: 'A', fence: 1, expiresAtMs: 0 });
    expect(nextLease(released, 'B', 1, ttlMs)).toEqual({
      held: true,
      lease: { holderId: 'B', fence: 2, expiresAtMs: 10_001 },
    });
  });

  it('release by a non-holder or with an old fence changes nothing', () => {
    const lease: Lease = { holderId: 'B', fence: 2, expiresAtMs: 24_000 };
    expect(releasedLease(lease, 'A', 1)).toBeUndefined();
    expect(releasedLease(lease, 'B', 1)).toBeUndefined();
    expect(releasedLease(undefined, 'B', 2)).toBeUndefined();
  });

  it('holdsLease needs the same holder, the same fence and an unexpired lease', () => {
    const lease: Lease = { holderId: 'B', fence: 2, expiresAtMs: 24_000 };
    expect(holdsLease(lease, 'B', 2, 23_999)).toBe(true);
    expect(holdsLease(lease, 'B', 2, 24_000)).toBe(false);
    expect(holdsLease(lease, 'B', 1, 0)).toBe(false);
    expect(holdsLease(lease, 'A', 2, 0)).toBe(false);
    expect(holdsLease(undefined, 'B', 2, 0)).toBe(false);
  });

  it('assertCurrentFence refuses any other fence with the current one attached', () => {
    const lease: Lease = { holderId: 'B', fence: 2, expiresAtMs: 24_000 };
    expect(() => assertCurrentFence(lease, 2, 'publishPlan')).not.toThrow();
    // Even after expiry: fencing, not the clock, makes a late write safe.
    const err = (() => {
      try {
        assertCurrentFence(lease, 1, 'publishPlan');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StaleFenceError);
    expect((err as StaleFenceError).currentFence).toBe(2);
    expect((err as Error).name).toBe('StaleFenceError');
    expect((err as Error).message).toMatch(/publishPlan refused: fence 1 is not the lease's current fence 2/);
    expect(() => assertCurrentFence(undefined, 1, 'saveLearnedState')).toThrow(/current fence 0/);
  });

  it('bad inputs fail with the field named', () => {
    expect(() => nextLease(undefined, '', 0, ttlMs)).toThrow(CoordinationInputError);
    expect(() => nextLease(undefined, '', 0, ttlMs)).toThrow(/holderId/);
    expect(() => nextLease(undefined, 'A', Number.NaN, ttlMs)).toThrow(/nowMs/);
    expect(() => nextLease(undefined, 'A', 0, 0)).toThrow(/ttlMs: must be > 0/);
    expect(() => nextLease(undefined, 'A', 0, MAX_LEASE_TTL_MS + 1)).toThrow(/ttlMs/);
  });
});
