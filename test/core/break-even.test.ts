import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../profiles/catalog.js';
import {
  breakEvenFromProfile,
  breakEvenUtilisation,
  lambdaBilledDurationMs,
  lambdaCostPerRequest,
  vmBilledCostUsd,
  vmCostPerHour,
  vmMinimumBilledUntilMs,
} from '../../controller/core/cost.js';
import { UnknownResourceError } from '../../controller/core/errors.js';
import { catalog, makeProfile, REAL_MODELS } from './fixtures.js';

describe('EC2 billing', () => {
  it('bills per second with the 60 s minimum from the catalog', () => {
    const perS = vmCostPerHour(catalog, 'c5.large') / 3600;
    expect(vmBilledCostUsd(catalog, 'c5.large', 20_000)).toBeCloseTo(60 * perS, 12);
    expect(vmBilledCostUsd(catalog, 'c5.large', 150_200)).toBeCloseTo(151 * perS, 12);
    expect(vmMinimumBilledUntilMs(catalog, 1000)).toBe(61_000);
  });

  it('names the unknown instance type', () => {
    expect(() => vmCostPerHour(catalog, 'x9.huge')).toThrow(UnknownResourceError);
    expect(() => vmCostPerHour(catalog, 'x9.huge')).toThrow(/x9\.huge/);
  });

  it('property: billed cost is monotone in run time and never below the minimum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 100_000 }), (a, d) => {
        const c1 = vmBilledCostUsd(catalog, 'c6g.large', a);
        const c2 = vmBilledCostUsd(catalog, 'c6g.large', a + d);
        return c2 >= c1 && c1 >= vmBilledCostUsd(catalog, 'c6g.large', 0) - 1e-15;
      }),
    );
  });
});

describe('Lambda billing', () => {
  it('rounds duration up to 1 ms and adds the request fee (worked number in cost.ts)', () => {
    expect(lambdaBilledDurationMs(catalog, 5.2)).toBe(6);
    expect(lambdaBilledDurationMs(catalog, 0)).toBe(1);
    // 2 GB x 0.006 s x 0.0000166667 + 0.2e-6
    expect(lambdaCostPerRequest(catalog, 2048, 6, 'x86_64')).toBeCloseTo(2 * 0.006 * 0.0000166667 + 0.2e-6, 15);
    expect(lambdaCostPerRequest(catalog, 2048, 6, 'arm64')).toBeLessThan(lambdaCostPerRequest(catalog, 2048, 6, 'x86_64'));
  });
});

describe('break-even utilisation', () => {
  it('matches the worked number: c5.large at 300 rps vs $0.0000004/request -> ~0.197', () => {
    const u = breakEvenUtilisation({ vmPricePerHourUsd: 0.085, vmCapacityRps: 300, lambdaCostPerRequestUsd: 4e-7 });
    expect(u).toBeCloseTo(0.085 / 3600 / (300 * 4e-7), 10);
    expect(u).toBeGreaterThan(0.19);
    expect(u).toBeLessThan(0.2);
  });

  it('varies with the profile and with the price, computed not constant', () => {
    const fast = makeProfile(REAL_MODELS[0]!);
    const slow = makeProfile(REAL_MODELS[4]!);
    const uFast = breakEvenFromProfile(catalog, fast, 'c5.large')!;
    const uSlow = breakEvenFromProfile(catalog, slow, 'c5.large')!;
    expect(uFast).toBeGreaterThan(0);
    expect(uSlow).toBeGreaterThan(0);
    expect(uFast).not.toBeCloseTo(uSlow, 3);
    // A pricier VM needs a higher utilisation to beat Lambda; cheaper Lambda (arm64) raises it too.
    const pricey: Catalog = {
      ...catalog,
      ec2: {
        ...catalog.ec2,
        instanceTypes: catalog.ec2.instanceTypes.map((t) => (t.name === 'c5.large' ? { ...t, pricePerHourUsd: t.pricePerHourUsd * 2 } : t)),
      },
    };
    expect(breakEvenFromProfile(pricey, fast, 'c5.large')!).toBeCloseTo(2 * uFast, 10);
    expect(breakEvenFromProfile(catalog, fast, 'c5.large', 'arm64')!).toBeGreaterThan(uFast);
    expect(breakEvenFromProfile(catalog, fast, 'not-in-profile')).toBeUndefined();
  });
});
