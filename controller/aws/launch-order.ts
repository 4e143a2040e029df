/**
 * The order an EC2 launch tries (market, type, subnet) in, as a pure function of what failed so
 * far: Ec2Fleet.launch() asks nextLaunchAttempt() after each capacity or throttling error and
 * carries the answer out. Quota, template and token errors never get here (they end the launch).
 *
 * On-demand `c5.large`: c5.large in each subnet (one per AZ; capacity is per AZ), then the
 * next-cheapest catalog type with >= vCPUs in each subnet, and so on (Ec2Fleet.fallbackOrder).
 * Spot `c5.large:spot`: c5.large Spot in each subnet first, then the on-demand order above. No
 * other Spot type: a LaunchSpec names one type, and the planner priced that one (its reclaim rate
 * and pools); buying another type's Spot market would be a plan nobody made. On-demand of the same
 * type is the safe answer: the capacity the plan wanted, at the on-demand price the record shows.
 *
 * Throttling (account-wide, may clear) retries the same attempt up to maxThrottledPerStage times
 * per (market, type) stage, then moves to the next stage, as capacity errors move to the next
 * subnet. Example, subnets [a, b], c5.large:spot, fallback types [c5.large, c6g.large]:
 *   spot c5.large@a -ICE-> spot c5.large@b -ICE-> on-demand c5.large@a -ICE-> on-demand c5.large@b
 *   -ICE-> on-demand c6g.large@a ... -> exhausted (FleetCapacityError).
 */
import { ec2TypeOf, isSpotType } from '../../profiles/catalog.js';

/**
 * Errors after which another subnet (AZ), market or type may succeed. For a Spot launch EC2 answers
 * InsufficientInstanceCapacity "There is no Spot capacity available that matches your request."
 * (HTTP 500); UnfulfillableCapacity is the Spot "not enough spare capacity" code of the EC2 error
 * list; SpotMaxPriceTooLow (the Spot price is over the cap: with no MaxPrice the cap is the
 * on-demand price) differs per AZ pool, and on-demand has no such cap.
 */
export const CAPACITY_CODES: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'UnfulfillableCapacity',
  'SpotMaxPriceTooLow',
  'Unsupported', // type (or its Spot market) not offered in this AZ
]);
export const THROTTLE_CODES: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
]);

export type Market = 'spot' | 'on-demand';

export interface LaunchAttempt {
  /** The EC2 instance type to ask for (never `:spot`). */
  instanceType: string;
  market: Market;
  /** Undefined: no subnets configured (the template's or the default VPC's). */
  subnetId?: string;
}

export interface FailedAttempt extends LaunchAttempt {
  code: string;
}

export interface LaunchOrderInput {
  /** The planned type of the LaunchSpec: `c5.large` or `c5.large:spot`. */
  requested: string;
  /** On-demand types in fallback order, the requested EC2 type first (Ec2Fleet.fallbackOrder). */
  onDemandTypes: readonly string[];
  /** Subnets in try order (the token's own first); [undefined] when none are configured. */
  subnets: ReadonlyArray<string | undefined>;
  /** Throttled attempts per (market, type) before the next one. */
  maxThrottledPerStage: number;
}

/** Why this attempt differs from the first one (logged, and readable in tests). */
export type FallbackStep = 'first' | 'retry-throttled' | 'other-subnet' | 'on-demand' | 'other-type';

export type NextLaunch =
  | { kind: 'attempt'; attempt: LaunchAttempt; step: FallbackStep }
  | { kind: 'exhausted' };

/** The (market, type) stages in order; each is tried in every subnet. */
export function launchStages(
  requested: string,
  onDemandTypes: readonly string[],
): Array<{ instanceType: string; market: Market }> {
  const onDemand = onDemandTypes.map((t) => ({ instanceType: t, market: 'on-demand' as const }));
  return isSpotType(requested)
    ? [{ instanceType: ec2TypeOf(requested), market: 'spot' }, ...onDemand]
    : onDemand;
}

/**
 * The next attempt after `failed` (every failed attempt of this launch so far, oldest first, each
 * with a capacity or throttling code), or 'exhausted'. Replays the history: a capacity code moves
 * to the next subnet (after the last one: the next stage, first subnet); a throttling code repeats
 * the attempt until maxThrottledPerStage throttles in this stage, then the next stage.
 */
export function nextLaunchAttempt(input: LaunchOrderInput, failed: readonly FailedAttempt[]): NextLaunch {
  if (input.subnets.length === 0)
    throw new RangeError('nextLaunchAttempt subnets must hold >= 1 entry (undefined = none configured)');
  if (!Number.isInteger(input.maxThrottledPerStage) || input.maxThrottledPerStage < 1) {
    throw new RangeError(
      `nextLaunchAttempt maxThrottledPerStage must be an integer >= 1, got ${input.maxThrottledPerStage}`,
    );
  }
  const stages = launchStages(input.requested, input.onDemandTypes);
  let stage = 0;
  let subnet = 0;
  let throttled = 0;
  let step: FallbackStep = 'first';
  const nextStage = () => {
    stage++;
    subnet = 0;
    throttled = 0;
    step =
      stages[stage]?.market === 'on-demand' && stages[stage - 1]?.market === 'spot'
        ? 'on-demand'
        : 'other-type';
  };
  for (const f of failed) {
    if (stage >= stages.length) break;
    if (THROTTLE_CODES.has(f.code)) {
      step = 'retry-throttled';
      if (++throttled >= input.maxThrottledPerStage) nextStage();
    } else if (++subnet >= input.subnets.length) {
      nextStage();
    } else {
      step = 'other-subnet';
    }
  }
  const s = stages[stage];
  if (!s) return { kind: 'exhausted' };
  const subnetId = input.subnets[subnet];
  return { kind: 'attempt', attempt: { ...s, ...(subnetId ? { subnetId } : {}) }, step };
}

/** RunInstances' InstanceMarketOptions for a Spot attempt: one-time, terminated on reclaim, no MaxPrice. */
export const SPOT_MARKET_OPTIONS = {
  MarketType: 'spot',
  // No MaxPrice: EC2 caps at the on-demand price and AWS advises against a lower cap (more
  // interruptions). one-time + terminate: a reclaimed VM is gone; the policy launches its
  // replacement (persistent requests only go with stop/hibernate).
  SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
} as const;

/**
 * A Spot request status code that means EC2 is taking the instance back (the two-minute notice,
 * `marked-for-termination` / `marked-for-stop`, or done: `instance-terminated-by-price`,
 * `-no-capacity`, `-capacity-oversubscribed`, ...). `instance-terminated-by-user` is our own
 * terminate, not a reclaim.
 */
export function isSpotReclaimStatus(code: string | undefined): boolean {
  if (!code) return false;
  if (code === 'marked-for-termination' || code === 'marked-for-stop') return true;
  return (
    (code.startsWith('instance-terminated-') || code.startsWith('instance-stopped-')) &&
    !code.endsWith('-by-user')
  );
}

/** An instance StateReason code EC2 sets when Spot reclaims the instance. */
export function isSpotReclaimStateReason(code: string | undefined): boolean {
  return code === 'Server.SpotInstanceTermination' || code === 'Server.SpotInstanceShutdown';
}
