/** The sweep: statistics, the fair-baseline rule, skipped points, and one small real grid. */
import { describe, expect, it } from 'vitest';
import { renderSweepHtml } from '../../controller/report/sweep-html.js';
import type { ScenarioResult, SummaryRow } from '../../controller/sim/scenario.js';
import { estimate, runSweep, type SweepGrid, summarisePoint, sweepHeadline, sweepTable } from '../../controller/sim/sweep.js';

const row = (policy: string, totalUsd: number, violationPct: number): SummaryRow => ({
  policy,
  totalUsd,
  ec2Usd: 0,
  lambdaUsd: totalUsd,
  ratioToClairvoyant: 1,
  ratioToStrictBound: totalUsd / 6,
  ratioToAchievable: totalUsd / 7,
  violationPct,
  p50Ms: 1,
  p99Ms: 2,
  avgAccuracy: 70,
  modelMix: '',
  lambdaPct: 50,
  vmHours: 0,
  vmUtilisationPct: 0,
  coldStarts: 0,
  requests: 100,
});
const scenario = (rows: SummaryRow[], boundUsd: number) =>
  ({ rows, results: [], clairvoyant: { strictLowerBoundUsd: boundUsd } }) as unknown as ScenarioResult;

const grid: SweepGrid = {
  traces: ['t'],
  meanRps: [10],
  sloMs: [200],
  minAccuracy: [0],
  seeds: [1, 2],
  hours: 1,
  policies: ['spillway', 'cheap-but-late', 'fair'],
};

describe('sweep statistics', () => {
  it('mean and Student-t 95 % half-width: [1, 2, 3] -> 2 ± 4.303 / sqrt(3)', () => {
    const e = estimate([1, 2, 3]);
    expect(e.mean).toBe(2);
    expect(e.ci95).toBeCloseTo(4.303 / Math.sqrt(3), 6);
    expect(estimate([5]).ci95).toBe(0);
  });

  it('the cost ratio is against the cheapest baseline within the violation target, per seed', () => {
    const runs = [
      scenario([row('spillway', 9, 0.5), row('cheap-but-late', 5, 3), row('fair', 10, 0.2)], 6),
      scenario([row('spillway', 11, 0.5), row('cheap-but-late', 5, 3), row('fair', 10, 0.2)], 6),
    ];
    const p = summarisePoint(grid, { trace: 't', meanRps: 10, sloMs: 200, minAccuracy: 0 }, runs);
    expect(p.bestBaseline).toBe('fair');
    expect(p.costRatio?.mean).toBeCloseTo(1.0, 12); // (0.9 + 1.1) / 2
    expect(p.policies.find((x) => x.policy === 'spillway')?.ratioToBound.mean).toBeCloseTo(10 / 6, 12);
    // With a looser target the cheap one counts.
    const loose = summarisePoint({ ...grid, maxViolationPct: 5 }, { trace: 't', meanRps: 10, sloMs: 200, minAccuracy: 0 }, runs);
    expect(loose.bestBaseline).toBe('cheap-but-late');
    expect(loose.costRatio?.mean).toBeCloseTo(2, 12);
  });

  it('a point that cannot run is reported as skipped with the reason; progress counts simulated requests', async () => {
    const seen: number[] = [];
    const r = await runSweep(
      { ...grid, meanRps: [10, 20] },
      {
        run: async (o) => {
          if (o.meanRps === 20) throw new Error('no variant meets minAccuracy 99');
          return scenario([row('spillway', 1, 0), row('cheap-but-late', 1, 0), row('fair', 2, 0)], 1);
        },
        onProgress: (done, total) => seen.push(done / total),
      },
    );
    expect(r.points.map((p) => p.skipped)).toEqual([undefined, 'no variant meets minAccuracy 99']);
    expect(seen).toEqual([1 / 3, 1]);
    expect(sweepTable(r)).toContain('skipped: no variant meets minAccuracy 99');
  });
});

describe('a small real sweep (builtin traces, short windows)', () => {
  it('runs every point and seed, and the table, headline and report agree', async () => {
    const r = await runSweep({
      traces: ['builtin:steady'],
      meanRps: [10, 50],
      sloMs: [200],
      minAccuracy: [0],
      seeds: [1, 2],
      hours: 0.02,
      policies: ['spillway', 'lambda-only', 'mark'],
    });
    expect(r.points).toHaveLength(2);
    for (const p of r.points) {
      expect(p.skipped).toBeUndefined();
      expect(p.policies.map((x) => x.policy)).toEqual(['spillway', 'lambda-only', 'mark']);
      for (const x of p.policies) {
        expect(x.costUsd.n).toBe(2);
        expect(x.costUsd.mean).toBeGreaterThan(0);
        // No policy beats the strict per-second bound.
        expect(x.ratioToBound.mean).toBeGreaterThanOrEqual(1 - 1e-9);
      }
    }
    const h = sweepHeadline(r);
    expect(h.points).toBe(2);
    const html = renderSweepHtml(r);
    expect(html).toContain('builtin:steady');
    expect(html).toContain('SLO 200 ms');
    expect(r.requestsPerWallSecond).toBeGreaterThan(0);
  }, 60_000);
});
