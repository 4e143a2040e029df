/**
 * spock: Spock (IEEE CLOUD'19): reactive, load-based VM procurement (the same target tracking as
 * vm-reactive, at utilisation 0.9 (tuned) on the last minute's rate, 60 s scale-out cooldown,
 * 5-minute scale-in stabilisation) plus Lambda for the gap: any request that finds the VMs full (its
 * expected wait would break the SLO: Spillway's admission rule) goes to Lambda at the cheapest memory
 * meeting the SLO (Spillway's right-sizing; the paper used a fixed 3,008 MB) while new VMs boot.
 */
import type { Policy } from '../../core/policy-types.js';
import type { PolicyFactoryContext } from './common.js';
import { createFleetPolicy, type FleetState } from './fleet.js';
import { REACTIVE_DEFAULTS, type ReactiveParams, reactiveConfig } from './vm-reactive.js';

/** Spock's target utilisation: Lambda covers what the VMs miss, so the knob search chose 0.9 (not 0.7). */
export const SPOCK_DEFAULTS: ReactiveParams = { ...REACTIVE_DEFAULTS, targetUtilisation: 0.9 };

export function createSpockPolicy(ctx: PolicyFactoryContext, p: ReactiveParams = SPOCK_DEFAULTS): Policy<FleetState> {
  return createFleetPolicy(
    { name: 'spock', usesLambda: true, ...reactiveConfig(p) },
    ctx,
  );
}
