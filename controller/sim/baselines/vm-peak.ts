/**
 * vm-peak: VM-only, a static fleet sized once for the trace's peak (the classic over-provisioned
 * deployment every serving paper compares against, e.g. MArk's and Spock's "VM-only" baselines).
 * Sizing: ceil(peak rps / (capacity x 0.85)) VMs of the cheapest $/request type, launched at t=0,
 * never scaled. 0.85 leaves queueing headroom at the peak so the static fleet meets the SLO.
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
        return { count: Math.max(1, vmsFor(ctx.peakRps, s, VM_PEAK_UTILISATION)), forecastRps: ctx.peakRps };
      },
      mayScaleIn: () => false,
    },
    ctx,
  );
}
