/**
 * vm-peak: VM-only, a static fleet (the classic over-provisioned deployment every serving paper
 * compares against, e.g. MArk's and Spock's "VM-only" baselines), at its best: the SMALLEST static
 * fleet of the cheapest $/request type that has no SLO violations on the trace being replayed (an
 * oracle size: smallestStaticFleet, run by the scenario with the simulator on the same arrivals).
 * Launched at t = 0, never scaled. Without a searched size (the local stack), the fleet is sized
 * for the trace's peak: ceil(peak rps / (capacity x 0.85)).
 */
import type { Policy } from '../../core/policy-types.js';
import type { PolicyFactoryContext } from './common.js';
import { createFleetPolicy, type FleetState, vmsFor } from './fleet.js';

export const VM_PEAK_UTILISATION = 0.85;

export function createVmPeakPolicy(ctx: PolicyFactoryContext): Policy<FleetState> {
  return createFleetPolicy(
    {
      name: 'vm-peak',
      usesLambda: false,
      desired: (_obs, s, _env, active) => {
        // Buy once (first tick), then hold whatever exists: never scale.
        if (s.desiredHistory.length > 0) return { count: active.length, forecastRps: ctx.peakRps };
        const count = ctx.vmPeakCount ?? Math.max(1, vmsFor(ctx.peakRps, s, VM_PEAK_UTILISATION));
        return { count: Math.max(1, count), forecastRps: ctx.peakRps };
      },
      mayScaleIn: () => false,
    },
    ctx,
  );
}

/**
 * The smallest static fleet with no violations: `violations(n)` simulates n VMs. Doubles from
 * `start` until a fleet has none (up to 8x start); if even that one has some (the service time's
 * own tail can miss a tight SLO on an idle VM), the target is that floor + 10 % + 2. Then a binary
 * search for the smallest n at or below the target (violations fall with n).
 */
export function smallestStaticFleet(violations: (n: number) => number, start: number): { count: number; violations: number; floor: number } {
  const memo = new Map<number, number>();
  const v = (n: number): number => {
    let x = memo.get(n);
    if (x === undefined) {
      x = violations(n);
      memo.set(n, x);
    }
    return x;
  };
  let hi = Math.max(1, Math.ceil(start));
  const cap = 8 * hi;
  while (v(hi) > 0 && hi < cap) hi = Math.min(cap, hi * 2);
  const floor = v(hi);
  const target = floor === 0 ? 0 : Math.floor(floor * 1.1) + 2;
  let lo = 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v(mid) <= target) hi = mid;
    else lo = mid + 1;
  }
  return { count: hi, violations: v(hi), floor };
}
