/**
 * The planner's Spot rows (core/planner.ts header): on-demand vs Spot per type, one reclaim (one
 * AZ pool) never takes more than maxSpotShareOfOneReclaim of the capacity, and Lambda (or, for a
 * variant without Lambda, its own VMs) can take the reclaimed pool's load at once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PlannerVariant, type PlanResult, planCapacity, type VmOption } from '../../controller/core/planner.js';
import { spotInterruptionsPerHour, withSpotTypes } from '../../profiles/catalog.js';
import { lambdaCostPerRequest, spotInterruptionCostUsd, vmLaunchCostUsd } from '../../profiles/pricing.js';
import { catalog } from './fixtures.js';

const UTIL = 0.8;
const spotCatalog = withSpotTypes(catalog);

/** c5.large-like options: on-demand $0.085, Spot $0.045 in 3 AZ pools, 100 rps each. */
function options(opts: { spot?: boolean; pools?: number; rate?: number } = {}): VmOption[] {
  const od: VmOption = { instanceType: 'c5.large', capacityRps: 100, pricePerHourUsd: 0.085, bootDelayMs: 90_000, vcpu: 2 };
  if (opts.spot === false) return [od];
  return [
    od,
    {
      instanceType: 'c5.large:spot',
      capacityRps: 100,
      pricePerHourUsd: 0.045,
      bootDelayMs: 90_000,
      vcpu: 2,
      spot: { interruptionsPerHour: opts.rate ?? 0.000137, pools: opts.pools ?? 3 },
    },
  ];
}

function variant(vmOptions: VmOption[], lambda = true): PlannerVariant {
  return {
    name: 'v',
    accuracy: 70,
    vmOptions,
    lambda: lambda ? { memoryMb: 2048, costPerRequestUsd: lambdaCostPerRequest(catalog, 2048, 20), durationMs: 20 } : undefined,
  };
}

/** Count of a type in a plan. */
const count = (r: PlanResult, t: string): number => (r.ok ? r.vms.filter((v) => v.instanceType === t).reduce((a, v) => a + v.count, 0) : 0);

/** The largest pool's capacity (VMs spread evenly over the pools) and the plan's VM capacity. */
function exposure(r: PlanResult, vs: readonly PlannerVariant[]): { worstPoolRps: number; capacityRps: number } {
  if (!r.ok) return { worstPoolRps: 0, capacityRps: 0 };
  let capacity = 0;
  const byGroup = new Map<string, number>();
  for (const pv of r.vms) {
    const o = vs.find((v) => v.name === pv.variant)!.vmOptions.find((x) => x.instanceType === pv.instanceType)!;
    capacity += pv.count * o.capacityRps * UTIL;
    if (o.spot) byGroup.set(o.instanceType, (byGroup.get(o.instanceType) ?? 0) + Math.ceil(pv.count / o.spot.pools) * o.capacityRps * UTIL);
  }
  return { worstPoolRps: Math.max(0, ...byGroup.values()), capacityRps: capacity };
}

describe('planner: Spot', () => {
  it('buys Spot spread over AZ pools when it is cheaper, and is cheaper than on-demand only', () => {
    const spot = planCapacity({ loadRps: 380, variants: [variant(options())], lambdaConcurrencyLimit: 1000 });
    const od = planCapacity({ loadRps: 380, variants: [variant(options({ spot: false }))], lambdaConcurrencyLimit: 1000 });
    expect(spot.ok && od.ok).toBe(true);
    if (!spot.ok || !od.ok) return;
    expect(count(spot, 'c5.large:spot')).toBeGreaterThanOrEqual(4);
    expect(count(spot, 'c5.large')).toBe(0);
    expect(spot.costUsdPerHour).toBeLessThan(od.costUsdPerHour * 0.6);
    const e = exposure(spot, [variant(options())]);
    expect(e.worstPoolRps).toBeLessThanOrEqual(0.5 * e.capacityRps + 1e-6);
  });

  it('with one pool and a 50 % cap, a single Spot VM needs an on-demand twin (or none)', () => {
    const vs = [variant(options({ pools: 1 }))];
    const r = planCapacity({ loadRps: 70, variants: vs, lambdaConcurrencyLimit: 1000 });
    expect(r.ok).toBe(true);
    const e = exposure(r, vs);
    expect(e.worstPoolRps).toBeLessThanOrEqual(0.5 * e.capacityRps + 1e-6);
    // Without the cap the plan is a single Spot VM: the cap is what changed it.
    const free = planCapacity({ loadRps: 70, variants: vs, lambdaConcurrencyLimit: 1000, maxSpotShareOfOneReclaim: 1 });
    expect(free.ok && free.vms).toEqual([{ instanceType: 'c5.large:spot', variant: 'v', count: 1 }]);
  });

  it('maxSpotShareOfOneReclaim 0 buys no Spot at all', () => {
    const r = planCapacity({ loadRps: 380, variants: [variant(options())], lambdaConcurrencyLimit: 1000, maxSpotShareOfOneReclaim: 0 });
    expect(r.ok).toBe(true);
    expect(count(r, 'c5.large:spot')).toBe(0);
    expect(count(r, 'c5.large')).toBeGreaterThanOrEqual(5);
  });

  it('keeps the reclaimed pool within what Lambda can absorb at once (concurrency)', () => {
    // 3 concurrent Lambda slots x 0.8 / 20 ms = 120 rps of headroom: a pool of 2 VMs (160 rps at
    // 80 %) cannot be absorbed, one VM (80 rps) can.
    const vs = [variant(options({ pools: 1 }))];
    const r = planCapacity({ loadRps: 600, variants: vs, lambdaConcurrencyLimit: 3, maxSpotShareOfOneReclaim: 1 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(count(r, 'c5.large:spot')).toBe(1);
    const roomy = planCapacity({ loadRps: 600, variants: vs, lambdaConcurrencyLimit: 1000, maxSpotShareOfOneReclaim: 1 });
    expect(count(roomy, 'c5.large:spot')).toBeGreaterThanOrEqual(8);
  });

  it('when no plan holds the SLO through a reclaim, it buys Spot anyway and says so (never nothing)', () => {
    // Spot only, one pool, Lambda concurrency 1 (0.8 x 1 / 20 ms = 40 rps of headroom): no VM's
    // 80 rps can be absorbed at once, so the guaranteed rows are infeasible for 300 rps.
    const vs = [variant(options({ pools: 1 }).filter((o) => o.spot))];
    const guaranteed = planCapacity({ loadRps: 300, variants: vs, lambdaConcurrencyLimit: 1, spotReclaimGuarantee: true, maxSpotShareOfOneReclaim: 0.5 });
    expect(guaranteed.ok).toBe(true);
    if (!guaranteed.ok) return;
    expect(guaranteed.spotReclaimUncovered).toBe(true);
    expect(count(guaranteed, 'c5.large:spot')).toBeGreaterThanOrEqual(4);
    // Feasible with the guarantee: not flagged.
    const fine = planCapacity({ loadRps: 600, variants: [variant(options({ pools: 1 }))], lambdaConcurrencyLimit: 3, maxSpotShareOfOneReclaim: 1 });
    expect(fine.ok && fine.spotReclaimUncovered).toBeFalsy();
  });

  it('a variant without Lambda holds the worst reclaim on its own VMs', () => {
    const vs = [variant(options({ pools: 3 }), false)];
    const r = planCapacity({ loadRps: 380, variants: vs, lambdaConcurrencyLimit: 1000, maxSpotShareOfOneReclaim: 1 });
    expect(r.ok).toBe(true);
    const e = exposure(r, vs);
    // Capacity left after losing the worst pool still carries the load.
    expect(e.capacityRps - e.worstPoolRps).toBeGreaterThanOrEqual(380 - 1e-6);
  });

  it('prices a reclaim into the Spot option: at a ruinous rate Spot is not bought', () => {
    // One reclaim of a 100 rps VM costs ~$0.0075 (pricing.ts); at 10 an hour that is $0.075/h,
    // more than Spot saves ($0.04/h).
    const perReclaim = spotInterruptionCostUsd(0.045, 120_000, 90_000, 80, lambdaCostPerRequest(catalog, 2048, 20));
    expect(perReclaim).toBeGreaterThan(vmLaunchCostUsd(0.045, 90_000, 80, lambdaCostPerRequest(catalog, 2048, 20)));
    const r = planCapacity({ loadRps: 380, variants: [variant(options({ rate: 10 }))], lambdaConcurrencyLimit: 1000 });
    expect(count(r, 'c5.large:spot')).toBe(0);
  });

  it('property: every plan keeps each Spot group within the share cap and Lambda headroom', () => {
    const pools = 3;
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2_000, noNaN: true }),
        fc.double({ min: 0.2, max: 1, noNaN: true }),
        fc.integer({ min: 2, max: 200 }),
        (load, share, conc) => {
          const vs: PlannerVariant[] = [
            {
              ...variant([
                ...options({ pools }),
                { instanceType: 'c6g.large:spot', capacityRps: 120, pricePerHourUsd: 0.036, bootDelayMs: 80_000, vcpu: 2, spot: { interruptionsPerHour: 0.001, pools } },
              ]),
            },
          ];
          const r = planCapacity({ loadRps: load, variants: vs, lambdaConcurrencyLimit: conc, maxSpotShareOfOneReclaim: share });
          if (!r.ok) return;
          const lam = vs[0]!.lambda!;
          const lambdaConc = ((r.lambdaRps.v ?? 0) * lam.durationMs) / 1000;
          for (const g of ['c5.large:spot', 'c6g.large:spot']) {
            const o = vs[0]!.vmOptions.find((x) => x.instanceType === g)!;
            const pool = Math.ceil(count(r, g) / pools) * o.capacityRps * UTIL;
            const e = exposure(r, vs);
            expect(pool).toBeLessThanOrEqual(share * e.capacityRps + 1e-6);
            expect(lambdaConc + (pool * lam.durationMs) / 1000).toBeLessThanOrEqual(conc * 0.8 + 1e-6);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('catalog: Spot snapshot', () => {
  it('every type has a dated Spot price per AZ below on-demand, and a derived :spot type', () => {
    expect(catalog.ec2.spot?.priceDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const t of catalog.ec2.instanceTypes) {
      expect(t.spot).toBeDefined();
      for (const p of Object.values(t.spot!.pricePerHourUsdByAz)) expect(p).toBeLessThan(t.pricePerHourUsd);
      const s = spotCatalog.ec2.instanceTypes.find((x) => x.name === `${t.name}:spot`);
      expect(s?.spotOf).toBe(t.name);
    }
    expect(withSpotTypes(spotCatalog).ec2.instanceTypes.length).toBe(spotCatalog.ec2.instanceTypes.length);
  });

  it('reads the Advisor band at its upper end per 730 h month, a configured rate wins', () => {
    const t = catalog.ec2.instanceTypes[0]!;
    expect(spotInterruptionsPerHour({ ...t, spot: { ...t.spot!, interruptionBand: '5-10%' } })).toBeCloseTo(0.1 / 730, 9);
    expect(spotInterruptionsPerHour({ ...t, spot: { ...t.spot!, interruptionsPerHour: 0.2 } })).toBe(0.2);
  });
});
