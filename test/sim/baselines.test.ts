import { describe, expect, it } from 'vitest';
import { createInfaasPolicy } from '../../controller/sim/baselines/infaas.js';
import { createLambdaOnlyPolicy } from '../../controller/sim/baselines/lambda-only.js';
import { createMarkPolicy, markForecast, markVmCount } from '../../controller/sim/baselines/mark.js';
import { lambdaCostPerRequest } from '../../profiles/pricing.js';
import { lambdaPrior } from '../../controller/core/selector.js';
import { createSpockPolicy } from '../../controller/sim/baselines/spock.js';
import { createVmPeakPolicy, VM_PEAK_UTILISATION } from '../../controller/sim/baselines/vm-peak.js';
import { createVmReactivePolicy } from '../../controller/sim/baselines/vm-reactive.js';
import type { TickObservation } from '../../controller/core/policy-types.js';
import { simulate } from '../../controller/sim/simulator.js';
import { loadTrace } from '../../controller/sim/trace.js';
import fc from 'fast-check';
import { baselineLambdaMemory, defaultVariant, eligibleVariants, preferRealWeights } from '../../controller/sim/baselines/common.js';
import { runScenario } from '../../controller/sim/scenario.js';
import type { VariantProfile } from '../../profiles/schema.js';
import { envWith, makeProfile, makeTrace } from './helpers.js';

// l(b, c) = 8 b / c + 2 ms: batching helps a little; c5.large sustains ~246 rps at batch 16.
const profile = makeProfile({ variant: 'm', etaMs: 2, gammaMs: 8, maxMeasuredBatch: 16 });
const env = envWith([profile], 200, ['c5.large', 'c5.xlarge']);
// 30 -> 75 min of the spike workload: 100 rps, 4x (400 rps) from minute 50 to 60.
const trace = loadTrace('builtin:spike', { startHours: 0.5, hours: 0.75 });
const ctx = { peakRps: trace.peakRps, minAccuracy: 0 };
const minute = (m: number) => m - 30; // series index of absolute minute m

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

describe('baselines behave as described', () => {
  it('vm-peak buys a fleet for the peak once and never scales', () => {
    const r = simulate(trace, createVmPeakPolicy(ctx), env, { seed: 1 });
    const cap = profile.instances.find((i) => i.instanceType === 'c5.large')!.throughputRps;
    expect(r.vmLaunches).toBe(Math.ceil(400 / (cap * VM_PEAK_UTILISATION)));
    expect(new Set(r.series.vmCount).size).toBe(1);
    expect(r.lambdaShare).toBe(0);
    expect(r.violationRate).toBeLessThan(0.01);
  });

  it('lambda-only never launches a VM and serves everything on Lambda', () => {
    const r = simulate(trace, createLambdaOnlyPolicy(ctx), env, { seed: 1 });
    expect(r.vmLaunches).toBe(0);
    expect(r.cost.ec2Usd).toBe(0);
    expect(r.lambdaShare).toBe(1);
  });

  it("mark's forecast is the running peak x its factor (tuned: x 1.1 over 60 s)", () => {
    expect(markForecast([10, 50, 20], 10_000)).toBeCloseTo(55, 9);
    // Only the last 60 s (6 ticks of 10 s) count.
    expect(markForecast([500, ...new Array(6).fill(10)], 10_000)).toBeCloseTo(11, 9);
    // MArk's own code: x 1.2 over 5 minutes (30 ticks).
    expect(markForecast([500, ...new Array(30).fill(10)], 10_000, 1.2, 300_000)).toBeCloseTo(12, 9);
    const p = createMarkPolicy(ctx);
    const s0 = p.init(env, 0);
    const obs: TickObservation = {
      nowMs: 10_000,
      arrivalRpsHistory: [100, 180, 120],
      vms: [],
      lambda: { memoryMbByVariant: {}, warmIdleByVariant: {}, inFlight: 0, concurrencyLimit: 1000 },
      completions: [],
      observedBootDelayMs: {},
    };
    const { decision } = p.tick(obs, s0, env);
    expect(decision.forecastRps).toBeCloseTo(198, 9);
    const cap = s0.option.capacityRps;
    // Full VMs for the forecast; the top, partial one only when its load costs more on Lambda.
    const lambdaUsd = lambdaCostPerRequest(env.catalog, s0.lambdaMemoryMb!, lambdaPrior(env.catalog, profile, s0.lambdaMemoryMb!).p50Ms, env.lambdaArch);
    const want = markVmCount(198, cap, s0.option.pricePerHourUsd, lambdaUsd);
    expect(want).toBeGreaterThanOrEqual(Math.floor(198 / cap));
    expect(want).toBeLessThanOrEqual(Math.ceil(198 / cap));
    expect(decision.launch.reduce((a, l) => a + l.count, 0)).toBe(want);
    // Lambda at the memory Spillway's right-sizing picks from the same priors, not a fixed 3,008 MB.
    expect(decision.lambdaMemoryMb.m).toBe(baselineLambdaMemory(env, env.variants[0]!));
  });

  it('infaas never uses Lambda', () => {
    const r = simulate(trace, createInfaasPolicy(ctx), env, { seed: 1 });
    expect(r.lambdaShare).toBe(0);
    expect(r.cost.lambdaComputeUsd).toBe(0);
    expect(r.vmLaunches).toBeGreaterThan(1);
  });

  it('vm-reactive scales out after the spike starts (late), without Lambda', () => {
    const r = simulate(trace, createVmReactivePolicy(ctx), env, { seed: 1 });
    expect(r.lambdaShare).toBe(0);
    expect(r.series.vmCount[minute(58)]!).toBeGreaterThan(r.series.vmCount[minute(45)]!);
    // While the new VMs boot, the old ones queue: the spike's first minutes go late.
    expect(mean(r.series.violationRate.slice(minute(50), minute(52)))).toBeGreaterThan(0.05);
  });

  it('spock launches reactively and spills to Lambda while the VMs boot', () => {
    const r = simulate(trace, createSpockPolicy(ctx), env, { seed: 1 });
    const before = mean(r.series.lambdaShare.slice(minute(35), minute(49)));
    const spikeStart = mean(r.series.lambdaShare.slice(minute(50), minute(52)));
    expect(before).toBeLessThan(0.02);
    expect(spikeStart).toBeGreaterThan(0.2);
    expect(r.series.vmCount[minute(58)]!).toBeGreaterThan(r.series.vmCount[minute(45)]!);
    // Once the VMs are up, Lambda's share falls again.
    expect(mean(r.series.lambdaShare.slice(minute(55), minute(59)))).toBeLessThan(spikeStart);
    expect(r.violationRate).toBeLessThan(0.01);
  });
});

/** A synthetic-weights variant: real latency, no published accuracy. */
function synthetic(p: VariantProfile): VariantProfile {
  return { ...p, weights: 'synthetic', accuracyTop1: null };
}

describe('every policy serves from the same variant set under the same accuracy floor', () => {
  // The synthetic variant is 4x cheaper per request than either real one: a baseline choosing by
  // price alone would take it and look cheaper while answering with meaningless weights.
  const cheapSynthetic = synthetic(makeProfile({ variant: 'syn', etaMs: 2, gammaMs: 2, maxMeasuredBatch: 16 }));
  const realLow = makeProfile({ variant: 'real-55', etaMs: 8, gammaMs: 8, accuracy: 55, maxMeasuredBatch: 16 });
  const realHigh = makeProfile({ variant: 'real-70', etaMs: 12, gammaMs: 12, accuracy: 70, maxMeasuredBatch: 16 });
  const mixed = envWith([cheapSynthetic, realLow, realHigh], 200, ['c5.large']);

  it('a fixed-model baseline never picks a synthetic variant while a real one meets the floor', () => {
    expect(defaultVariant(mixed, 0).name).toBe('real-55');
    expect(defaultVariant(mixed, 60).name).toBe('real-70');
    expect(eligibleVariants(mixed, 0).map((v) => v.name)).toEqual(['real-55', 'real-70']);
    for (const make of [createVmPeakPolicy, createVmReactivePolicy, createMarkPolicy, createSpockPolicy]) {
      expect(make({ peakRps: 50, minAccuracy: 0 }).init(mixed, 0).variant.name).toBe('real-55');
    }
    expect(createLambdaOnlyPolicy({ peakRps: 50, minAccuracy: 0 }).init(mixed, 0).variant).toBe('real-55');
    const inf = createInfaasPolicy({ peakRps: 50, minAccuracy: 0 }).init(mixed, 0);
    expect([inf.cheap.variant.weights, inf.fast.variant.weights]).toEqual(['real', 'real']);
  });

  it('synthetic weights are served only when nothing real exists', () => {
    const onlySynthetic = envWith([cheapSynthetic], 200, ['c5.large']);
    expect(defaultVariant(onlySynthetic, 0).name).toBe('syn');
    // A floor no real variant meets is an error naming the variants, not a silent synthetic fallback.
    expect(() => defaultVariant(mixed, 80)).toThrow(/no variant meets minAccuracy 80.*real-70 70/);
  });

  it('preferRealWeights keeps every real variant and drops synthetic ones only for tasks that have a real one', () => {
    const variant = fc.record({
      task: fc.constantFrom('a', 'b', 'c'),
      weights: fc.constantFrom('real' as const, 'synthetic' as const),
    });
    fc.assert(
      fc.property(fc.array(variant, { maxLength: 12 }), (vs) => {
        const kept = preferRealWeights(vs);
        for (const v of vs) {
          const taskHasReal = vs.some((x) => x.task === v.task && x.weights === 'real');
          expect(kept.includes(v)).toBe(v.weights === 'real' || !taskHasReal);
        }
      }),
    );
  });

  it('in a scenario at minAccuracy 0 every policy answers with real models and shows its mix and accuracy', async () => {
    const s = await runScenario({
      trace: makeTrace(new Array(600).fill(20)),
      sloMs: 200,
      minAccuracy: 0,
      policies: ['spillway', 'vm-peak', 'vm-reactive', 'lambda-only', 'mark', 'spock', 'infaas', 'clairvoyant'],
      seed: 1,
      instanceTypes: ['c5.large'],
      profiles: new Map([cheapSynthetic, realLow, realHigh].map((p) => [p.variant, p])),
    });
    for (const r of s.results) {
      expect(r.served).toBeGreaterThan(0);
      expect(Object.keys(r.servedByVariant).sort()).not.toContain('syn');
    }
    for (const row of s.rows) {
      expect(row.modelMix).not.toMatch(/\bsyn\b/);
      expect(row.modelMix).toMatch(/real-(55|70)/);
      if (row.policy !== 'clairvoyant') expect(row.avgAccuracy).toBeGreaterThanOrEqual(55);
    }
    expect(s.syntheticWeights).toEqual([]);
    expect(s.profileNotes.join('\n')).toMatch(/synthetic weights not served.*syn/);
  }, 60_000);

  it('naming a synthetic variant (--variants) serves it', async () => {
    const s = await runScenario({
      trace: makeTrace(new Array(120).fill(5)),
      sloMs: 200,
      minAccuracy: 0,
      policies: ['vm-peak'],
      seed: 1,
      instanceTypes: ['c5.large'],
      variants: ['syn'],
      profiles: new Map([cheapSynthetic, realLow].map((p) => [p.variant, p])),
    });
    expect(s.rows[0]!.modelMix).toBe('syn 100 %');
    expect(s.rows[0]!.avgAccuracy).toBeNull();
    expect(s.syntheticWeights).toEqual(['syn']);
  });
});
