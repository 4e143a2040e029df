/**
 * Spot in the simulator (issue 13), on its simulated (manual) clock: a replayed reclaim drains the
 * VMs, Lambda takes their share at once, a replacement is launched; reclaim draws are seeded and the
 * same for every policy; capacity-not-available falls back to other AZs, other types, on-demand.
 */
import { describe, expect, it } from 'vitest';
import { chooseSpotPlacement, type SpotPool } from '../../controller/core/spot-placement.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { buildEnv } from '../../controller/sim/scenario.js';
import { simulate } from '../../controller/sim/simulator.js';
import { withSpotTypes } from '../../profiles/catalog.js';
import { catalog, makeProfile, makeTrace } from './helpers.js';

const spotCatalog = withSpotTypes(catalog);
const profile = makeProfile({ variant: 'm', etaMs: 8, gammaMs: 2 });
const env = buildEnv(spotCatalog, new Map([[profile.variant, profile]]), { sloMs: 200 });
const trace = makeTrace(new Array(20 * 60).fill(600));
const spotPolicy = () => ({ ...createSpillwayPolicy({ spot: true }), name: 'spillway-spot' });
const allPoolsAt = (atMs: number) =>
  spotCatalog.ec2.instanceTypes.filter((t) => t.spotOf).flatMap((t) => Object.keys(t.spot!.pricePerHourUsdByAz).map((az) => ({ atMs, instanceType: t.name, az })));

describe('simulator: Spot reclaims', () => {
  it('a replayed reclaim of every pool at 10 min: VMs drain within the notice, Lambda serves, replacements launch', () => {
    const r = simulate(trace, spotPolicy(), env, { seed: 3, spot: { replay: allPoolsAt(600_000) } });
    const took = r.spot.reclaims.filter((e) => e.vms > 0);
    expect(took.length).toBeGreaterThan(0);
    expect(r.spot.spotVmHours).toBeGreaterThan(0);
    const reclaimed = r.vmTimeline.filter((v) => v.launchedAtMs < 600_000 && v.stoppedAtMs >= 600_000 && v.stoppedAtMs <= 600_000 + 120_000);
    expect(reclaimed.length).toBe(took.reduce((a, e) => a + e.vms, 0));
    // A replacement is asked for at the next tick (10 s ticks).
    expect(r.vmTimeline.some((v) => v.launchedAtMs > 600_000 && v.launchedAtMs <= 610_000)).toBe(true);
    // Lambda takes the share at once: the minute of the reclaim is served mostly by Lambda...
    expect(r.series.lambdaShare[10]!).toBeGreaterThan(0.5);
    // ...and nothing queued is lost to the kill; violations stay small.
    expect(r.violationRate).toBeLessThan(0.01);
  });

  it('without the reclaim the same run keeps its VMs and serves the minute on them', () => {
    const r = simulate(trace, spotPolicy(), env, { seed: 3, spot: { replay: [] } });
    expect(r.spot.reclaims).toEqual([]);
    expect(r.series.lambdaShare[10]!).toBeLessThan(0.2);
  });

  it('drawn reclaims are seeded: the same times for every policy of a seed, other times for another seed', () => {
    const rated = { ...spotCatalog, ec2: { ...spotCatalog.ec2, instanceTypes: spotCatalog.ec2.instanceTypes.map((t) => (t.spot ? { ...t, spot: { ...t.spot, interruptionsPerHour: 3 } } : t)) } };
    const e = buildEnv(rated, new Map([[profile.variant, profile]]), { sloMs: 200 });
    const times = (p: ReturnType<typeof spotPolicy>, seed: number) => simulate(trace, p, e, { seed }).spot.reclaims.map((x) => `${x.instanceType}@${x.az}@${x.atMs.toFixed(0)}`);
    const a = times(spotPolicy(), 5);
    const b = times({ ...createSpillwayPolicy(), name: 'spillway' }, 5);
    expect(a.length).toBeGreaterThan(5);
    expect(b).toEqual(a);
    expect(times(spotPolicy(), 6)).not.toEqual(a);
  });

  it('capacity-not-available for every Spot pool: launches fall back to on-demand and still serve', () => {
    const r = simulate(trace, spotPolicy(), env, { seed: 3, spot: { capacityNotAvailableProbability: 1, replay: [] } });
    expect(r.spot.fallbacks.onDemand).toBeGreaterThan(0);
    expect(r.spot.spotVmHours).toBe(0);
    expect(r.vmHours).toBeGreaterThan(0);
    expect(r.violationRate).toBeLessThan(0.01);
  });

  it('a replay naming an unknown pool is an error naming the pools', () => {
    expect(() => simulate(trace, spotPolicy(), env, { seed: 1, spot: { replay: [{ atMs: 1, instanceType: 'x:spot', az: 'nowhere' }] } })).toThrow(/no Spot pool x:spot in nowhere/);
  });
});

describe('chooseSpotPlacement', () => {
  const pools: SpotPool[] = [
    { instanceType: 'c5.large:spot', az: 'a', liveVms: 2, pricePerHourUsd: 0.045 },
    { instanceType: 'c5.large:spot', az: 'b', liveVms: 1, pricePerHourUsd: 0.048 },
    { instanceType: 'c5.large:spot', az: 'c', liveVms: 1, pricePerHourUsd: 0.043 },
    { instanceType: 'c6g.large:spot', az: 'a', liveVms: 0, pricePerHourUsd: 0.036 },
  ];
  it('fewest VMs first (then cheapest), other AZ, other type, then on-demand', () => {
    expect(chooseSpotPlacement('c5.large:spot', 'c5.large', pools, [], () => true)).toEqual({ kind: 'spot', instanceType: 'c5.large:spot', az: 'c', fallback: 'none' });
    expect(chooseSpotPlacement('c5.large:spot', 'c5.large', pools, [], (p) => p.az !== 'c')).toEqual({ kind: 'spot', instanceType: 'c5.large:spot', az: 'b', fallback: 'other-az' });
    expect(chooseSpotPlacement('c5.large:spot', 'c5.large', pools, ['c6g.large:spot'], (p) => p.instanceType !== 'c5.large:spot')).toEqual({ kind: 'spot', instanceType: 'c6g.large:spot', az: 'a', fallback: 'other-type' });
    expect(chooseSpotPlacement('c5.large:spot', 'c5.large', pools, ['c6g.large:spot'], () => false)).toEqual({ kind: 'on-demand', instanceType: 'c5.large', fallback: 'on-demand' });
  });
});
