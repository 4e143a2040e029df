/**
 * vm-reactive: VM-only target tracking on utilisation, as SageMaker's target-tracking policy and
 * the Kubernetes HPA do: desired = ceil(observed rps / (per-VM capacity x target)), target 0.5 (tuned). Observed rps is
 * the mean of the last 60 s. Scale-out cooldown 60 s (SageMaker's default is 300 s for scale-in,
 * shorter for scale-out); scale-in uses HPA's 5-minute stabilisation window: never go below the
 * highest desired count of the last 5 minutes. No prediction, no Lambda: during the ~90 s boot of
 * new VMs the existing ones queue (and requests go late).
 */
import type { Policy, PolicyEnv, TickObservation } from '../../core/policy-types.js';
import { maxLast, meanLast, type PolicyFactoryContext } from './common.js';
import { createFleetPolicy, type FleetConfig, type FleetState, vmsFor } from './fleet.js';

export interface ReactiveParams {
  targetUtilisation: number;
  scaleOutCooldownMs: number;
  scaleInWindowMs: number;
  /** Window of the observed rate (ms). */
  observeWindowMs: number;
}

/**
 * SageMaker's and HPA's usual 0.7 target left vm-reactive at 9 % violations on Twitter at SLO 100 ms
 * (VM-only: the boot gap queues); the knob search (test/bench/baseline-knobs.bench.ts) chose 0.5, the
 * only value in 0.5..0.9 with <= 1 % at every point. infaas shares it (VM-only too).
 */
export const REACTIVE_DEFAULTS: ReactiveParams = {
  targetUtilisation: 0.5,
  scaleOutCooldownMs: 60_000,
  scaleInWindowMs: 300_000,
  observeWindowMs: 60_000,
};

/** The target-tracking rule, shared with spock and infaas. */
export function reactiveConfig(p: ReactiveParams): Pick<FleetConfig, 'desired' | 'mayScaleOut'> {
  return {
    desired: (obs: TickObservation, s: FleetState, env: PolicyEnv) => {
      const ticksPerWindow = Math.max(1, Math.round(p.observeWindowMs / env.tickIntervalMs));
      const ticksPerScaleIn = Math.max(1, Math.round(p.scaleInWindowMs / env.tickIntervalMs));
      const rps = meanLast(obs.arrivalRpsHistory, ticksPerWindow);
      const raw = Math.max(1, vmsFor(rps, s, p.targetUtilisation));
      // HPA stabilisation: the count may only fall to the highest raw desired count in the window.
      const floor = maxLast(s.desiredHistory, ticksPerScaleIn - 1);
      return { count: Math.max(raw, floor), forecastRps: rps, raw };
    },
    mayScaleOut: (obs, s) => obs.nowMs - s.lastScaleOutMs >= p.scaleOutCooldownMs,
  };
}

export function createVmReactivePolicy(ctx: PolicyFactoryContext, p: ReactiveParams = REACTIVE_DEFAULTS): Policy<FleetState> {
  return createFleetPolicy({ name: 'vm-reactive', usesLambda: false, ...reactiveConfig(p) }, ctx);
}
