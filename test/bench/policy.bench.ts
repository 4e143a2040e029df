/**
 * Policy benchmark (`npm run bench:policy`): every policy on every trace in ../shared/traces (or
 * $SPILLWAY_SHARED_DIR/traces; builtin:diurnal-burst, labelled synthetic, when absent), in the
 * simulator, same arrivals for every policy (same seed), with the clairvoyant bound.
 *
 * Setting (stated in the output): each trace rescaled to a mean of MEAN_RPS over its window;
 * windows of 24 h (the whole trace when shorter; the 1 h Azure traces); SLO 200 ms; requests ask
 * for >= 65 % top-1 (eligible with the committed profiles: shufflenet-v2 66.1, mobilenet-v2 zoo 68.3).
 * BENCH_QUICK=1: 2 h windows.
 *
 * Targets for spillway on every trace (checked and reported, missed ones with the margin):
 *  T1 SLO violations <= 1 %;  T2 cost <= 1.2x clairvoyant;
 *  T3 >= 1.3x cheaper than mark at no more violations;
 *  T4 >= 2x cheaper than the cheaper of vm-peak and lambda-only.
 * Also: simulator speed (simulated requests per wall-clock second) and the wrong-profile scenario
 * (a variant whose true latency is 1.5x its profile: time until the selector routes around it and
 * violations afterwards).
 * Writes test/bench/results/policy.json and policy.md.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Catalog, loadCatalog } from '../../profiles/catalog.js';
import { instanceEstimates, lambdaEstimates } from '../../profiles/lib/estimates.js';
import type { VariantProfile } from '../../profiles/schema.js';
import { latencyModelFromTwoPoints } from '../../controller/sim/default-profiles.js';
import { formatMarkdown, scenarioLabels } from '../../controller/sim/report-data.js';
import { buildEnv, loadSimProfiles, runScenario, type ScenarioResult } from '../../controller/sim/scenario.js';
import { simulate } from '../../controller/sim/simulator.js';
import { boundComparableUsd } from '../../controller/sim/clairvoyant.js';
import { createPolicy } from '../../controller/sim/policies.js';
import { loadTrace } from '../../controller/sim/trace.js';
import { sharedPath } from '../../functions/engine/registry.js';

const quick = process.env.BENCH_QUICK === '1';
const here = dirname(fileURLToPath(import.meta.url));
const tracesDir = sharedPath('traces') ?? '';
const MEAN_RPS = 100;
const SLO_MS = 200;
const MIN_ACCURACY = 65;
const SEED = 1;
const WINDOW_H = quick ? 2 : 24;
const POLICIES = ['spillway', 'vm-peak', 'vm-reactive', 'lambda-only', 'mark', 'spock', 'infaas', 'libra', 'lmi', 'clairvoyant'];

interface TargetCheck {
  target: string;
  met: boolean;
  detail: string;
}

function checkTargets(s: ScenarioResult): TargetCheck[] {
  const row = (p: string) => s.rows.find((r) => r.policy === p);
  const sp = row('spillway');
  const cv = row('clairvoyant');
  const mark = row('mark');
  const peak = row('vm-peak');
  const lam = row('lambda-only');
  if (!sp || !cv || !mark || !peak || !lam) return [];
  const out: TargetCheck[] = [];
  out.push({ target: 'T1 violations <= 1 %', met: sp.violationPct <= 1, detail: `${sp.violationPct.toFixed(3)} %` });
  const ratio = sp.totalUsd / cv.totalUsd;
  out.push({ target: 'T2 cost <= 1.2x clairvoyant', met: ratio <= 1.2, detail: `${ratio.toFixed(3)}x` });
  const vsMark = mark.totalUsd / sp.totalUsd;
  out.push({
    target: 'T3 >= 1.3x cheaper than mark at no more violations',
    met: vsMark >= 1.3 && sp.violationPct <= mark.violationPct,
    detail: `mark/spillway cost ${vsMark.toFixed(3)}x; violations ${sp.violationPct.toFixed(3)} % vs mark ${mark.violationPct.toFixed(3)} %`,
  });
  const cheaper = Math.min(peak.totalUsd, lam.totalUsd);
  const vsBest = cheaper / sp.totalUsd;
  out.push({
    target: 'T4 >= 2x cheaper than min(vm-peak, lambda-only)',
    met: vsBest >= 2,
    detail: `${vsBest.toFixed(3)}x (vm-peak $${peak.totalUsd.toFixed(3)}, lambda-only $${lam.totalUsd.toFixed(3)})`,
  });
  // The bound must hold for every policy that meets the SLO.
  // Late/rejected requests are credited at the bound's Lambda price (boundComparableUsd).
  const below = s.rows.filter(
    (r) => r.policy !== 'clairvoyant' && r.violationPct <= 1 && s.clairvoyant && boundComparableUsd(r, s.clairvoyant) < cv.totalUsd,
  );
  out.push({
    target: 'bound: no SLO-meeting policy below clairvoyant',
    met: below.length === 0,
    detail: below.length === 0 ? 'holds' : `below: ${below.map((r) => r.policy).join(', ')}`,
  });
  return out;
}

function traceSpecs(): Array<{ spec: string; hours?: number }> {
  if (!existsSync(tracesDir)) {
    console.error(`no traces at ${tracesDir}: using builtin:diurnal-burst (SYNTHETIC)`);
    return [{ spec: 'builtin:diurnal-burst', hours: WINDOW_H }];
  }
  return readdirSync(tracesDir)
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => ({ spec: join(tracesDir, f), hours: WINDOW_H }));
}

/**
 * Wrong profile: spillway's favourite variant is really 1.5x slower than profiled. Two hand-made
 * variants (labelled: SYNTHETIC profiles, built here) make the experiment independent of how noisy
 * the committed profiles are: same profiled cost (p50 25 ms at 1 thread, p99 x1.2), accuracy 76 %
 * ("accurate") and 70 % ("backup"), so the selector prefers the accurate one. SLO 40 ms: on paper
 * both fit (p99 30 ms); in truth the favourite runs at p50 37.5 / p99 45 ms and breaks it.
 */
export function wrongProfileVariants(catalog: Catalog): Map<string, VariantProfile> {
  const make = (variant: string, accuracyTop1: number, t1Ms: number, t2Ms: number): VariantProfile => {
    const latencyModel = latencyModelFromTwoPoints(t1Ms, t2Ms, 1.2);
    const inputs = { model: latencyModel, sessionLoadMs: 100, peakRssMb: 200, fixedBatch: false, referenceSloMs: 40 };
    return {
      schemaVersion: 1,
      variant,
      task: 'image-classification',
      weights: 'synthetic',
      accuracyTop1,
      machine: { cpuModel: 'hand-made bench profile', cores: 2, memoryGib: 4, arch: 'x64', os: 'linux', node: process.version, onnxruntime: 'n/a', measuredAt: new Date(0).toISOString() },
      modelSizeBytes: 10_000_000,
      sessionLoadMs: 100,
      peakRssMb: 200,
      measurements: [{ batchSize: 8, intraOpThreads: 1, samples: 1, p50Ms: t1Ms, p95Ms: t1Ms, p99Ms: t1Ms * 1.2, meanMs: t1Ms }],
      latencyModel,
      referenceSloMs: 40,
      lambda: lambdaEstimates(catalog, inputs),
      instances: instanceEstimates(catalog, inputs),
    };
  };
  return new Map([
    ['accurate-synthetic', make('accurate-synthetic', 76, 25, 14)],
    ['backup-synthetic', make('backup-synthetic', 70, 25, 14)],
  ]);
}

export async function wrongProfileScenario() {
  const catalog = loadCatalog();
  const profiles = wrongProfileVariants(catalog);
  const sloMs = 40;
  const minAccuracy = 65;
  const env = buildEnv(catalog, profiles, { sloMs });
  const trace = loadTrace('builtin:steady', { meanRps: MEAN_RPS, hours: quick ? 0.5 : 1 });
  const ctx = { peakRps: trace.peakRps, minAccuracy };
  const normal = simulate(trace, createPolicy('spillway', ctx), env, { seed: SEED, minAccuracy });
  const favourite = Object.entries(normal.servedByVariant).sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!favourite) return { note: 'spillway served nothing in the normal run' };
  const wrong = simulate(trace, createPolicy('spillway', ctx), env, {
    seed: SEED,
    minAccuracy,
    trueLatencyMultiplier: { [favourite]: 1.5 },
  });
  const share = wrong.series.variantShare[favourite] ?? [];
  // First minute (1-minute resolution) after which the favourite's share stays below 10 %.
  let routedAroundMin: number | null = null;
  for (let i = 0; i < share.length; i++) {
    if (share.slice(i).every((x) => x < 0.1)) {
      routedAroundMin = wrong.series.tMin[i] ?? i;
      break;
    }
  }
  let afterViolPct: number | null = null;
  if (routedAroundMin !== null) {
    const idx = wrong.series.tMin.indexOf(routedAroundMin);
    const v = wrong.series.violationRate.slice(idx);
    const load = wrong.series.loadRps.slice(idx);
    const tot = load.reduce((a, b) => a + b, 0);
    afterViolPct = tot > 0 ? (v.reduce((a, x, i) => a + x * load[i]!, 0) / tot) * 100 : 0;
  }
  const selectorSwitched = routedAroundMin !== null && routedAroundMin < trace.durationS / 60;
  return {
    setting: `builtin:steady (SYNTHETIC) at ${MEAN_RPS} rps, SLO ${sloMs} ms, min accuracy ${minAccuracy} %, hand-made SYNTHETIC profiles accurate-synthetic (76 %) and backup-synthetic (70 %), both p50 25 ms / p99 30 ms profiled; the favourite's true latency x1.5`,
    favourite,
    normal: { violationPct: normal.violationRate * 100, servedByVariant: normal.servedByVariant, totalUsd: normal.cost.totalUsd },
    wrong: { violationPct: wrong.violationRate * 100, servedByVariant: wrong.servedByVariant, totalUsd: wrong.cost.totalUsd },
    routedAroundAfterMin: selectorSwitched ? routedAroundMin : null,
    violationPctAfterRouting: afterViolPct,
    targetViolationsAfterBelow1Pct: afterViolPct !== null && afterViolPct < 1,
  };
}

/** Raw simulator speed: a static fleet at high rate (little policy work per request). */
function speedRun() {
  const catalog = loadCatalog();
  return loadSimProfiles(catalog).then(({ profiles }) => {
    const env = buildEnv(catalog, profiles, { sloMs: SLO_MS });
    const trace = loadTrace('builtin:steady', { meanRps: 2000, hours: quick ? 0.25 : 1 });
    const out: Record<string, number> = {};
    for (const name of ['vm-peak', 'lambda-only', 'spillway']) {
      const r = simulate(trace, createPolicy(name, { peakRps: trace.peakRps, minAccuracy: MIN_ACCURACY }), env, {
        seed: SEED,
        minAccuracy: MIN_ACCURACY,
      });
      out[name] = Math.round(r.requestsPerWallSecond);
    }
    return { setting: `builtin:steady at 2000 rps, ${trace.durationS / 3600} h, ${Math.round(2000 * trace.durationS)} requests per policy`, requestsPerWallSecond: out };
  });
}

async function main() {
  const started = Date.now();
  const results: Array<{ scenario: Omit<ScenarioResult, 'results'> & { wallS: number; rpsWall: Record<string, number> }; targets: TargetCheck[] }> = [];
  const md: string[] = [
    '# Policy benchmark',
    '',
    `Mode: ${quick ? 'QUICK (BENCH_QUICK=1)' : 'full'}; every trace rescaled to a mean of ${MEAN_RPS} rps over a ${WINDOW_H} h window (whole trace when shorter); SLO ${SLO_MS} ms; requests need >= ${MIN_ACCURACY} % top-1; seed ${SEED}.`,
    `Machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start (wall-clock speeds depend on it).`,
    '',
  ];
  for (const { spec, hours } of traceSpecs()) {
    const t0 = Date.now();
    process.stderr.write(`bench:policy ${spec} ...\n`);
    const s = await runScenario({
      trace: spec,
      meanRps: MEAN_RPS,
      hours,
      sloMs: SLO_MS,
      minAccuracy: MIN_ACCURACY,
      policies: POLICIES,
      seed: SEED,
    });
    const targets = checkTargets(s);
    const rpsWall = Object.fromEntries(s.results.map((r) => [r.policy, Math.round(r.requestsPerWallSecond)]));
    const { results: _omit, ...rest } = s;
    results.push({ scenario: { ...rest, wallS: (Date.now() - t0) / 1000, rpsWall }, targets });
    md.push(`## ${s.trace.name}`, '');
    md.push(
      `${(s.trace.durationS / 3600).toFixed(2)} h simulated; mean ${s.trace.meanRps.toFixed(1)} rps, peak ${s.trace.peakRps.toFixed(1)} rps (x${s.trace.scale.toFixed(3)}); ${s.rows[0]?.requests ?? 0} requests; [${scenarioLabels(s).join('; ')}]`,
      '',
    );
    md.push(formatMarkdown(s.rows), '');
    md.push(...targets.map((t) => `- ${t.met ? 'MET' : 'MISSED'} ${t.target}: ${t.detail}`), '');
    md.push(`Notes: ${s.trace.notes.join('; ')}. Clairvoyant strict per-second lower bound $${s.clairvoyant?.strictLowerBoundUsd.toFixed(4)}.`, '');
  }
  process.stderr.write('bench:policy wrong-profile scenario ...\n');
  const wrong = await wrongProfileScenario();
  process.stderr.write('bench:policy speed ...\n');
  const speed = await speedRun();
  md.push('## Wrong profile (true latency 1.5x the profile)', '', '```json', JSON.stringify(wrong, null, 2), '```', '');
  md.push('## Simulator speed (simulated requests per wall-clock second)', '', '```json', JSON.stringify(speed, null, 2), '```', '');
  const allTargets = results.flatMap((r) => r.targets.map((t) => ({ trace: r.scenario.trace.name, ...t })));
  const missed = allTargets.filter((t) => !t.met);
  md.push('## Summary', '', `${allTargets.length - missed.length} of ${allTargets.length} checks met.`, '');
  for (const m of missed) md.push(`- MISSED on ${m.trace}: ${m.target} (${m.detail})`);
  md.push('', `Profiles: ${results[0]?.scenario.profileNotes.join('; ') ?? ''}`, `Total wall time ${((Date.now() - started) / 1000).toFixed(0)} s.`, '');
  const outDir = join(here, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'policy.json'),
    `${JSON.stringify({ quick, meanRps: MEAN_RPS, sloMs: SLO_MS, minAccuracy: MIN_ACCURACY, seed: SEED, windowHours: WINDOW_H, loadavg: loadavg(), traces: results, wrongProfile: wrong, speed }, null, 2)}\n`,
  );
  writeFileSync(join(outDir, 'policy.md'), md.join('\n'));
  console.log(md.join('\n'));
}

if (process.env.BENCH_POLICY_ONLY === 'wrong-profile') {
  wrongProfileScenario().then((w) => console.log(JSON.stringify(w, null, 2)));
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
