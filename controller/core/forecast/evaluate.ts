/**
 * Offline evaluation of a peak forecaster on a series: at every step t after a warm-up, the forecast
 * F_t (peak over the next H steps) is compared with the actual peak A_t = max(y_{t+1..t+H}).
 * MAPE = mean |F - A| / A over steps with A > 0; under-forecast rate = share of steps with F < A
 * (the cases where VMs would be short and Lambda must absorb the excess).
 */
import { createCombinedForecaster } from './combiner.js';
import { createHoltWinters } from './holt-winters.js';
import { createEwmaTrend, createRecentMax } from './short-term.js';
import type { PeakForecaster } from './types.js';

export type ForecastMethod = 'holt-winters' | 'ewma-trend' | 'recent-max' | 'combined';
export const FORECAST_METHODS: readonly ForecastMethod[] = ['holt-winters', 'ewma-trend', 'recent-max', 'combined'];

export interface EvaluateOptions {
  method?: ForecastMethod;
  /** Seasonal period (default 1 day). */
  seasonMs?: number;
  /** Steps excluded from scoring at the start (default: min(one season, a fifth of the series)). */
  warmupSteps?: number;
}

export interface ForecastScore {
  method: ForecastMethod;
  mapePct: number;
  underForecastRate: number;
  /** Mean forecast / mean actual peak: how much capacity the forecast buys relative to need. */
  overProvisionRatio: number;
  scoredSteps: number;
}

export function makeForecaster(
  method: ForecastMethod,
  horizonSteps: number,
  seasonSteps: number,
  // biome-ignore lint/suspicious/noExplicitAny: the state type differs per method; callers treat it as opaque.
): PeakForecaster<any> {
  switch (method) {
    case 'holt-winters':
      return createHoltWinters({ horizonSteps, seasonSteps });
    case 'ewma-trend':
      return createEwmaTrend({ horizonSteps });
    case 'recent-max':
      return createRecentMax({ horizonSteps });
    default:
      return createCombinedForecaster({ horizonSteps, seasonSteps });
  }
}

export function evaluateForecaster(
  series: readonly number[],
  stepMs: number,
  horizonMs: number,
  opts: EvaluateOptions = {},
): ForecastScore {
  const method = opts.method ?? 'combined';
  const H = Math.max(1, Math.round(horizonMs / stepMs));
  const seasonSteps = Math.max(0, Math.round((opts.seasonMs ?? 86_400_000) / stepMs));
  const f = makeForecaster(method, H, seasonSteps);
  const warmup = opts.warmupSteps ?? Math.min(seasonSteps, Math.floor(series.length / 5));
  let state = f.init();
  let absPctSum = 0;
  let pctN = 0;
  let under = 0;
  let scored = 0;
  let fSum = 0;
  let aSum = 0;
  for (let t = 0; t + H < series.length; t++) {
    const r = f.step(state, series[t] ?? 0);
    state = r.state;
    if (t < warmup) continue;
    let actual = 0;
    for (let k = 1; k <= H; k++) actual = Math.max(actual, series[t + k] ?? 0);
    scored++;
    fSum += r.forecastRps;
    aSum += actual;
    if (r.forecastRps < actual) under++;
    if (actual > 0) {
      absPctSum += Math.abs(r.forecastRps - actual) / actual;
      pctN++;
    }
  }
  return {
    method,
    mapePct: pctN > 0 ? (100 * absPctSum) / pctN : 0,
    underForecastRate: scored > 0 ? under / scored : 0,
    overProvisionRatio: aSum > 0 ? fSum / aSum : 1,
    scoredSteps: scored,
  };
}

/**
 * Resamples a `t,rps` series onto a regular grid of `stepMs`: each output step is the time-weighted
 * mean of the input rows it covers; a row's value holds until the next row (coarse traces are
 * upsampled by holding, per the traces README); gaps (missing t) hold the previous value.
 */
export function resampleSeries(
  tS: readonly number[],
  rps: readonly number[],
  inputStepS: number,
  outStepMs: number,
): number[] {
  const n = tS.length;
  if (n === 0) return [];
  const outStepS = outStepMs / 1000;
  const t0 = tS[0] ?? 0;
  const tEnd = (tS[n - 1] ?? 0) + inputStepS;
  const steps = Math.floor((tEnd - t0) / outStepS);
  const out = new Array<number>(steps).fill(0);
  // Walk input rows; each covers [t_i, t_{i+1}) (held across gaps) with value rps_i.
  for (let i = 0; i < n; i++) {
    const a = (tS[i] ?? 0) - t0;
    const b = (i + 1 < n ? (tS[i + 1] ?? 0) : tEnd) - t0;
    const v = rps[i] ?? 0;
    let s = Math.floor(a / outStepS);
    while (s < steps) {
      const lo = Math.max(a, s * outStepS);
      const hi = Math.min(b, (s + 1) * outStepS);
      if (hi <= lo) break;
      out[s] = (out[s] ?? 0) + (v * (hi - lo)) / outStepS;
      s++;
    }
  }
  return out;
}
