import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createCombinedForecaster,
  createEwmaTrend,
  createHoltWinters,
  createRecentMax,
  evaluateForecaster,
  type PeakForecaster,
  quantile,
  resampleSeries,
} from '../../controller/core/forecast/index.js';
import { mulberry32 as rng } from '../../functions/engine/synthetic/prng.js';
import { sharedPath } from '../../functions/engine/registry.js';

/** Sinusoidal daily load on a 60 s step: 100 +- 60 rps, +- 5 % noise. */
function seasonal(days: number, seed = 1): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let t = 0; t < days * 1440; t++)
    out.push((100 + 60 * Math.sin((2 * Math.PI * t) / 1440)) * (0.95 + 0.1 * r()));
  return out;
}

describe('forecasters are pure step functions', () => {
  it('step never mutates the state it is given', () => {
    const json = (x: unknown): string =>
      JSON.stringify(x, (_k, v) => (v instanceof Float64Array ? [...v] : v));
    const check = <S>(f: PeakForecaster<S>): void => {
      let s = f.init();
      for (let i = 0; i < 25; i++) s = f.step(s, 10 + (i % 10)).state;
      const snapshot = json(s);
      const a = f.step(s, 50);
      const b = f.step(s, 50);
      expect(json(s)).toBe(snapshot);
      expect(a.forecastRps).toBe(b.forecastRps);
    };
    check(createHoltWinters({ horizonSteps: 3, seasonSteps: 10 }));
    check(createEwmaTrend({ horizonSteps: 3 }));
    check(createRecentMax({ horizonSteps: 3 }));
    check(createCombinedForecaster({ horizonSteps: 3, seasonSteps: 10 }));
  });

  it('quantile interpolates order statistics', () => {
    expect(quantile([], 0.95)).toBe(0);
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([0, 10], 0.95)).toBeCloseTo(9.5);
  });
});

describe('Holt-Winters', () => {
  it('learns a daily cycle: error on day 3 well below a season-blind forecaster', () => {
    const series = seasonal(4);
    const hw = evaluateForecaster(series, 60_000, 600_000, { method: 'holt-winters', warmupSteps: 2 * 1440 });
    const ewma = evaluateForecaster(series, 60_000, 600_000, { method: 'ewma-trend', warmupSteps: 2 * 1440 });
    expect(hw.mapePct).toBeLessThan(10);
    expect(hw.mapePct).toBeLessThan(ewma.mapePct);
  });
});

describe('combined forecaster', () => {
  it('keeps the under-forecast rate near the 5 % headroom target on a noisy series', () => {
    const s = evaluateForecaster(seasonal(3, 7), 60_000, 120_000, { method: 'combined', warmupSteps: 1440 });
    expect(s.underForecastRate).toBeLessThan(0.12);
    expect(s.mapePct).toBeLessThan(30);
  });

  it('property: forecasts are finite and non-negative for any input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 1e6, noNaN: false }), { minLength: 1, maxLength: 200 }),
        (ys) => {
          const f = createCombinedForecaster({ horizonSteps: 4, seasonSteps: 12, bucketSteps: 2 });
          let s = f.init();
          for (const y of ys) {
            const r = f.step(s, y);
            if (!Number.isFinite(r.forecastRps) || r.forecastRps < 0) return false;
            s = r.state;
          }
          return true;
        },
      ),
    );
  });
});

describe('resampleSeries', () => {
  it('holds coarse values and averages fine ones, holding across gaps', () => {
    expect(resampleSeries([0, 3600], [10, 20], 3600, 1_800_000)).toEqual([10, 10, 20, 20]);
    expect(resampleSeries([0, 1, 2, 3], [1, 2, 3, 4], 1, 2000)).toEqual([1.5, 3.5]);
    // t=2 missing: t=1's value holds over it.
    expect(resampleSeries([0, 1, 3], [1, 2, 4], 1, 2000)).toEqual([1.5, 3]);
  });
});

const twitter = sharedPath('traces', 'twitter_2021-08_d01-14_1s.csv') ?? '';

describe.skipIf(!existsSync(twitter))(
  'on a real trace slice (Twitter, first 3 days; skipped when ../shared/traces is absent)',
  () => {
    it('combined forecast: bounded MAPE and under-forecast rate near its target', () => {
      const text = readFileSync(twitter, 'utf8');
      const t: number[] = [];
      const rps: number[] = [];
      let pos = text.indexOf('\n') + 1;
      while (pos < text.length) {
        const nl = text.indexOf('\n', pos);
        const end = nl < 0 ? text.length : nl;
        const comma = text.indexOf(',', pos);
        const ts = Number(text.slice(pos, comma));
        if (ts >= 3 * 86_400) break;
        t.push(ts);
        rps.push(Number(text.slice(comma + 1, end)));
        pos = end + 1;
      }
      const series = resampleSeries(t, rps, 1, 60_000);
      const combined = evaluateForecaster(series, 60_000, 120_000, { method: 'combined' });
      const recentMax = evaluateForecaster(series, 60_000, 120_000, { method: 'recent-max' });
      expect(combined.scoredSteps).toBeGreaterThan(1000);
      expect(combined.mapePct).toBeLessThan(60);
      expect(combined.underForecastRate).toBeLessThan(0.12);
      // The learned headroom buys fewer under-forecasts than the running peak alone.
      expect(combined.underForecastRate).toBeLessThan(recentMax.underForecastRate);
    });
  },
);
