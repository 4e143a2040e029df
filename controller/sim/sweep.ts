/**
 * A sweep, not a point: every policy over traces x mean load x SLO x accuracy floor x seeds, each
 * point a runScenario (same arrivals for every policy of a seed), summarised per point as mean and
 * 95 % interval over the seeds. Decides nothing and prints nothing: the CLI and the bench do that.
 *
 * The headline figure per point is Spillway's cost relative to the cheapest FAIR baseline that
 * meets the violation target (<= 1 % by default) at that point: a baseline that is cheap because
 * it drops requests does not count. Each policy's served accuracy is kept beside its cost, since a
 * cheaper row that served less accurate models is not the same product.
 */
import { SPOT_POLICIES } from './policies.js';
import type { ScenarioOptions, ScenarioResult } from './scenario.js';
import { runScenario } from './scenario.js';
import { loadTrace } from './trace.js';
import type { WorldName } from './world.js';

export interface SweepGrid {
  traces: string[];
  meanRps: number[];
  sloMs: number[];
  minAccuracy: number[];
  seeds: number[];
  /** Hours of each trace simulated per point (from its start). */
  hours: number;
  /** Policies run at every point; the first is the one compared (normally 'spillway'). */
  policies: string[];
  /** A baseline "meets the SLO" at a point when its mean violation rate is at most this. @default 1 */
  maxViolationPct?: number;
  /** The world every policy runs in (world.ts). @default 'realistic' */
  world?: WorldName;
  /**
   * Spot market for the Spot policies (spillway-spot, mark-spot): a configured reclaim rate per
   * VM-hour for every type (default: the catalog's Advisor bands) and the world's options.
   */
  spot?: ScenarioOptions['spot'];
}

/** Mean and 95 % interval half-width (Student's t over the seeds; 0 for one seed). */
export interface Estimate {
  mean: number;
  ci95: number;
  n: number;
}

export interface PolicyAtPoint {
  policy: string;
  costUsd: Estimate;
  violationPct: Estimate;
  lambdaPct: Estimate;
  /** Mean published top-1 of what it served (null when nothing it served has one). */
  accuracy: number | null;
  /** Cost / the strict per-second lower bound of the same arrivals (no policy is below 1). */
  ratioToBound: Estimate;
  /** Cost / the offline optimum (exact DP over integer fleets with boot lead; a reference, not a bound). */
  ratioToAchievable: Estimate;
  /** Spot policies only: pool reclaims that took at least one of its VMs, the VMs they took, its Spot VM-hours (per seed). */
  spot?: { reclaims: Estimate; reclaimedVms: Estimate; spotVmHours: Estimate };
}

export interface SweepPoint {
  trace: string;
  meanRps: number;
  sloMs: number;
  minAccuracy: number;
  /** Why this point has no results (e.g. no variant meets the floor), else undefined. */
  skipped?: string;
  policies: PolicyAtPoint[];
  /** The cheapest baseline whose mean violations are within the target, if any. */
  bestBaseline?: string;
  /** Compared policy's cost / bestBaseline's, per seed then summarised. */
  costRatio?: Estimate;
}

export interface SweepResult {
  grid: SweepGrid;
  points: SweepPoint[];
  /** Simulated requests per wall second over the whole sweep. */
  requestsPerWallSecond: number;
  wallSeconds: number;
}

/** Two-sided 97.5 % quantiles of Student's t for 1..10 degrees of freedom (then the normal's). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

export function estimate(xs: readonly number[]): Estimate {
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, ci95: Number.NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci95: 0, n };
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const t = T975[n - 2] ?? 1.96;
  return { mean, ci95: (t * Math.sqrt(variance)) / Math.sqrt(n), n };
}

/** Work units of one point (simulated requests over all policies), for progress and the estimate. */
export function pointWork(grid: SweepGrid, meanRps: number): number {
  return meanRps * grid.hours * 3600 * grid.policies.length * grid.seeds.length;
}

export interface SweepHooks {
  /** Called after each point with the work done so far and the total (simulated requests). */
  onProgress?: (done: number, total: number, point: SweepPoint) => void;
  /** Injected for tests; default runScenario. */
  run?: (o: ScenarioOptions) => Promise<ScenarioResult>;
}

/**
 * Summarises the seeds of one point. `runs[s]` is the scenario for seed s; the first policy of the
 * grid is compared against the others.
 */
export function summarisePoint(grid: SweepGrid, key: Omit<SweepPoint, 'policies'>, runs: readonly ScenarioResult[]): SweepPoint {
  const maxViolationPct = grid.maxViolationPct ?? 1;
  const simulated = grid.policies.filter((p) => p !== 'clairvoyant');
  const rowsOf = (policy: string) => runs.map((r) => r.rows.find((x) => x.policy === policy));
  const policies: PolicyAtPoint[] = simulated.map((policy) => {
    const rows = rowsOf(policy).filter((r) => r !== undefined);
    const accs = rows.map((r) => r.avgAccuracy).filter((a): a is number => a !== null);
    return {
      policy,
      costUsd: estimate(rows.map((r) => r.totalUsd)),
      violationPct: estimate(rows.map((r) => r.violationPct)),
      lambdaPct: estimate(rows.map((r) => r.lambdaPct)),
      accuracy: accs.length > 0 ? accs.reduce((a, b) => a + b, 0) / accs.length : null,
      ratioToBound: estimate(rows.map((r) => r.ratioToStrictBound)),
      ratioToAchievable: estimate(rows.map((r) => r.ratioToAchievable)),
      ...(SPOT_POLICIES.includes(policy) ? { spot: spotAtPoint(runs, policy) } : {}),
    };
  });
  const [compared, ...baselines] = simulated;
  const fair = policies
    .filter((p) => baselines.includes(p.policy) && p.violationPct.mean <= maxViolationPct)
    .sort((a, b) => a.costUsd.mean - b.costUsd.mean);
  const best = fair[0];
  const point: SweepPoint = { ...key, policies };
  if (best && compared) {
    point.bestBaseline = best.policy;
    const mine = rowsOf(compared);
    const theirs = rowsOf(best.policy);
    point.costRatio = estimate(mine.map((m, i) => (m?.totalUsd ?? Number.NaN) / (theirs[i]?.totalUsd ?? Number.NaN)));
  }
  return point;
}

/** Reclaims, reclaimed VMs and Spot VM-hours of one Spot policy over the seeds (SimResult.spot). */
function spotAtPoint(runs: readonly ScenarioResult[], policy: string): NonNullable<PolicyAtPoint['spot']> {
  const sims = runs.map((r) => r.results.find((x) => x.policy === policy)).filter((x) => x !== undefined);
  const took = sims.map((x) => x.spot.reclaims.filter((e) => e.vms > 0));
  return {
    reclaims: estimate(took.map((t) => t.length)),
    reclaimedVms: estimate(took.map((t) => t.reduce((a, e) => a + e.vms, 0))),
    spotVmHours: estimate(sims.map((x) => x.spot.spotVmHours)),
  };
}

export async function runSweep(grid: SweepGrid, hooks: SweepHooks = {}): Promise<SweepResult> {
  if (grid.policies.length === 0) throw new RangeError('sweep: policies must list at least one policy');
  if (grid.seeds.length === 0) throw new RangeError('sweep: seeds must list at least one seed');
  const run = hooks.run ?? runScenario;
  // A trace that cannot be read fails the sweep at once (not every one of its points later).
  if (!hooks.run) for (const t of grid.traces) loadTrace(t, { hours: Math.min(grid.hours, 0.01) });
  const keys: Array<Omit<SweepPoint, 'policies'>> = [];
  for (const trace of grid.traces)
    for (const meanRps of grid.meanRps)
      for (const sloMs of grid.sloMs) for (const minAccuracy of grid.minAccuracy) keys.push({ trace, meanRps, sloMs, minAccuracy });
  const total = keys.reduce((a, k) => a + pointWork(grid, k.meanRps), 0);
  const t0 = performance.now();
  let done = 0;
  let requests = 0;
  const points: SweepPoint[] = [];
  for (const key of keys) {
    let point: SweepPoint;
    try {
      const runs: ScenarioResult[] = [];
      for (const seed of grid.seeds) {
        const r = await run({
          trace: key.trace,
          meanRps: key.meanRps,
          hours: grid.hours,
          sloMs: key.sloMs,
          minAccuracy: key.minAccuracy,
          policies: [...grid.policies, 'clairvoyant'],
          seed,
          world: grid.world ?? 'realistic',
          ...(grid.spot ? { spot: grid.spot } : {}),
        });
        for (const res of r.results) requests += res.requests;
        runs.push(r);
      }
      point = summarisePoint(grid, key, runs);
    } catch (err) {
      // A point no policy can serve (no variant meets the floor or the SLO) is reported, not fatal.
      point = { ...key, skipped: (err as Error).message, policies: [] };
    }
    points.push(point);
    done += pointWork(grid, key.meanRps);
    hooks.onProgress?.(done, total, point);
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  return { grid, points, requestsPerWallSecond: requests / Math.max(1e-9, wallSeconds), wallSeconds };
}

const pct = (e: Estimate | undefined, d = 1) =>
  e && Number.isFinite(e.mean) ? `${e.mean.toFixed(d)}${e.n > 1 ? ` ±${e.ci95.toFixed(d)}` : ''}` : '-';

/** Markdown table: one row per point. */
export function sweepTable(r: SweepResult): string {
  const [compared] = r.grid.policies;
  const lines = [
    `| trace | rps | SLO ms | min acc | ${compared} $ | ${compared} viol % | ${compared} acc | best fair baseline | its $ | its viol % | its acc | cost ratio (95 % CI) | ${compared} / strict bound | ${compared} / offline DP |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of r.points) {
    const head = `| ${p.trace} | ${p.meanRps} | ${p.sloMs} | ${p.minAccuracy}`;
    if (p.skipped) {
      lines.push(`${head} | skipped: ${p.skipped.replace(/\|/g, '/').slice(0, 120)} ||||||||||`);
      continue;
    }
    const me = p.policies.find((x) => x.policy === compared);
    const best = p.policies.find((x) => x.policy === p.bestBaseline);
    const acc = (a: number | null | undefined) => (a === null || a === undefined ? '-' : a.toFixed(1));
    lines.push(
      `${head} | ${pct(me?.costUsd, 4)} | ${pct(me?.violationPct, 2)} | ${acc(me?.accuracy)} | ${p.bestBaseline ?? 'none meets the target'} | ${pct(best?.costUsd, 4)} | ${pct(best?.violationPct, 2)} | ${acc(best?.accuracy)} | ${pct(p.costRatio, 3)} | ${pct(me?.ratioToBound, 2)} | ${pct(me?.ratioToAchievable, 2)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Markdown table: one row per point and policy (dollars, violations, accuracy, Lambda share and, for
 * the Spot policies, the reclaims that took VMs): the Spot-vs-on-demand view of a sweep.
 */
export function sweepPolicyTable(r: SweepResult): string {
  const lines = ['| trace | rps | SLO ms | min acc | policy | $ | viol % | acc | Lambda % | reclaims (VMs) | Spot VM-h |', '|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const p of r.points) {
    if (p.skipped) continue;
    for (const x of p.policies) {
      const reclaims = x.spot ? `${pct(x.spot.reclaims, 1)} (${pct(x.spot.reclaimedVms, 1)})` : '-';
      lines.push(
        `| ${p.trace} | ${p.meanRps} | ${p.sloMs} | ${p.minAccuracy} | ${x.policy} | ${pct(x.costUsd, 4)} | ${pct(x.violationPct, 2)} | ${x.accuracy === null ? '-' : x.accuracy.toFixed(1)} | ${pct(x.lambdaPct, 1)} | ${reclaims} | ${x.spot ? pct(x.spot.spotVmHours, 2) : '-'} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Median of the per-point cost ratios (points with a fair baseline), and where the target is met. */
export function sweepHeadline(r: SweepResult): {
  points: number;
  compared: number;
  medianCostRatio: number;
  pointsCheaper: number;
  pointsWithinViolationTarget: number;
  medianRatioToBound: number;
  medianRatioToAchievable: number;
} {
  const [compared] = r.grid.policies;
  const ran = r.points.filter((p) => !p.skipped);
  const ratios = ran.map((p) => p.costRatio?.mean).filter((x): x is number => x !== undefined && Number.isFinite(x));
  const mine = ran.map((p) => p.policies.find((x) => x.policy === compared));
  const finite = (xs: Array<number | undefined>) => xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  const bounds = finite(mine.map((m) => m?.ratioToBound.mean));
  const achievable = finite(mine.map((m) => m?.ratioToAchievable.mean));
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  return {
    points: r.points.length,
    compared: ratios.length,
    medianCostRatio: median(ratios),
    pointsCheaper: ratios.filter((x) => x <= 1).length,
    pointsWithinViolationTarget: mine.filter((m) => m && m.violationPct.mean <= (r.grid.maxViolationPct ?? 1)).length,
    medianRatioToBound: median(bounds),
    medianRatioToAchievable: median(achievable),
  };
}
