/**
 * `npm run bench:sweep`: the sweep over the shared traces (builtin traces, labelled synthetic, when
 * ../shared is absent), written to test/bench/results/sweep.{json,md,html}.
 *
 * The grid of issue 10 (loads 10, 100, 1,000, 3,000 rps x SLO 60, 100, 200, 500 ms x accuracy floor
 * 0, 65, 70 % x 3 seeds, 1 h per point) is the default; it simulates ~10^10 requests and takes
 * hours on 2 cores, so each axis can be narrowed by the environment, and the results file states
 * the grid it ran:
 *   SWEEP_TRACES=a.csv,b.csv SWEEP_LOADS=10,100 SWEEP_SLOS=100,200 SWEEP_ACCURACY=0,65
 *   SWEEP_SEEDS=2 SWEEP_HOURS=0.5 SWEEP_POLICIES=spillway,mark,lambda-only
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SWEEP_POLICIES, runSweepWithProgress } from '../../controller/cli/commands/sweep.js';
import { renderSweepHtml } from '../../controller/report/sweep-html.js';
import { type SweepGrid, sweepHeadline, sweepTable } from '../../controller/sim/sweep.js';
import { sharedPath } from '../../functions/engine/registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const nums = (v: string | undefined, def: number[]) => (v ? v.split(',').map(Number) : def);

function defaultTraces(): { traces: string[]; note: string } {
  const dir = sharedPath('traces');
  const names = ['twitter_2021-08_d01-14_1s.csv', 'azure_llm_code_2023-11-16_1s.csv', 'berkeley_libra_12.5h_1s.csv'];
  const found = dir ? names.map((n) => join(dir, n)).filter((p) => existsSync(p)) : [];
  if (found.length > 0) return { traces: found, note: `traces from ${dir}` };
  return { traces: ['builtin:diurnal-burst', 'builtin:spike'], note: 'SYNTHETIC builtin traces (../shared/traces absent)' };
}

const t = env['SWEEP_TRACES'] ? { traces: env['SWEEP_TRACES'].split(','), note: 'traces from SWEEP_TRACES' } : defaultTraces();
const grid: SweepGrid = {
  traces: t.traces,
  meanRps: nums(env['SWEEP_LOADS'], [10, 100, 1000, 3000]),
  sloMs: nums(env['SWEEP_SLOS'], [60, 100, 200, 500]),
  minAccuracy: nums(env['SWEEP_ACCURACY'], [0, 65, 70]),
  seeds: Array.from({ length: Number(env['SWEEP_SEEDS'] ?? 3) }, (_, i) => i + 1),
  hours: Number(env['SWEEP_HOURS'] ?? 1),
  policies: env['SWEEP_POLICIES'] ? env['SWEEP_POLICIES'].split(',') : DEFAULT_SWEEP_POLICIES,
};

const result = await runSweepWithProgress(grid);
const h = sweepHeadline(result);
const table = sweepTable(result);
const traceNames = grid.traces.map((p) => p.split('/').pop()).join(', ');
const notes = [
  t.note,
  `grid: ${traceNames}; loads ${grid.meanRps.join(', ')} rps; SLO ${grid.sloMs.join(', ')} ms; accuracy floor ${grid.minAccuracy.join(', ')} %; ${grid.seeds.length} seed(s); ${grid.hours} h per point`,
  `machine: ${cpus()[0]?.model ?? '?'} x ${cpus().length}; wall ${result.wallSeconds.toFixed(0)} s, ${Math.round(result.requestsPerWallSecond).toLocaleString('en')} simulated requests per wall second`,
  `headline: median cost ratio ${h.medianCostRatio.toFixed(3)} (${h.compared} points with a fair baseline); ${grid.policies[0]} cheaper or equal at ${h.pointsCheaper}; its violations within 1 % at ${h.pointsWithinViolationTarget} of ${h.points}; median ratio to the strict per-second bound ${h.medianRatioToBound.toFixed(2)}, to the offline DP optimum ${h.medianRatioToAchievable.toFixed(2)}`,
];
const out = join(here, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'sweep.json'), `${JSON.stringify({ notes, headline: h, ...result }, null, 1)}\n`);
writeFileSync(join(out, 'sweep.md'), `# Sweep\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\n${table}\n`);
writeFileSync(join(out, 'sweep.html'), renderSweepHtml(result, notes));
console.log(table);
for (const n of notes) console.log(n);
