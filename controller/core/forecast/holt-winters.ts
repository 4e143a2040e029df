/**
 * Holt-Winters, additive seasonality, as a pure online step function.
 *   level_t  = a (y_t - s_{t-m}) + (1-a)(level + trend)
 *   trend_t  = b (level_t - level_{t-1}) + (1-b) trend
 *   s_t      = g (y_t - level_t) + (1-g) s_{t-m}
 *   yhat_{t+h} = level + h trend + s_{t+h-m}
 * The first full season initialises level (its mean) and the seasonal indices (deviation from it);
 * until then the forecast is the exponentially smoothed level. `bucketSteps` lets a fine tick (10 s)
 * share one seasonal index per bucket (60 s), so a 1-day season stays 1,440 values, not 8,640.
 */
import type { PeakForecaster } from './types.js';

export interface HoltWintersOptions {
  horizonSteps: number;
  /** Seasonal period in steps (e.g. 1,440 for one day of 60 s steps). */
  seasonSteps: number;
  /** Steps per seasonal index (default 1). seasonSteps must be a multiple of it. */
  bucketSteps?: number;
  alpha?: number;
  beta?: number;
  gamma?: number;
  /** Trend damping per step (0..1): a trend is not extrapolated linearly over the whole horizon. */
  phi?: number;
}

export interface HoltWintersState {
  t: number;
  level: number;
  trend: number;
  /** Seasonal indices, length seasonSteps / bucketSteps; empty until initialised. */
  season: Float64Array;
  /** Sums per bucket during the first season (initialisation). */
  initSum: Float64Array;
  initCount: Float64Array;
  initialised: boolean;
}

export function createHoltWinters(opts: HoltWintersOptions): PeakForecaster<HoltWintersState> {
  const bucket = Math.max(1, Math.floor(opts.bucketSteps ?? 1));
  const nBuckets = opts.seasonSteps > 0 ? Math.max(1, Math.round(opts.seasonSteps / bucket)) : 0;
  const seasonLen = nBuckets * bucket;
  const a = opts.alpha ?? 0.15;
  const b = opts.beta ?? 0.01;
  // Each index is visited `bucket` times per season; spread gamma over the visits.
  const g = (opts.gamma ?? 0.25) / bucket;
  const phi = opts.phi ?? 0.9;
  const H = Math.max(1, Math.floor(opts.horizonSteps));
  const idx = (t: number): number => (nBuckets === 0 ? 0 : Math.floor((t % seasonLen) / bucket));

  const peak = (s: HoltWintersState): number => {
    if (!s.initialised || nBuckets === 0) return Math.max(0, s.level + Math.max(0, s.trend) * H * phi);
    let best = 0;
    let damp = 0;
    let pk = phi;
    for (let h = 1; h <= H; h++) {
      damp += pk;
      pk *= phi;
      const v = s.level + damp * s.trend + (s.season[idx(s.t + h - 1)] ?? 0);
      if (v > best) best = v;
    }
    return best;
  };

  return {
    name: 'holt-winters',
    horizonSteps: H,
    init: () => ({
      t: 0,
      level: Number.NaN,
      trend: 0,
      season: new Float64Array(nBuckets),
      initSum: new Float64Array(nBuckets),
      initCount: new Float64Array(nBuckets),
      initialised: false,
    }),
    step(prev, yRaw) {
      const y = Number.isFinite(yRaw) && yRaw > 0 ? yRaw : 0;
      const s: HoltWintersState = { ...prev, season: prev.season, initSum: prev.initSum, initCount: prev.initCount };
      if (Number.isNaN(s.level)) {
        s.level = y;
      } else if (!s.initialised || nBuckets === 0) {
        const lvl = a * y + (1 - a) * (s.level + s.trend);
        s.trend = b * (lvl - s.level) + (1 - b) * s.trend;
        s.level = lvl;
      } else {
        const i = idx(s.t);
        const season = prev.season.slice();
        const si = season[i] ?? 0;
        const lvl = a * (y - si) + (1 - a) * (s.level + phi * s.trend);
        s.trend = b * (lvl - s.level) + (1 - b) * phi * s.trend;
        s.level = lvl;
        season[i] = g * (y - lvl) + (1 - g) * si;
        s.season = season;
      }
      if (!s.initialised && nBuckets > 0) {
        const i = idx(s.t);
        const sum = prev.initSum.slice();
        const cnt = prev.initCount.slice();
        sum[i] = (sum[i] ?? 0) + y;
        cnt[i] = (cnt[i] ?? 0) + 1;
        s.initSum = sum;
        s.initCount = cnt;
        if (s.t + 1 >= seasonLen) {
          let total = 0;
          let n = 0;
          for (let k = 0; k < nBuckets; k++) {
            total += sum[k] ?? 0;
            n += cnt[k] ?? 0;
          }
          const mean = n > 0 ? total / n : 0;
          const season = new Float64Array(nBuckets);
          for (let k = 0; k < nBuckets; k++) {
            const c = cnt[k] ?? 0;
            season[k] = c > 0 ? (sum[k] ?? 0) / c - mean : 0;
          }
          s.season = season;
          // Level = the current deseasonalised rate, not the season mean: the forecast continues from now.
          s.level = y - (season[i] ?? 0);
          s.trend = 0;
          s.initialised = true;
          s.initSum = new Float64Array(0);
          s.initCount = new Float64Array(0);
        }
      }
      s.t = prev.t + 1;
      return { forecastRps: peak(s), state: s };
    },
  };
}
