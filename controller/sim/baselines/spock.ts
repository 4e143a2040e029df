/**
 * spock: Spock (IEEE CLOUD'19): reactive, load-based VM procurement (the same target tracking as
 * vm-reactive: utilisation 0.7 on the last minute's rate, 60 s scale-out cooldown, 5-minute
 * scale-in stabilisation) plus Lambda for the gap: any request that finds the VMs full (its
 * expected wait would break the SLO) goes to Lambda at a fixed 3,008 MB while new VMs boot.
 */
import type { Policy } from '../../core/policy-types.js';
import type { PolicyFactoryContext } from './common.js';
import { createFleetPolicy, type FleetState } from './fleet.js';
import { FIXED_LAMBDA_MEMORY_MB } from './lambda-only.js';
import { REACTIVE_DEFAULTS, type ReactiveParams, reactiveConfig } from './vm-reactive.js';

export function createSpockPolicy(ctx: PolicyFactoryContext, p: ReactiveParams = REACTIVE_DEFAULTS): Policy<FleetState> {
  return createFleetPolicy(
    { name: 'spock', usesLambda: true, lambdaMemoryMb: FIXED_LAMBDA_MEMORY_MB, ...reactiveConfig(p) },
    ctx,
  );
}
