/**
 * The realistic world departs from what the policies believe, in the directions world.ts states;
 * without a world the simulator is the policies' own model (earlier rounds' results reproduce).
 */
import { describe, expect, it } from 'vitest';
import { createLambdaOnlyPolicy } from '../../controller/sim/baselines/lambda-only.js';
import { createVmPeakPolicy } from '../../controller/sim/baselines/vm-peak.js';
import { simulate } from '../../controller/sim/simulator.js';
import { loadTrace } from '../../controller/sim/trace.js';
import { REALISTIC_WORLD, transportMs, worldNamed } from '../../controller/sim/world.js';
import { envWith, makeProfile } from './helpers.js';

const profile = makeProfile({ variant: 'm', etaMs: 2, gammaMs: 8, maxMeasuredBatch: 16 });
const env = envWith([profile], 2_000, ['c5.large']);
// A sparse steady load: instances idle out between requests, so cold starts are common.
const sparse = loadTrace('builtin:steady', { meanRps: 0.05, hours: 2 });
const steady = loadTrace('builtin:steady', { meanRps: 50, hours: 0.1 });
const ctx = (t: typeof steady) => ({ peakRps: t.peakRps, minAccuracy: 0 });

describe('world model', () => {
  it('no world = the optimistic one: the same seed gives the same run, bit for bit', () => {
    const a = simulate(steady, createVmPeakPolicy(ctx(steady)), env, { seed: 3 });
    const b = simulate(steady, createVmPeakPolicy(ctx(steady)), env, { seed: 3, world: worldNamed('optimistic') });
    expect(b.cost.totalUsd).toBe(a.cost.totalUsd);
    expect(b.p99Ms).toBe(a.p99Ms);
  });

  it('Lambda cold starts take seconds in the realistic world, ~the profile figure in the optimistic one', () => {
    // A 10 s keep-alive and one request every ~20 s: most requests meet a cold instance.
    const opt = simulate(sparse, createLambdaOnlyPolicy(ctx(sparse)), env, { seed: 1, lambdaKeepAliveMs: 10_000 });
    const real = simulate(sparse, createLambdaOnlyPolicy(ctx(sparse)), env, { seed: 1, lambdaKeepAliveMs: 10_000, world: REALISTIC_WORLD });
    expect(opt.coldStarts).toBeGreaterThan(20);
    // The realistic keep-alive is shorter on average: at least as many cold starts.
    expect(real.coldStarts).toBeGreaterThanOrEqual(opt.coldStarts);
    expect(real.p99Ms).toBeGreaterThan(1_000);
    expect(real.p99Ms).toBeGreaterThan(2 * opt.p99Ms);
    // INIT is billed: the same requests cost more.
    expect(real.cost.totalUsd).toBeGreaterThan(opt.cost.totalUsd);
  });

  it('VM answers carry the payload transport (3.6 ms for 60 KB instead of 1 ms)', () => {
    expect(transportMs(REALISTIC_WORLD, 'vm', 1)).toBeCloseTo(3 + 60_000 / 93_750, 9);
    expect(transportMs(undefined, 'vm', 1)).toBe(1);
    const opt = simulate(steady, createVmPeakPolicy(ctx(steady)), env, { seed: 1 });
    const real = simulate(steady, createVmPeakPolicy(ctx(steady)), env, { seed: 1, world: REALISTIC_WORLD });
    expect(real.p50Ms - opt.p50Ms).toBeGreaterThan(2);
  });

  it('a world name that does not exist is refused with the names', () => {
    expect(() => worldNamed('pessimistic')).toThrow(/known: realistic, optimistic/);
  });
});
