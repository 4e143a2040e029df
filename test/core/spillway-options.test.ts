/**
 * createSpillwayPolicy's options go through one strict schema (core/spillway-options-schema.ts):
 * out of range or unknown is a ConfigError naming the option and the limit, never clamped.
 */
import { describe, expect, it } from 'vitest';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { ConfigError } from '../../controller/errors.js';

describe('Spillway policy options schema', () => {
  it('defaults and in-range values make a policy', () => {
    expect(createSpillwayPolicy().name).toBe('spillway');
    expect(() => createSpillwayPolicy({ exploreShare: 0.1, scaleDownTicks: 1, warmPoolQuantile: 0, interference: { z: 0 }, selector: { alpha: 1 } })).not.toThrow();
  });

  it.each([
    [{ exploreShare: 0.5 }, /option exploreShare: Too big: expected number to be <=0\.1/],
    [{ exploreShare: -0.1 }, /option exploreShare: Too small/],
    [{ scaleDownTicks: 2.7 }, /option scaleDownTicks: Invalid input: expected int/],
    [{ maxScaleDownWindowMs: -1 }, /option maxScaleDownWindowMs: Too small/],
    [{ targetUtilisation: 0 }, /option targetUtilisation: Too small/],
    [{ headroomQuantile: 1 }, /option headroomQuantile: Too big/],
    [{ warmPoolQuantile: 1 }, /option warmPoolQuantile: Too big/],
    [{ coldSpill: 'later' }, /option coldSpill: Invalid option/],
    [{ interference: { alpha: 0 } }, /option interference\.alpha: Too small/],
    [{ selector: { alfa: 0.1 } }, /option selector\.alfa: unknown field/],
    [{ exploreShares: 0.01 }, /option exploreShares: unknown field/],
  ])('refused, naming the option and the limit: %o', (bad, message) => {
    expect(() => createSpillwayPolicy(bad as never)).toThrow(ConfigError);
    expect(() => createSpillwayPolicy(bad as never)).toThrow(message);
  });
});
