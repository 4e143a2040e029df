/**
 * Policy registry: name -> factory. Every entry is a Policy<S> the simulator, the local stack
 * and AWS drive the same way. 'clairvoyant' is not here: it is an analytic bound
 * (clairvoyant.ts), listed in CLAIRVOYANT so the CLI can accept it in --policies.
 */
import { createSpillwayPolicy } from '../core/spillway-policy.js';
import type { Policy } from '../core/policy-types.js';
import type { PolicyFactoryContext } from './baselines/common.js';
import { createInfaasPolicy } from './baselines/infaas.js';
import { createLambdaOnlyPolicy } from './baselines/lambda-only.js';
import { createMarkPolicy } from './baselines/mark.js';
import { createSpockPolicy } from './baselines/spock.js';
import { createVmPeakPolicy } from './baselines/vm-peak.js';
import { createVmReactivePolicy } from './baselines/vm-reactive.js';
import { SimConfigError } from './errors.js';

export type { PolicyFactoryContext } from './baselines/common.js';

// biome-ignore lint/suspicious/noExplicitAny: a registry of policies with different state types.
export type AnyPolicy = Policy<any>;

export const POLICIES: Record<string, (ctx: PolicyFactoryContext) => AnyPolicy> = {
  spillway: (ctx) => createSpillwayPolicy(ctx.minAccuracy > 0 ? { minAccuracy: ctx.minAccuracy } : {}),
  'vm-peak': createVmPeakPolicy,
  'vm-reactive': (ctx) => createVmReactivePolicy(ctx),
  'lambda-only': (ctx) => createLambdaOnlyPolicy(ctx),
  mark: createMarkPolicy,
  spock: (ctx) => createSpockPolicy(ctx),
  infaas: createInfaasPolicy,
};

export const CLAIRVOYANT = 'clairvoyant';
export const ALL_POLICY_NAMES = [...Object.keys(POLICIES), CLAIRVOYANT];

export function createPolicy(name: string, ctx: PolicyFactoryContext): AnyPolicy {
  const f = POLICIES[name];
  if (!f) throw new SimConfigError(`unknown policy "${name}" (known: ${ALL_POLICY_NAMES.join(', ')})`);
  return f(ctx);
}
