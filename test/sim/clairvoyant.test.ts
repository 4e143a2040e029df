import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../profiles/catalog.js';
import { achievableFleetDp, boundComparableUsd, clairvoyantBound, vmCarriedRps } from '../../controller/sim/clairvoyant.js';
import { Rng } from '../../controller/sim/rng.js';
import { runScenario } from '../../controller/sim/scenario.js';
import { catalog, envWith, makeProfile } from './helpers.js';
import { sharedPath } from '../../functions/engine/registry.js';

describe('clairvoyant bound', () => {
  const env = envWith([makeProfile({ variant: 'm', etaMs: 2, gammaMs: 8, maxMeasuredBatch: 16 })], 200, ['c5.large']);

  it('is zero for no arrivals and matches a brute-force search over fleet sizes (SLO 200 ms: x1.2 absorbed)', () => {
    expect(clairvoyantBound(new Uint32Array(120), env, 0).clairvoyantUsd).toBe(0);
    const arrivals = new Uint32Array(130);
    for (let s = 0; s < 130; s++) arrivals[s] = s < 60 ? 300 : 700 + (s % 7) * 10;
    const b = clairvoyantBound(arrivals, env, 0);
    const theta = b.vmOptions[0]!.capacityRps;
    const p = catalog.ec2.instanceTypes.find((t) => t.name === 'c5.large')!.pricePerHourUsd / 3600;
    const cL = b.lambda!.usdPerRequest;
    let expected = 0;
    // Blocks [0,60), [60,120), and a 10 s tail charged per second.
    for (let start = 0; start < 130; start += 60) {
      const len = Math.min(60, 130 - start);
      let best = Number.POSITIVE_INFINITY;
      for (let k = 0; k <= 20; k++) {
        let excess = 0;
        let total = 0;
        for (let s = start; s < start + len; s++) {
          excess += Math.max(0, arrivals[s]! - k * theta * 1.2);
          total += arrivals[s]!;
        }
        excess = Math.max(excess, total - k * theta * (len + 0.2));
        best = Math.min(best, len * k * p + cL * excess);
      }
      expected += best;
    }
    expect(b.clairvoyantUsd).toBeCloseTo(expected, 12);
    expect(b.strictLowerBoundUsd).toBeLessThanOrEqual(b.clairvoyantUsd + 1e-12);
  });

  it('never claims throughput beyond the largest measured batch', () => {
    const fixed = envWith([makeProfile({ variant: 'f', etaMs: 2, gammaMs: 8, maxMeasuredBatch: 1 })], 200, ['c5.large']);
    // Batch 1 on 2 x 1-thread replicas: 2 x 1000 / 10 ms = 200 rps.
    expect(clairvoyantBound(new Uint32Array(60).fill(10), fixed, 0).vmOptions[0]!.capacityRps).toBe(200);
  });
});

const POLICIES = ['spillway', 'vm-peak', 'vm-reactive', 'lambda-only', 'mark', 'spock', 'infaas', 'libra', 'lmi'];
const AZURE = sharedPath('traces', 'azure_llm_conv_2023-11-16_1s.csv');

/**
 * Every policy that meets the SLO (<= 1 % violations) must cost at least the bound, once the
 * requests it did not serve in time are credited at the bound's Lambda price (boundComparableUsd).
 */
async function checkBound(trace: string, o: { hours: number; startHours?: number }) {
  const s = await runScenario({
    trace,
    meanRps: 60,
    hours: o.hours,
    startHours: o.startHours,
    sloMs: 200,
    minAccuracy: 65,
    policies: POLICIES,
    seed: 4,
    catalog: loadCatalog(),
  });
  const cv = s.clairvoyant!;
  expect(cv.clairvoyantUsd).toBeGreaterThan(0);
  // Equal when every block's optimum is already per-second optimal: summation order differs, 1e-12 relative.
  expect(cv.strictLowerBoundUsd).toBeLessThanOrEqual(cv.clairvoyantUsd * (1 + 1e-12));
  const meeting = s.rows.filter((r) => r.violationPct <= 1);
  expect(meeting.length).toBeGreaterThan(0);
  for (const r of meeting) {
    // Credit the requests it let go late/rejected at the bound's Lambda price (see boundComparableUsd).
    expect(boundComparableUsd(r, cv), `${r.policy} costs less than the clairvoyant bound`).toBeGreaterThanOrEqual(
      cv.clairvoyantUsd,
    );
  }
  // No policy ever beats the strict per-second bound, whatever its violations (credited as above).
  for (const r of s.rows) expect(boundComparableUsd(r, cv), `${r.policy} below the strict bound`).toBeGreaterThanOrEqual(cv.strictLowerBoundUsd);
  // The offline DP (real boot, integer VMs, billing minimum, an SLO-safe VM model) is never below it either.
  expect(s.achievable!.usd).toBeGreaterThanOrEqual(cv.strictLowerBoundUsd);
  for (const r of s.rows) expect(Number.isFinite(r.ratioToAchievable) && r.ratioToAchievable > 0).toBe(true);
}

describe('clairvoyant <= every policy meeting the SLO', () => {
  it('on a builtin workload (diurnal-burst, 40 min around a burst)', async () => {
    await checkBound('builtin:diurnal-burst', { hours: 0.67, startHours: 12 });
  }, 120_000);

  it.skipIf(!AZURE || !existsSync(AZURE))('on a real trace slice (Azure LLM conversation, 30 min)', async () => {
    await checkBound(AZURE!, { hours: 0.5 });
  }, 120_000);
});

describe('offline DP (achievable optimum on its VM model)', () => {
  /** Every trajectory k_0..k_{T-1} in 0..K, non-decreasing in the first minBilledS seconds. */
  function bruteForce(arr: number[], vmRps: number, p: number, boot: number, minS: number, cL: number, carried: (o: number) => number): number {
    const T = arr.length;
    const K = Math.ceil(Math.max(...arr) / vmRps);
    const start = p * Math.max(boot, minS);
    let best = Number.POSITIVE_INFINITY;
    const k = new Array<number>(T).fill(0);
    const rec = (t: number, cost: number): void => {
      if (cost >= best) return;
      if (t === T) {
        best = cost;
        return;
      }
      for (let v = 0; v <= K; v++) {
        if (t > 0 && t < minS && v < k[t - 1]!) continue;
        k[t] = v;
        const onVm = v > 0 && arr[t]! > 0 ? v * carried(arr[t]! / v) : 0;
        const up = t > 0 ? Math.max(0, v - k[t - 1]!) * start : 0;
        rec(t + 1, cost + v * p + cL * Math.max(0, arr[t]! - onVm) + up);
      }
    };
    rec(0, 0);
    return best;
  }

  it('equals a brute-force search over every fleet trajectory (random small cases, two VM models)', () => {
    const rng = new Rng(11);
    for (let c = 0; c < 40; c++) {
      const T = 3 + Math.floor(rng.uniform() * 6);
      const arr = Array.from({ length: T }, () => Math.floor(rng.uniform() * 30));
      if (Math.max(...arr) === 0) arr[0] = 5;
      const vmRps = 8 + Math.floor(rng.uniform() * 8);
      const p = 0.5 + rng.uniform();
      const boot = 1 + Math.floor(rng.uniform() * 4);
      const minS = 1 + Math.floor(rng.uniform() * 4);
      const cL = 0.02 + rng.uniform() * 0.2;
      const models = [(o: number) => Math.min(o, vmRps), (o: number) => vmCarriedRps(o, 1000 / vmRps, 1, 3, 0.12)];
      for (const carried of models) {
        const dp = achievableFleetDp({ arrivals: arr, vmRps, carried, vmPricePerS: p, bootS: boot, minBilledS: minS, lambdaUsdPerRequest: cL });
        const bf = bruteForce(arr, vmRps, p, boot, minS, cL, carried);
        expect(dp.usd, JSON.stringify({ arr, vmRps, p, boot, minS, cL })).toBeCloseTo(bf, 9);
        // The reconstructed trajectory costs what the DP says.
        expect(dp.ec2Usd + dp.lambdaUsd).toBeCloseTo(dp.usd, 9);
      }
    }
  });

  it('the VM model carries at most what is offered and at most the service rate, more when offered more', () => {
    let prev = 0;
    for (let o = 1; o <= 400; o += 7) {
      const c = vmCarriedRps(o, 14.8, 2, 4, 0.12);
      expect(c).toBeLessThanOrEqual(o + 1e-9);
      expect(c).toBeLessThanOrEqual((2 * 1000) / 14.8 + 1e-9);
      expect(c).toBeGreaterThanOrEqual(prev - 1e-9);
      prev = c;
    }
  });
});
