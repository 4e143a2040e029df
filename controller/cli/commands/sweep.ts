/**
 * `spillway sweep --traces a,b [--loads 10,100,1000,3000] [--slos 60,100,200,500]
 *   [--accuracy 0,65,70] [--seeds 3] [--hours H] [--policies spillway,...] [--json FILE]
 *   [--markdown FILE] [--report FILE] [--spot-rate R]`
 *
 * Wiring only: controller/sim/sweep.ts runs the grid, controller/report/sweep-html.ts draws it.
 * Progress (with a time estimate) on stderr; the table on stdout, and with a Spot policy
 * (spillway-spot, mark-spot) in --policies a second one per policy with Lambda share and reclaims.
 */
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import { renderSweepHtml } from '../../report/sweep-html.js';
import { ALL_POLICY_NAMES, CLAIRVOYANT, SPOT_POLICIES } from '../../sim/policies.js';
import { runSweep, type SweepGrid, sweepHeadline, sweepPolicyTable, sweepTable } from '../../sim/sweep.js';
import { list, worldArg } from './simulate.js';

function numbers(flag: string, min: number) {
  return (v: string): number[] => {
    const xs = v.split(',').map((s) => Number(s.trim()));
    const bad = xs.find((x) => !Number.isFinite(x) || x < min);
    if (bad !== undefined || xs.length === 0) throw new InvalidArgumentError(`${flag} must be a comma list of numbers >= ${min} (got "${v}")`);
    return xs;
  };
}

export const DEFAULT_SWEEP_POLICIES = ALL_POLICY_NAMES.filter((p) => p !== CLAIRVOYANT);

export function register(program: Command): void {
  program
    .command('sweep')
    .description('Every policy over traces x load x SLO x accuracy floor x seeds: cost vs the cheapest fair baseline, violations, 95 % intervals')
    .requiredOption('--traces <list>', 'comma list of trace CSVs or builtin:NAME', list)
    .option('--loads <list>', 'mean rps per point', numbers('--loads', 0.001), [10, 100, 1000, 3000])
    .option('--slos <list>', 'SLOs in ms', numbers('--slos', 1), [60, 100, 200, 500])
    .option('--accuracy <list>', 'accuracy floors (top-1 %)', numbers('--accuracy', 0), [0, 65, 70])
    .option('--seeds <n>', 'seeds per point (1..n)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 50) throw new InvalidArgumentError(`--seeds must be an integer in 1..50 (got "${v}")`);
      return n;
    }, 3)
    .option('--hours <h>', 'hours of each trace per point', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError(`--hours must be > 0 (got "${v}")`);
      return n;
    }, 1)
    .option('--policies <list>', `first is compared with the rest (${DEFAULT_SWEEP_POLICIES.join(', ')})`, list, DEFAULT_SWEEP_POLICIES)
    .option('--max-violation-pct <p>', 'a baseline is fair at a point when its violations are at most this', (v) => Number(v), 1)
    .option('--world <name>', 'realistic or optimistic (see spillway simulate --help)', worldArg, 'realistic')
    .option('--spot-rate <perVmHour>', 'Spot reclaims per VM-hour for every type (default: the catalog\'s Advisor bands)', (v) => {
      const n = Number(v);
      if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`--spot-rate must be a finite number >= 0 (got "${v}")`);
      return n;
    })
    .option('--json <file>', 'write every point as JSON here')
    .option('--markdown <file>', 'write the table as Markdown here')
    .option('--report <file>', 'write the HTML heat maps here')
    .action(async (o) => {
      const unknown = (o.policies as string[]).filter((p) => !DEFAULT_SWEEP_POLICIES.includes(p));
      if (unknown.length > 0) throw new InvalidArgumentError(`--policies: unknown ${unknown.join(', ')} (known: ${DEFAULT_SWEEP_POLICIES.join(', ')})`);
      const grid: SweepGrid = {
        traces: o.traces,
        meanRps: o.loads,
        sloMs: o.slos,
        minAccuracy: o.accuracy,
        seeds: Array.from({ length: o.seeds }, (_, i) => i + 1),
        hours: o.hours,
        policies: o.policies,
        maxViolationPct: o.maxViolationPct,
        world: o.world,
        ...(o.spotRate !== undefined ? { spot: { interruptionsPerHour: o.spotRate } } : {}),
      };
      const result = await runSweepWithProgress(grid);
      const withSpot = grid.policies.some((p) => SPOT_POLICIES.includes(p));
      const table = withSpot ? `${sweepTable(result)}\n\n${sweepPolicyTable(result)}` : sweepTable(result);
      const h = sweepHeadline(result);
      console.log(table);
      console.log('');
      console.log(
        `median cost ratio ${h.medianCostRatio.toFixed(3)} over ${h.compared} points with a fair baseline; cheaper or equal at ${h.pointsCheaper}; violations within target at ${h.pointsWithinViolationTarget} of ${h.points}; median ratio to the strict bound ${h.medianRatioToBound.toFixed(2)}, to the offline DP optimum ${h.medianRatioToAchievable.toFixed(2)}`,
      );
      if (o.json) writeFileSync(o.json, `${JSON.stringify({ ...result, headline: h }, null, 1)}\n`);
      if (o.markdown) writeFileSync(o.markdown, `${table}\n`);
      if (o.report) writeFileSync(o.report, renderSweepHtml(result));
    });
}

/** runSweep with a progress bar whose estimate counts simulated requests, not points. */
export async function runSweepWithProgress(grid: SweepGrid) {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'sweep {bar} {percentage}% | ETA {eta_formatted} | {point}',
      hideCursor: true,
      etaBuffer: 50,
      // Not a terminal (CI, a log file): a line every 15 s instead of nothing.
      noTTYOutput: true,
      notTTYSchedule: 15_000,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { point: '' });
  try {
    return await runSweep(grid, {
      onProgress: (done, total, p) => {
        bar.setTotal(total);
        bar.update(done, { point: `${p.trace.split('/').pop()} ${p.meanRps} rps SLO ${p.sloMs} acc ${p.minAccuracy}` });
      },
    });
  } finally {
    bar.stop();
  }
}
