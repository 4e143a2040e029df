import { describe, expect, it } from 'vitest';
import {
  type FailedAttempt,
  isSpotReclaimStateReason,
  isSpotReclaimStatus,
  type LaunchOrderInput,
  nextLaunchAttempt,
} from '../../controller/aws/launch-order.js';

const ICE = 'InsufficientInstanceCapacity';
const THROTTLE = 'RequestLimitExceeded';

/** Walks the order: every attempt fails with the next code; returns the attempts as strings. */
function walk(input: LaunchOrderInput, codes: readonly string[]): string[] {
  const failed: FailedAttempt[] = [];
  const seen: string[] = [];
  for (const code of codes) {
    const next = nextLaunchAttempt(input, failed);
    if (next.kind === 'exhausted') break;
    const a = next.attempt;
    seen.push(`${a.market} ${a.instanceType}${a.subnetId ? `@${a.subnetId}` : ''} (${next.step})`);
    failed.push({ ...a, code });
  }
  if (nextLaunchAttempt(input, failed).kind === 'exhausted') seen.push('exhausted');
  return seen;
}

describe('nextLaunchAttempt (pure launch order)', () => {
  const spot: LaunchOrderInput = {
    requested: 'c5.large:spot',
    onDemandTypes: ['c5.large', 'c6g.large'],
    subnets: ['a', 'b'],
    maxThrottledPerStage: 3,
  };

  it('Spot: the other subnet, then the same type on-demand in each subnet, then the on-demand fallbacks', () => {
    expect(walk(spot, Array(7).fill(ICE))).toEqual([
      'spot c5.large@a (first)',
      'spot c5.large@b (other-subnet)',
      'on-demand c5.large@a (on-demand)',
      'on-demand c5.large@b (other-subnet)',
      'on-demand c6g.large@a (other-type)',
      'on-demand c6g.large@b (other-subnet)',
      'exhausted',
    ]);
  });

  it('Spot-specific codes move on like capacity: SpotMaxPriceTooLow in a, UnfulfillableCapacity in b -> on-demand', () => {
    const failed: FailedAttempt[] = [
      { instanceType: 'c5.large', market: 'spot', subnetId: 'a', code: 'SpotMaxPriceTooLow' },
      { instanceType: 'c5.large', market: 'spot', subnetId: 'b', code: 'UnfulfillableCapacity' },
    ];
    expect(nextLaunchAttempt(spot, failed)).toEqual({
      kind: 'attempt',
      attempt: { instanceType: 'c5.large', market: 'on-demand', subnetId: 'a' },
      step: 'on-demand',
    });
  });

  it('throttling repeats the attempt up to 3 times per stage, then the next stage', () => {
    expect(walk({ ...spot, subnets: ['a'] }, [THROTTLE, THROTTLE, THROTTLE, ICE])).toEqual([
      'spot c5.large@a (first)',
      'spot c5.large@a (retry-throttled)',
      'spot c5.large@a (retry-throttled)',
      'on-demand c5.large@a (on-demand)',
    ]);
  });

  it('on-demand unchanged: each subnet, then the next type; no subnets -> one attempt per type', () => {
    const od: LaunchOrderInput = {
      requested: 'c5.large',
      onDemandTypes: ['c5.large', 'c7g.large'],
      subnets: [undefined],
      maxThrottledPerStage: 3,
    };
    expect(walk(od, [ICE, ICE])).toEqual([
      'on-demand c5.large (first)',
      'on-demand c7g.large (other-type)',
      'exhausted',
    ]);
  });

  it('rejects bad input naming the field', () => {
    expect(() => nextLaunchAttempt({ ...spot, subnets: [] }, [])).toThrow(/subnets/);
    expect(() => nextLaunchAttempt({ ...spot, maxThrottledPerStage: 0 }, [])).toThrow(/maxThrottledPerStage/);
  });

  it('reclaim status codes: the notice and EC2-initiated ends, not our own terminate', () => {
    const table: Array<[string | undefined, boolean]> = [
      ['marked-for-termination', true],
      ['marked-for-stop', true],
      ['instance-terminated-by-price', true],
      ['instance-terminated-no-capacity', true],
      ['instance-terminated-capacity-oversubscribed', true],
      ['instance-terminated-by-user', false],
      ['fulfilled', false],
      [undefined, false],
    ];
    for (const [code, want] of table) expect(isSpotReclaimStatus(code), String(code)).toBe(want);
    expect(isSpotReclaimStateReason('Server.SpotInstanceTermination')).toBe(true);
    expect(isSpotReclaimStateReason('Client.UserInitiatedShutdown')).toBe(false);
  });
});
