/**
 * lmi: AWS Lambda Managed Instances (re:Invent 2025), the AWS-native alternative: Lambda functions
 * run on EC2 instances that Lambda manages in the account. Modelled from AWS's public description:
 * - billing: the EC2 on-demand price of the instances + a 15 % management fee, plus the Lambda
 *   request fee ($0.20 per million) for every request, no GB-s charge (Policy.vmBilling);
 * - at least 3 instances (one per AZ for resilience), whatever the load;
 * - scaling is Lambda's own, on utilisation: modelled as the same target tracking as vm-reactive
 *   (90 % (tuned) of the last minute's rate, 60 s scale-out cooldown, 5-minute scale-in window);
 * - scale-out is throttled when traffic more than doubles within 5 minutes: the fleet may grow to at
 *   most 2 x the smallest fleet of the last 5 minutes; what does not fit is throttled (429: here a
 *   reject), there is no spill to on-demand Lambda.
 * Instances: the cheapest $/request type for the one model (as every baseline); a request is taken
 * by an instance iff Spillway's admission rule admits it, else throttled.
 */
import type { Policy, VmBilling } from '../../core/policy-types.js';
import type { PolicyFactoryContext } from './common.js';
import { createFleetPolicy, type FleetState } from './fleet.js';
import { REACTIVE_DEFAULTS, type ReactiveParams, reactiveConfig } from './vm-reactive.js';

export const LMI_BILLING: VmBilling = { priceFactor: 1.15, requestFeeUsdPerMillion: 0.2 };
export const LMI_MIN_INSTANCES = 3;
export const LMI_DOUBLING_WINDOW_MS = 300_000;

/** The scale-out throttle: at most double the smallest fleet of the last 5 minutes (incl. now). */
export function lmiCap(activeHistory: readonly number[], activeNow: number, windowTicks: number): number {
  let smallest = activeNow;
  for (let i = Math.max(0, activeHistory.length - windowTicks); i < activeHistory.length; i++) smallest = Math.min(smallest, activeHistory[i]!);
  return Math.max(LMI_MIN_INSTANCES, 2 * smallest);
}

/** Target utilisation of Lambda's own scaling, as modelled: 0.9 chosen by the knob search. */
export const LMI_DEFAULTS: ReactiveParams = { ...REACTIVE_DEFAULTS, targetUtilisation: 0.9 };

export function createLmiPolicy(ctx: PolicyFactoryContext, p: ReactiveParams = LMI_DEFAULTS): Policy<FleetState> {
  const reactive = reactiveConfig(p);
  return createFleetPolicy(
    {
      name: 'lmi',
      usesLambda: false,
      rejectWhenFull: true,
      vmBilling: LMI_BILLING,
      desired: (obs, s, env, active) => {
        const r = reactive.desired(obs, s, env, active);
        const windowTicks = Math.max(1, Math.round(LMI_DOUBLING_WINDOW_MS / env.tickIntervalMs));
        // Before the first tick the fleet does not exist yet: the minimum, or what the load needs.
        const cap = s.activeHistory.length === 0 ? Number.POSITIVE_INFINITY : lmiCap(s.activeHistory, active.length, windowTicks);
        const count = Math.max(LMI_MIN_INSTANCES, Math.min(r.count, cap));
        const note = r.count > cap ? `lmi: scale-out throttled at ${cap} instances (wanted ${r.count}: more than double within 5 min)` : undefined;
        return { count, forecastRps: r.forecastRps, raw: Math.max(LMI_MIN_INSTANCES, r.raw ?? r.count), ...(note ? { note } : {}) };
      },
      mayScaleOut: reactive.mayScaleOut,
    },
    ctx,
  );
}
