/**
 * The sim-vs-live fidelity machinery (test/bench/fidelity-lib.ts) on a very short segment, so it
 * cannot rot: a real in-process stack serving the tiny synthetic variant, 20 s of builtin:spike,
 * the same arrivals simulated. Only sanity is asserted (timing on a shared 2-core box varies):
 * both sides count the same requests, shares and rates are proportions, dollars are finite.
 */
import { describe, expect, it } from 'vitest';
import { pickSpikeWindow, runFidelity } from '../bench/fidelity-lib.js';

describe('fidelity machinery (short synthetic segment)', () => {
  it('pickSpikeWindow finds the spike of builtin:spike', () => {
    const w = pickSpikeWindow('builtin:spike', 600);
    expect(w.peakToMean).toBeGreaterThan(1);
    expect(w.rawMeanRps).toBeGreaterThan(0);
  });

  it('replays and simulates the same arrivals', async () => {
    const r = await runFidelity({
      trace: 'builtin:spike',
      startS: 0,
      durationS: 20,
      meanRps: 5,
      minAccuracy: 0,
      seed: 3,
      config: {
        variants: ['resnet18-w025-s112-synthetic'],
        vmBootDelayMs: 3_000,
        tickIntervalMs: 1_000,
        sloMs: 2_000,
        lambdaConcurrency: 4,
      },
      requestTimeoutMs: 30_000,
    });
    expect(r.arrivals).toBeGreaterThan(0);
    expect(r.live.requests).toBe(r.arrivals);
    expect(r.sim.requests).toBe(r.arrivals);
    for (const side of [r.live, r.sim]) {
      for (const p of [side.violationPct, side.lambdaSharePct, side.rejected503Pct, side.deadline504Pct]) {
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(100);
      }
      expect(Number.isFinite(side.dollars.total)).toBe(true);
      expect(side.dollars.total).toBeGreaterThanOrEqual(0);
      expect(side.vmsPerMinute.every((n) => n >= 0 && n <= 2)).toBe(true);
    }
    expect(r.checks.map((c) => c.metric)).toEqual(['SLO violations %', 'Lambda share %', 'dollars']);
    expect(r.setting.cpuModel.length).toBeGreaterThan(0);
  }, 120_000);
});
