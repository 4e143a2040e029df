/**
 * Short-term peak forecasters, fast to react and blind to seasons:
 * - ewma-trend: Holt's linear method (EWMA level + EWMA trend, damped), peak = the highest of the
 *   next H damped extrapolations and the current level.
 * - recent-max: the highest rate seen in the last W steps (MArk's live forecaster is this x 1.2).
 */
import type { PeakForecaster } from './types.js';

export interface EwmaTrendOptions {
  horizonSteps: number;
  alpha?: number;
  beta?: number;
  phi?: number;
}

export interface EwmaTrendState {
  level: number;
  trend: number;
}

export function createEwmaTrend(opts: EwmaTrendOptions): PeakForecaster<EwmaTrendState> {
  const a = opts.alpha ?? 0.5;
  // A gentle, strongly damped trend: a step (0 -> 800 rps) must not read as a ramp that keeps
  // climbing for the whole horizon (beta 0.2, phi 0.8 forecast 1,079 rps one tick after such a step).
  const b = opts.beta ?? 0.1;
  const phi = opts.phi ?? 0.6;
  const H = Math.max(1, Math.floor(opts.horizonSteps));
  // Sum of phi^k for k=1..H: how far a damped trend carries over the horizon (phi 0.6, H 2 -> 0.96).
  let dampH = 0;
  for (let k = 1, p = phi; k <= H; k++, p *= phi) dampH += p;
  return {
    name: 'ewma-trend',
    horizonSteps: H,
    init: () => ({ level: Number.NaN, trend: 0 }),
    step(prev, yRaw) {
      const y = Number.isFinite(yRaw) && yRaw > 0 ? yRaw : 0;
      let level: number;
      let trend: number;
      if (Number.isNaN(prev.level)) {
        level = y;
        trend = 0;
      } else {
        level = a * y + (1 - a) * (prev.level + phi * prev.trend);
        trend = b * (level - prev.level) + (1 - b) * phi * prev.trend;
      }
      const forecastRps = Math.max(0, level, level + dampH * trend);
      return { forecastRps, state: { level, trend } };
    },
  };
}

export interface RecentMaxOptions {
  horizonSteps: number;
  /** Window length in steps (default = horizonSteps, at least 1). */
  windowSteps?: number;
}

export interface RecentMaxState {
  window: readonly number[];
}

export function createRecentMax(opts: RecentMaxOptions): PeakForecaster<RecentMaxState> {
  const H = Math.max(1, Math.floor(opts.horizonSteps));
  const W = Math.max(1, Math.floor(opts.windowSteps ?? H));
  return {
    name: 'recent-max',
    horizonSteps: H,
    init: () => ({ window: [] }),
    step(prev, yRaw) {
      const y = Number.isFinite(yRaw) && yRaw > 0 ? yRaw : 0;
      const window = prev.window.length >= W ? [...prev.window.slice(prev.window.length - W + 1), y] : [...prev.window, y];
      let m = 0;
      for (const v of window) if (v > m) m = v;
      return { forecastRps: m, state: { window } };
    },
  };
}
