/**
 * Baseline knob search (issue 10 item 1: "tune every baseline's knobs with the same effort"): a
 * small grid per baseline over the shared traces, one rule for every baseline: the value with the
 * lowest summed cost over the points whose worst violation rate is <= 1 %. Points: Twitter (100 rps
 * mean, 1 h from hour 30), Berkeley (native rate, 1 h from hour 2), Alibaba M-large (native, 2 h from
 * hour 24), SLO 100 and 200 ms, accuracy floor 65, seed 1. Needs ../shared/traces.
 * `npx tsx test/bench/baseline-knobs.bench.ts [mark|reactive|spock|lmi]` -> stdout and
 * test/bench/results/baseline-knobs.md (appended per baseline run).
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Policy } from '../../controller/core/policy-types.js';
import type { PolicyFactoryContext } from '../../controller/sim/baselines/common.js';
import { createLmiPolicy } from '../../controller/sim/baselines/lmi.js';
import { createMarkPolicy } from '../../controller/sim/baselines/mark.js';
import { createSpockPolicy } from '../../controller/sim/baselines/spock.js';
import { createVmReactivePolicy, REACTIVE_DEFAULTS } from '../../controller/sim/baselines/vm-reactive.js';
import { buildEnv, loadSimProfiles } from '../../controller/sim/scenario.js';
import { simulate } from '../../controller/sim/simulator.js';
import { loadTrace } from '../../controller/sim/trace.js';
import { loadCatalog } from '../../profiles/catalog.js';

const here = dirname(fileURLToPath(import.meta.url));
const T = join(here, '../../../shared/traces/');
if (!existsSync(T)) throw new Error(`shared traces not found at ${T}`);
const catalog = loadCatalog();
const { profiles } = await loadSimProfiles(catalog);
const traces = [
  ['twitter', loadTrace(`${T}twitter_2021-08_d01-14_1s.csv`, { meanRps: 100, hours: 1, startHours: 30 })],
  ['berkeley', loadTrace(`${T}berkeley_libra_12.5h_1s.csv`, { hours: 1, startHours: 2 })],
  ['alibaba', loadTrace(`${T}alibaba_servegen_language-m-large_10min.csv`, { hours: 2, startHours: 24 })],
] as const;
const SLOS = [100, 200];
const MIN_ACCURACY = 65;

// biome-ignore lint/suspicious/noExplicitAny: policies of different state types.
type Make = (ctx: PolicyFactoryContext) => Policy<any>;
const utils = [0.5, 0.6, 0.7, 0.8, 0.9];
const grids: Record<string, Array<[string, Make]>> = {
  mark: [1.0, 1.1, 1.2, 1.5].flatMap((f) =>
    [60_000, 300_000].map((w): [string, Make] => [`peak x${f} over ${w / 1000} s`, (ctx) => createMarkPolicy(ctx, { peakFactor: f, peakWindowMs: w })]),
  ),
  reactive: utils.map((u): [string, Make] => [`target ${u}`, (ctx) => createVmReactivePolicy(ctx, { ...REACTIVE_DEFAULTS, targetUtilisation: u })]),
  spock: utils.map((u): [string, Make] => [`target ${u}`, (ctx) => createSpockPolicy(ctx, { ...REACTIVE_DEFAULTS, targetUtilisation: u })]),
  lmi: utils.map((u): [string, Make] => [`target ${u}`, (ctx) => createLmiPolicy(ctx, { ...REACTIVE_DEFAULTS, targetUtilisation: u })]),
};

const out = join(here, 'results', 'baseline-knobs.md');
mkdirSync(dirname(out), { recursive: true });
for (const which of process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(grids)) {
  const grid = grids[which];
  if (!grid) throw new Error(`unknown baseline ${which} (known: ${Object.keys(grids).join(', ')})`);
  const lines: string[] = [`## ${which}`, '', '| value | summed $ | worst violations % | points |', '|---|---|---|---|'];
  let best: { label: string; usd: number } | undefined;
  for (const [label, make] of grid) {
    let usd = 0;
    let worst = 0;
    const pts: string[] = [];
    for (const [name, trace] of traces) {
      for (const slo of SLOS) {
        const env = buildEnv(catalog, profiles, { sloMs: slo });
        const r = simulate(trace, make({ peakRps: trace.peakRps, minAccuracy: MIN_ACCURACY }), env, { seed: 1, minAccuracy: MIN_ACCURACY, recordArrivalsPerSecond: false });
        usd += r.cost.totalUsd;
        worst = Math.max(worst, r.violationRate * 100);
        pts.push(`${name}@${slo} $${r.cost.totalUsd.toFixed(3)} ${(r.violationRate * 100).toFixed(2)} %`);
      }
    }
    if (worst <= 1 && (!best || usd < best.usd)) best = { label, usd };
    lines.push(`| ${label} | ${usd.toFixed(3)} | ${worst.toFixed(2)} | ${pts.join('; ')} |`);
    console.log(which, label, usd.toFixed(3), `${worst.toFixed(2)} %`);
  }
  lines.push('', `chosen: ${best ? best.label : 'none meets <= 1 % at every point'}`, '');
  console.log(`${which}: chosen ${best?.label ?? 'none'}`);
  appendFileSync(out, `${lines.join('\n')}\n`);
}
