import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expectedExcess,
  recentDistribution,
  requiredUtilisation,
  sliceUtilisation,
} from '../../controller/core/marginal.js';

// Load 100 rps for 70 % of the time and 250 rps for 30 % (7 samples + 3 samples, equal weights).
const bimodal = { samples: [100, 100, 100, 100, 100, 100, 100, 250, 250, 250], weights: Array(10).fill(1) };

describe('marginal-VM rule (manual numbers)', () => {
  it('expected excess and slice utilisation of the 70/30 distribution', () => {
    expect(expectedExcess(bimodal, 0)).toBeCloseTo(145, 9); // 0.7 x 100 + 0.3 x 250
    expect(expectedExcess(bimodal, 120)).toBeCloseTo(39, 9); // 0.3 x 130
    // VM 2 of 60 rps (60..120): (0.7 x 40 + 0.3 x 60) / 60 = 0.7667
    expect(sliceUtilisation(bimodal, 60, 60)).toBeCloseTo(46 / 60, 9);
    // VM 3 (120..180) and VM 4 (180..240): busy only in the peak, 0.3 of the time.
    expect(sliceUtilisation(bimodal, 120, 60)).toBeCloseTo(0.3, 9);
    expect(sliceUtilisation(bimodal, 180, 60)).toBeCloseTo(0.3, 9);
    // VM 5 (240..300): 10 rps of 60 for 30 % of the time = 0.05.
    expect(sliceUtilisation(bimodal, 240, 60)).toBeCloseTo(0.05, 9);
  });

  it('a VM that is not running yet must clear u* x (1 + boot / hold)', () => {
    expect(requiredUtilisation(0.27, false, 80_000, 300_000)).toBeCloseTo(0.27, 12);
    expect(requiredUtilisation(0.27, true, 80_000, 300_000)).toBeCloseTo(0.27 * (380 / 300), 12); // 0.342
    // So with u* 0.27 the peak slices (0.3) are KEPT if running but not BOUGHT new.
    expect(sliceUtilisation(bimodal, 120, 60)).toBeGreaterThan(requiredUtilisation(0.27, false, 80_000, 300_000));
    expect(sliceUtilisation(bimodal, 120, 60)).toBeLessThan(requiredUtilisation(0.27, true, 80_000, 300_000));
  });

  it('recent distribution weights newer samples exp(-age / tau)', () => {
    const d = recentDistribution([5, 0, 10, 20], 2, 3);
    expect(d.samples).toEqual([0, 10, 20]);
    expect(d.weights[2]).toBeCloseTo(1, 12);
    expect(d.weights[1]).toBeCloseTo(Math.exp(-0.5), 12);
    expect(d.weights[0]).toBeCloseTo(Math.exp(-1), 12);
    // NaN / negative rates count as idle.
    expect(recentDistribution([Number.NaN, -3], 1).samples).toEqual([0, 0]);
    // E[(L - 5)+] = (0 x e^-1 + 5 x e^-0.5 + 15 x 1) / (e^-1 + e^-0.5 + 1)
    const w = Math.exp(-1) + Math.exp(-0.5) + 1;
    expect(expectedExcess(d, 5)).toBeCloseTo((5 * Math.exp(-0.5) + 15) / w, 12);
  });

  it('property: slice utilisation is in [0, 1] and falls as the slice moves up', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: 1, max: 200, noNaN: true }),
        (xs, cap) => {
          const d = { samples: xs, weights: xs.map((_, i) => 1 + i) };
          let prev = Number.POSITIVE_INFINITY;
          for (let k = 0; k < 8; k++) {
            const u = sliceUtilisation(d, k * cap, cap);
            if (u < -1e-9 || u > 1 + 1e-9 || u > prev + 1e-9) return false;
            prev = u;
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });
});
