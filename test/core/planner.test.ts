import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chooseLambdaMemory,
  IDLE_RPS,
  type LambdaMemoryCandidate,
  type PlannerVariant,
  planCapacity,
  pruneDominated,
} from '../../controller/core/planner.js';
import { lambdaCostPerRequest } from '../../profiles/pricing.js';
import { catalog } from './fixtures.js';

const TYPES = catalog.ec2.instanceTypes;

/** Variant generator: 1..6 variants, each with a subset of catalog types and maybe Lambda. */
const variantArb = fc.record({
  ms: fc.double({ min: 0.5, max: 300, noNaN: true }),
  acc: fc.option(fc.double({ min: 40, max: 85, noNaN: true }), { nil: null }),
  typeMask: fc.integer({ min: 0, max: (1 << TYPES.length) - 1 }),
  lambda: fc.boolean(),
});

function toPlanner(specs: Array<{ ms: number; acc: number | null; typeMask: number; lambda: boolean }>): PlannerVariant[] {
  return specs.map((s, i) => ({
    name: `v${i}`,
    accuracy: s.acc,
    vmOptions: TYPES.filter((_t, j) => (s.typeMask >> j) & 1).map((t) => ({
      instanceType: t.name,
      capacityRps: (t.vcpu * 1000) / s.ms,
      pricePerHourUsd: t.pricePerHourUsd,
      bootDelayMs: t.typicalBootDelayMs,
    })),
    lambda: s.lambda ? { memoryMb: 2048, costPerRequestUsd: lambdaCostPerRequest(catalog, 2048, s.ms), durationMs: s.ms } : undefined,
  }));
}

describe('planCapacity properties', () => {
  it('counts >= 0, shares valid, VM traffic within capacity, load served, budget respected', () => {
    fc.assert(
      fc.property(
        fc.array(variantArb, { minLength: 1, maxLength: 6 }),
        fc.double({ min: 0, max: 3000, noNaN: true }),
        fc.option(fc.double({ min: 0.01, max: 20, noNaN: true }), { nil: undefined }),
        (specs, load, budget) => {
          const vs = toPlanner(specs);
          const util = 0.8;
          const r = planCapacity({ loadRps: load, variants: vs, targetUtilisation: util, lambdaConcurrencyLimit: 1000, budgetUsdPerHour: budget });
          if (!r.ok) return typeof r.reason === 'string' && r.reason.length > 0;
          let shareSum = 0;
          for (const s of Object.values(r.shares)) {
            if (!(s >= 0)) return false;
            shareSum += s;
          }
          if (Math.abs(shareSum - 1) > 1e-6) return false;
          for (const vm of r.vms) if (!(vm.count >= 0) || !Number.isInteger(vm.count)) return false;
          for (const v of vs) {
            const cap = r.vms
              .filter((x) => x.variant === v.name)
              .reduce((a, x) => a + x.count * util * (v.vmOptions.find((o) => o.instanceType === x.instanceType)?.capacityRps ?? 0), 0);
            if ((r.vmRps[v.name] ?? 0) > cap + 1e-6 * Math.max(1, cap)) return false;
          }
          const served = Object.values(r.vmRps).reduce((a, b) => a + b, 0) + Object.values(r.lambdaRps).reduce((a, b) => a + b, 0);
          if (load >= IDLE_RPS && Math.abs(served - load) > 1e-6 * Math.max(1, load)) return false;
          if (budget !== undefined && r.costUsdPerHour > budget * (1 + 1e-6) + 1e-9) return false;
          return true;
        },
      ),
      { numRuns: 150 },
    );
  });

  it('infeasible returns a value with a reason, never throws', () => {
    const vs = toPlanner([{ ms: 10, acc: 70, typeMask: 1, lambda: true }]);
    const tight = planCapacity({ loadRps: 5000, variants: vs, lambdaConcurrencyLimit: 1000, budgetUsdPerHour: 0.001 });
    expect(tight.ok).toBe(false);
    if (!tight.ok) expect(tight.reason).toMatch(/budget/);
    const floor = planCapacity({ loadRps: 10, variants: vs, lambdaConcurrencyLimit: 1000, minAccuracy: 90 });
    expect(floor.ok).toBe(false);
    if (!floor.ok) expect(floor.reason).toMatch(/minAccuracy 90/);
    const none = planCapacity({ loadRps: 10, variants: [], lambdaConcurrencyLimit: 1000 });
    expect(none).toEqual({ ok: false, reason: 'no variants to plan for' });
    const bad = planCapacity({ loadRps: Number.NaN, variants: vs, lambdaConcurrencyLimit: 1000 });
    expect(bad.ok).toBe(false);
    const noOptions = planCapacity({ loadRps: 10, variants: toPlanner([{ ms: 10, acc: 70, typeMask: 0, lambda: false }]), lambdaConcurrencyLimit: 1000 });
    expect(noOptions.ok).toBe(false);
  });

  it('buys VMs for steady load above break-even and leaves a small load to Lambda', () => {
    const vs = toPlanner([{ ms: 6, acc: 68.3, typeMask: 0b111111, lambda: true }]);
    const big = planCapacity({ loadRps: 2000, variants: vs, lambdaConcurrencyLimit: 1000 });
    const small = planCapacity({ loadRps: 1, variants: vs, lambdaConcurrencyLimit: 1000 });
    expect(big.ok && big.vms.reduce((a, v) => a + v.count, 0)).toBeGreaterThan(0);
    expect(small.ok && small.vms.length).toBe(0);
    expect(small.ok && small.lambdaRps.v0).toBeCloseTo(1);
  });

  it('an accuracy floor shifts the mix to the accurate variant', () => {
    const vs = toPlanner([
      { ms: 2, acc: 55, typeMask: 0b1, lambda: true },
      { ms: 12, acc: 70, typeMask: 0b1, lambda: true },
    ]);
    const free = planCapacity({ loadRps: 500, variants: vs, lambdaConcurrencyLimit: 1000, accuracyValueUsdPerMillionPerPct: 0 });
    const floored = planCapacity({ loadRps: 500, variants: vs, lambdaConcurrencyLimit: 1000, accuracyValueUsdPerMillionPerPct: 0, minAccuracy: 65 });
    expect(free.ok && floored.ok).toBe(true);
    if (free.ok && floored.ok) {
      expect(free.accuracy).toBeCloseTo(55);
      expect(floored.accuracy).toBeGreaterThanOrEqual(65 - 1e-6);
      expect(floored.shares.v1 ?? 0).toBeGreaterThan(free.shares.v1 ?? 0);
    }
  });

  it('dominance pruning keeps the cheapest way to buy capacity', () => {
    const opts = [
      { instanceType: 'c5.large', capacityRps: 100, pricePerHourUsd: 0.085, bootDelayMs: 90_000 },
      { instanceType: 'c5.xlarge', capacityRps: 200, pricePerHourUsd: 0.17, bootDelayMs: 90_000 },
      { instanceType: 'm5.large', capacityRps: 100, pricePerHourUsd: 0.096, bootDelayMs: 90_000 },
      { instanceType: 'c6g.large', capacityRps: 95, pricePerHourUsd: 0.068, bootDelayMs: 80_000 },
    ];
    expect(pruneDominated(opts, 3_600_000).map((o) => o.instanceType)).toEqual(['c5.large', 'c6g.large']);
  });
});

describe('chooseLambdaMemory', () => {
  const cand = (memoryMb: number, p50Ms: number, coldStartMs: number): LambdaMemoryCandidate => ({
    memoryMb,
    p50Ms,
    p99Ms: p50Ms * 1.5,
    coldStartMs,
    costPerRequestUsd: lambdaCostPerRequest(catalog, memoryMb, p50Ms),
  });
  it('picks the cheapest size meeting the SLO at the warm/cold mix, within the catalog range', () => {
    // Sub-linear slow-down below 1 vCPU (fixed per-request work), cold start grows as CPU shrinks.
    const cs = catalog.lambda.memoryOptionsMb.map((m) => cand(m, 6 * Math.max(1, 1769 / m) ** 0.8, 300 + 200 * Math.max(1, 1769 / m)));
    const warmOnly = chooseLambdaMemory(cs, 200, 0.001)!;
    const coldMix = chooseLambdaMemory(cs, 600, 0.05)!;
    expect(warmOnly.fits && coldMix.fits).toBe(true);
    for (const c of [warmOnly.choice, coldMix.choice]) {
      expect(c.memoryMb).toBeGreaterThanOrEqual(catalog.lambda.minMemoryMb);
      expect(c.memoryMb).toBeLessThanOrEqual(catalog.lambda.maxMemoryMb);
    }
    // With 5 % cold starts the cold latency must fit 600 ms: needs more memory than warm-only.
    expect(coldMix.choice.coldStartMs + coldMix.choice.p50Ms).toBeLessThanOrEqual(600);
    expect(coldMix.choice.memoryMb).toBeGreaterThan(warmOnly.choice.memoryMb);
    for (const c of cs) if (c.p99Ms <= 200) expect(c.costPerRequestUsd).toBeGreaterThanOrEqual(warmOnly.choice.costPerRequestUsd);
  });
  it('prefers the fastest size within 5 % of the cheapest, and keeps the size in use until another is 25 % cheaper', () => {
    // Flat cost below 1 vCPU: 512 / 1,024 / 1,769 MB cost the same per request, 1,769 is 3.5x faster.
    const flat = [cand(512, 48, 570), cand(1024, 24, 410), cand(1769, 14, 343), cand(3008, 10.3, 343)];
    const pick = chooseLambdaMemory(flat, 200, 0)!;
    expect(pick.choice.memoryMb).toBe(1769); // 3,008 MB costs 25 % more: not "equally cheap"
    expect(pick.choice.costPerRequestUsd).toBeLessThanOrEqual(Math.min(...flat.map((c) => c.costPerRequestUsd)) * 1.05);
    // In use: 3,008 MB (<= 25 % dearer than the cheapest) is kept; 10,240 MB (7x) is not.
    const withBig = [...flat, cand(10240, 10, 343)];
    const cheapest = Math.min(...withBig.map((c) => c.costPerRequestUsd));
    const keep = chooseLambdaMemory(withBig, 200, 0, 3008)!;
    expect(keep.choice.costPerRequestUsd <= cheapest * 1.25).toBe(keep.choice.memoryMb === 3008);
    expect(chooseLambdaMemory(withBig, 200, 0, 10240)!.choice.memoryMb).toBe(1769);
  });
  it('falls back to the fastest size when none fits, flagged', () => {
    const r = chooseLambdaMemory([cand(512, 500, 1000), cand(3008, 300, 800)], 100, 0)!;
    expect(r.fits).toBe(false);
    expect(r.choice.memoryMb).toBe(3008);
    expect(chooseLambdaMemory([], 100, 0)).toBeUndefined();
  });
});
