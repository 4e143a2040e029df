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
import { createLibraPolicy } from './baselines/libra.js';
import { createLmiPolicy } from './baselines/lmi.js';
import { createMarkPolicy, createMarkSpotPolicy } from './baselines/mark.js';
import { createSpockPolicy } from './baselines/spock.js';
import { createVmPeakPolicy } from './baselines/vm-peak.js';
import { createVmReactivePolicy } from './baselines/vm-reactive.js';
import { SimConfigError } from './errors.js';

export type { PolicyFactoryContext } from './baselines/common.js';

// biome-ignore lint/suspicious/noExplicitAny: a registry of policies with different state types.
export type AnyPolicy = Policy<any>;

export const POLICIES: Record<string, (ctx: PolicyFactoryContext) => AnyPolicy> = {
  // No accuracy floor configured: Spillway plans for the demand classes the requests carry
  // (core/demand-classes.ts), as in the live worlds, where requests differ.
  spillway: () => createSpillwayPolicy(),
  'vm-peak': createVmPeakPolicy,
  'vm-reactive': (ctx) => createVmReactivePolicy(ctx),
  'lambda-only': (ctx) => createLambdaOnlyPolicy(ctx),
  mark: (ctx) => createMarkPolicy(ctx),
  // Spot (issue 13): the scenario adds the catalog's `<type>:spot` types when one of these runs.
  'spillway-spot': () => ({ ...createSpillwayPolicy({ spot: true }), name: 'spillway-spot' }),
  'mark-spot': (ctx) => createMarkSpotPolicy(ctx),
  spock: (ctx) => createSpockPolicy(ctx),
  infaas: createInfaasPolicy,
  libra: createLibraPolicy,
  lmi: createLmiPolicy,
};

export const CLAIRVOYANT = 'clairvoyant';
/** Policies that buy Spot: a scenario running one plans with a catalog that has Spot types. */
export const SPOT_POLICIES: readonly string[] = ['spillway-spot', 'mark-spot'];
export const ALL_POLICY_NAMES = [...Object.keys(POLICIES), CLAIRVOYANT];

/** How the model-specific baselines pick their one model (common.ts defaultVariant). */
const ONE_MODEL = 'one model, the cheapest per request (VM) meeting the accuracy floor and the SLO';

/** One line per policy, printed under the comparison table and in the report. */
export const POLICY_DESCRIPTIONS: Record<string, string> = {
  spillway:
    'Spillway: forecast + integer program buy VMs ahead of need, Lambda at a right-sized memory takes the rest; picks the variant per request among those meeting the accuracy floor, learning observed latencies',
  'vm-peak': `VMs only, the smallest static fleet with no violations on the replayed trace (searched), never scaled; ${ONE_MODEL}`,
  'vm-reactive': `VMs only, target tracking (50 % utilisation of the last minute's rate, 60 s scale-out cooldown, 5-minute scale-in window); ${ONE_MODEL}`,
  'lambda-only': `Lambda only, every request at the cheapest memory meeting the SLO, no VMs; ${ONE_MODEL}`,
  mark: `MArk (ATC'19): VMs for the running 60 s peak x 1.1 (the top VM only if its load costs more on Lambda), overflow to Lambda at the cheapest memory meeting the SLO; ${ONE_MODEL}`,
  'spillway-spot':
    'Spillway buying Spot too: the integer program picks on-demand or Spot per type, at most 50 % of capacity in one AZ pool, Lambda headroom for the worst reclaim; a reclaimed VM drains, Lambda takes its share, a replacement is launched',
  'mark-spot': `MArk on Spot: its forecast and greedy $/request choice over the Spot markets, over-provisioned so one AZ pool's reclaim leaves the forecast covered, overflow to Lambda; ${ONE_MODEL}`,
  spock: `Spock (CLOUD'19): reactive VMs (target tracking at 90 %), requests that find them full go to Lambda at the cheapest memory meeting the SLO; ${ONE_MODEL}`,
  infaas:
    "INFaaS (ATC'21): model-less, serves the cheapest variant meeting the floor and the SLO and switches new VMs to the highest-throughput one under load; reactive VMs, no Lambda",
  libra:
    `LIBRA (IC2E'21) as its simulator: every 300 s, VMs for EWMA mean + 1 deviation of the per-second load (alpha 0.2), 80 % of that on VMs and the rest of each second on Lambda, new VMs used after 100 s; ${ONE_MODEL}`,
  lmi: `Lambda Managed Instances: EC2 price + 15 % + $0.20/M requests, >= 3 instances, target tracking 90 %, growth capped at 2x per 5 minutes, excess throttled; ${ONE_MODEL}`,
  [CLAIRVOYANT]:
    'clairvoyant bound (not a runnable policy): knows every arrival in advance, boots VMs instantly in aligned 60 s blocks, the excess on Lambda, no cold starts',
};

export function createPolicy(name: string, ctx: PolicyFactoryContext): AnyPolicy {
  const f = POLICIES[name];
  if (!f) throw new SimConfigError(`unknown policy "${name}" (known: ${ALL_POLICY_NAMES.join(', ')})`);
  return f(ctx);
}
