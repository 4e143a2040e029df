import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../profiles/catalog.js';
import { breakEvenFromProfile, breakEvenUtilisation } from '../../controller/core/break-even.js';
import { catalog, makeProfile, REAL_MODELS } from './fixtures.js';

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
