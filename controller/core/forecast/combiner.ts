/**
 * The forecast the planner uses: base = max(Holt-Winters peak, EWMA-trend peak, peak of the last H
 * steps) (the seasonal model knows tomorrow's morning ramp; the short-term ones react to today's
 * surprise and do not let go of a plateau too early), then
 * forecast = base x (1 + headroom), where headroom is an upper quantile (default the 95th) of the
 * recent RELATIVE UNDER-forecast errors of `base` itself: once a forecast's horizon has passed we
 * compare it with the actual peak, e = max(0, actual / base - 1), and keep the last N errors in state.
 * If base under-shot by more than 12 % in 5 % of recent cases, the next forecasts carry +12 %.
 * So the headroom is learned per workload, not a constant like MArk's x1.2 or InfAdapter's +10 %.
 */
import { createHoltWinters, type HoltWintersOptions, type HoltWintersState } from './holt-winters.js';
import { createEwmaTrend, type EwmaTrendOptions, type EwmaTrendState } from './short-term.js';
import type { PeakForecaster } from './types.js';

export interface CombinedOptions {
  horizonSteps: number;
  seasonSteps: number;
  bucketSteps?: number;
  /** Quantile of the relative under-forecast errors used as headroom (default 0.95). */
  headroomQuantile?: number;
  /** How many resolved errors to keep (default 288). */
  errorWindow?: number;
  /** Cap on the headroom (default 1.0 = +100 %). */
  maxHeadroom?: number;
  /** Resolved errors needed before the quantile replaces the initial headroom (default 20). */
  minErrors?: number;
  /** Headroom before minErrors errors have been resolved (default 0.1). */
  initialHeadroom?: number;
  /** Also floor the base at the peak of the last H observations (default true). */
  includeRecentMax?: boolean;
  holtWinters?: Partial<HoltWintersOptions>;
  ewma?: Partial<EwmaTrendOptions>;
}

export interface CombinedState {
  hw: HoltWintersState;
  st: EwmaTrendState;
  /** The last H observations (oldest first). */
  recent: readonly number[];
  /** The last H base forecasts (oldest first); the oldest one's horizon ends now. */
  pendingBase: readonly number[];
  /** Resolved relative under-forecast errors, >= 0, newest last. */
  errors: readonly number[];
  headroom: number;
  lastBase: number;
}

/** q-quantile (0..1) of values by linear interpolation between order statistics; 0 for empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((x, y) => x - y);
  const pos = Math.min(1, Math.max(0, q)) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const vl = sorted[lo] ?? 0;
  const vh = sorted[hi] ?? vl;
  return vl + (vh - vl) * (pos - lo);
}

export function createCombinedForecaster(opts: CombinedOptions): PeakForecaster<CombinedState> {
  const H = Math.max(1, Math.floor(opts.horizonSteps));
  const hw = createHoltWinters({
    ...opts.holtWinters,
    horizonSteps: H,
    seasonSteps: opts.seasonSteps,
    bucketSteps: opts.bucketSteps ?? opts.holtWinters?.bucketSteps,
  });
  const st = createEwmaTrend({ ...opts.ewma, horizonSteps: H });
  const q = opts.headroomQuantile ?? 0.95;
  const N = Math.max(8, opts.errorWindow ?? 288);
  const maxHeadroom = opts.maxHeadroom ?? 1;
  const initialHeadroom = opts.initialHeadroom ?? 0.1;
  const useRecentMax = opts.includeRecentMax ?? true;
  const minErrors = Math.max(1, opts.minErrors ?? 20);
  return {
    name: 'combined',
    horizonSteps: H,
    init: () => ({
      hw: hw.init(),
      st: st.init(),
      recent: [],
      pendingBase: [],
      errors: [],
      headroom: initialHeadroom,
      lastBase: 0,
    }),
    step(prev, yRaw) {
      const y = Number.isFinite(yRaw) && yRaw > 0 ? yRaw : 0;
      // slice(-H) also adapts a state made with another horizon (the policy re-derives H from the
      // learned boot delays and keeps the state).
      const recent = [...prev.recent, y].slice(-H);
      let errors = prev.errors;
      let pendingBase = prev.pendingBase;
      let headroom = prev.headroom;
      if (pendingBase.length >= H) {
        const base = pendingBase[pendingBase.length - H] ?? 0;
        let actual = 0;
        for (const v of recent) if (v > actual) actual = v;
        // A relative error needs a base: idle -> busy (base 0) is a start, not a forecast miss.
        if (actual > 0 && base > 1e-9) {
          const e = Math.min(maxHeadroom, Math.max(0, actual / base - 1));
          errors = errors.length >= N ? [...errors.slice(1), e] : [...errors, e];
          // With few errors the 95th percentile is just the worst one; wait for minErrors.
          headroom = errors.length >= minErrors ? Math.min(maxHeadroom, quantile(errors, q)) : Math.max(initialHeadroom, 0);
        }
        pendingBase = pendingBase.slice(pendingBase.length - H + 1);
      }
      const h = hw.step(prev.hw, y);
      const s = st.step(prev.st, y);
      let recentMax = 0;
      if (useRecentMax) for (const v of recent) if (v > recentMax) recentMax = v;
      const base = Math.max(h.forecastRps, s.forecastRps, recentMax);
      pendingBase = [...pendingBase, base];
      return {
        forecastRps: base * (1 + headroom),
        state: { hw: h.state, st: s.state, recent, pendingBase, errors, headroom, lastBase: base },
      };
    },
  };
}
