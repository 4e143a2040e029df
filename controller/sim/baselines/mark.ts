/**
 * mark: MArk (USENIX ATC'19) as its public code behaves: the live forecast is the running peak of
 * the recent request rate x 1.2 (peak over the last 5 minutes of tick rates), the instance type is
 * chosen greedily by dollars per request at full utilisation, and requests that find every VM full
 * overflow to Lambda at a fixed 3,008 MB (the paper's design; its code's Lambda path is unreachable,
 * we implement the described one). VMs are kept until surplus and past the billing minimum.
 */
import type { Policy } from '../../core/policy-types.js';
import { maxLast, type PolicyFactoryContext } from './common.js';
import { createFleetPolicy, type FleetState, vmsFor } from './fleet.js';
import { FIXED_LAMBDA_MEMORY_MB } from './lambda-only.js';

export const MARK_PEAK_FACTOR = 1.2;
export const MARK_PEAK_WINDOW_MS = 300_000;

/** MArk's forecast: running peak of the last window x 1.2. */
export function markForecast(history: readonly number[], tickIntervalMs: number): number {
  return maxLast(history, Math.max(1, Math.round(MARK_PEAK_WINDOW_MS / tickIntervalMs))) * MARK_PEAK_FACTOR;
}

export function createMarkPolicy(ctx: PolicyFactoryContext): Policy<FleetState> {
  return createFleetPolicy(
    {
      name: 'mark',
      usesLambda: true,
      lambdaMemoryMb: FIXED_LAMBDA_MEMORY_MB,
      desired: (obs, s, env) => {
        const f = markForecast(obs.arrivalRpsHistory, env.tickIntervalMs);
        // Full utilisation at the forecast: the x1.2 is MArk's headroom.
        return { count: Math.max(1, vmsFor(f, s, 1)), forecastRps: f };
      },
    },
    ctx,
  );
}
