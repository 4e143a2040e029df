/**
 * Spot in the sweep (issue 13): spillway-spot and mark-spot are sweep policies, each point reports
 * their reclaims (pool events that took VMs), reclaimed VMs and Spot VM-hours beside dollars,
 * violations and Lambda share, and the grid's Spot market reaches the simulator.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SWEEP_POLICIES } from '../../controller/cli/commands/sweep.js';
import type { ScenarioResult, SummaryRow } from '../../controller/sim/scenario.js';
import type { SimResult } from '../../controller/sim/simulator.js';
import { runSweep, type SweepGrid, summarisePoint, sweepPolicyTable } from '../../controller/sim/sweep.js';
import { loadCatalog, withSpotTypes } from '../../profiles/catalog.js';

const row = (policy: string, totalUsd: number): SummaryRow =>
  ({
    policy,
    totalUsd,
    violationPct: 0.1,
    lambdaPct: 5,
    avgAccuracy: 55,
    ratioToStrictBound: 2,
    ratioToAchievable: 1.5,
  }) as SummaryRow;
const sim = (policy: string, vms: number[], spotVmHours: number): SimResult =>
  ({
    policy,
    spot: {
      reclaims: vms.map((n, i) => ({
        atMs: i * 1000,
        instanceType: 'c6g.large:spot',
        az: 'us-east-1a',
        vms: n,
      })),
      fallbacks: { otherAz: 0, otherType: 0, onDemand: 0 },
      spotVmHours,
    },
  }) as unknown as SimResult;

describe('sweep: Spot policies', () => {
  it('spillway-spot and mark-spot are selectable sweep policies', () => {
    expect(DEFAULT_SWEEP_POLICIES).toEqual(
      expect.arrayContaining(['spillway-spot', 'mark-spot', 'spillway']),
    );
  });

  it('per seed: reclaims that took VMs (an empty pool event does not count), the VMs, Spot VM-hours', () => {
    const grid: SweepGrid = {
      traces: ['t'],
      meanRps: [100],
      sloMs: [200],
      minAccuracy: [0],
      seeds: [1, 2],
      hours: 1,
      policies: ['spillway-spot', 'spillway'],
    };
    const runs = [
      {
        rows: [row('spillway-spot', 0.6), row('spillway', 1)],
        results: [sim('spillway-spot', [2, 0, 1], 3), sim('spillway', [], 0)],
      },
      {
        rows: [row('spillway-spot', 0.5), row('spillway', 1)],
        results: [sim('spillway-spot', [1], 4), sim('spillway', [], 0)],
      },
    ] as unknown as ScenarioResult[];
    const p = summarisePoint(grid, { trace: 't', meanRps: 100, sloMs: 200, minAccuracy: 0 }, runs);
    const spot = p.policies.find((x) => x.policy === 'spillway-spot')!;
    expect(spot.spot?.reclaims.mean).toBe(1.5); // 2 and 1
    expect(spot.spot?.reclaimedVms.mean).toBe(2); // 3 and 1
    expect(spot.spot?.spotVmHours.mean).toBe(3.5);
    expect(p.policies.find((x) => x.policy === 'spillway')!.spot).toBeUndefined();
    expect(p.costRatio?.mean).toBeCloseTo(0.55, 12);
    const table = sweepPolicyTable({ grid, points: [p], requestsPerWallSecond: 1, wallSeconds: 1 });
    expect(table).toContain('| spillway-spot | 0.5500 ±');
    expect(table).toMatch(/\| 1\.5 ±[0-9.]+ \(2\.0 ±[0-9.]+\) \| 3\.50 ±/);
  });

  it('a real grid: the replayed reclaim of every pool at 8 min reaches the simulator and is reported', async () => {
    const catalog = withSpotTypes(loadCatalog());
    const replay = catalog.ec2.instanceTypes
      .filter((t) => t.spotOf)
      .flatMap((t) =>
        Object.keys(t.spot!.pricePerHourUsdByAz).map((az) => ({ atMs: 480_000, instanceType: t.name, az })),
      );
    const r = await runSweep({
      traces: ['builtin:steady'],
      meanRps: [600],
      sloMs: [200],
      minAccuracy: [0],
      seeds: [1],
      hours: 0.2,
      policies: ['spillway-spot', 'spillway'],
      spot: { replay },
    });
    const [p] = r.points;
    expect(p?.skipped).toBeUndefined();
    const spot = p!.policies.find((x) => x.policy === 'spillway-spot')!;
    expect(spot.spot!.spotVmHours.mean).toBeGreaterThan(0);
    expect(spot.spot!.reclaims.mean).toBeGreaterThan(0);
    expect(spot.spot!.reclaimedVms.mean).toBeGreaterThanOrEqual(spot.spot!.reclaims.mean);
    expect(spot.violationPct.mean).toBeLessThanOrEqual(1);
    expect(spot.lambdaPct.mean).toBeGreaterThan(0);
    expect(p!.bestBaseline).toBe('spillway');
    expect(sweepPolicyTable(r)).toContain('| spillway-spot |');
  }, 120_000);
});
