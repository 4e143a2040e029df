/**
 * Spot vs on-demand at the same SLO (issue 13): spillway, spillway-spot, mark, mark-spot on the same
 * arrivals per seed, at the catalog's Advisor-band reclaim rate and at a stressed configured rate.
 * Reports dollars, violations, Lambda share, reclaims and the worst minute (violation rate) in the
 * 6 minutes from each reclaim that took a spillway-spot VM, for every policy in the same windows.
 * Each point at accuracy floor 0 and at 65 (where both Spillways serve the same accuracy: at floor 0
 * one can be cheaper only by serving less). Writes test/bench/results/spot.md and .json.
 * Env: SPOT_HOURS (default 1), SPOT_SEEDS (default 1,2), SPOT_FLOORS (default 0,65).
 */
import { writeFileSync } from 'node:fs';
import { runScenario } from '../../controller/sim/scenario.js';

const TRACES = ['/work/shared/traces/twitter_2021-08_d01-14_1s.csv', '/work/shared/traces/berkeley_libra_12.5h_1s.csv', '/work/shared/traces/azure_llm_code_2023-11-16_1s.csv'];
const LOADS = [100, 1000];
const SLO = 200;
const HOURS = Number(process.env.SPOT_HOURS ?? 1);
const SEEDS = (process.env.SPOT_SEEDS ?? '1,2').split(',').map(Number);
const FLOORS = (process.env.SPOT_FLOORS ?? '0,65').split(',').map(Number);
const RATES: Array<{ label: string; rate?: number }> = [{ label: 'catalog band 5-10 %' }, { label: 'stressed 2/VM-h', rate: 2 }];
const POLICIES = ['spillway-spot', 'spillway', 'mark-spot', 'mark'];

const rows: unknown[] = [];
const md: string[] = [
  '# Spot with Lambda as the safety net (issue 13)',
  '',
  `SLO ${SLO} ms, accuracy floors ${FLOORS.join(', ')} (top-1 %), ${HOURS} h per point from each trace's start, seeds ${SEEDS.join(', ')}, realistic world. $ vs spillway: against on-demand Spillway at the same trace, load, floor and rate. Worst minute = highest per-minute violation rate in [reclaim, reclaim + 6 min) over the reclaims that took a spillway-spot VM (same windows for every policy).`,
  '',
  '| trace | rps | floor | reclaim rate | policy | $ | viol % | accuracy | Lambda % | reclaims (VMs) | worst minute % | fallbacks | $ vs spillway |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const trace of TRACES)
  for (const meanRps of LOADS)
    for (const floor of FLOORS)
    for (const r of RATES) {
      const acc: Record<string, { usd: number; viol: number; lam: number; worst: number; reclaims: number; vms: number; fb: number; accuracy: number }> = {};
      for (const seed of SEEDS) {
        const res = await runScenario({ trace, meanRps, hours: HOURS, sloMs: SLO, minAccuracy: floor, policies: POLICIES, seed, spot: r.rate === undefined ? {} : { interruptionsPerHour: r.rate } });
        const spotRun = res.results.find((x) => x.policy === 'spillway-spot')!;
        const hits = spotRun.spot.reclaims.filter((e) => e.vms > 0).map((e) => Math.floor(e.atMs / 60_000));
        for (const sr of res.results) {
          const row = res.rows.find((x) => x.policy === sr.policy)!;
          let worst = 0;
          for (const b of hits) for (let k = b; k < b + 6 && k < sr.series.violationRate.length; k++) worst = Math.max(worst, sr.series.violationRate[k]!);
          acc[sr.policy] ??= { usd: 0, viol: 0, lam: 0, worst: 0, reclaims: 0, vms: 0, fb: 0, accuracy: 0 };
          const a = acc[sr.policy]!;
          a.usd += row.totalUsd / SEEDS.length;
          a.viol += row.violationPct / SEEDS.length;
          a.lam += row.lambdaPct / SEEDS.length;
          a.accuracy += (row.avgAccuracy ?? 0) / SEEDS.length;
          a.worst = Math.max(a.worst, worst * 100);
          const took = sr.spot.reclaims.filter((e) => e.vms > 0);
          a.reclaims += took.length;
          a.vms += took.reduce((x, e) => x + e.vms, 0);
          a.fb += sr.spot.fallbacks.otherAz + sr.spot.fallbacks.otherType + sr.spot.fallbacks.onDemand;
        }
      }
      const base = acc.spillway!.usd;
      for (const p of POLICIES) {
        const a = acc[p]!;
        rows.push({ trace, meanRps, minAccuracy: floor, rate: r.label, policy: p, ...a, vsSpillway: a.usd / base });
        md.push(`| ${trace.split('/').pop()} | ${meanRps} | ${floor} | ${r.label} | ${p} | ${a.usd.toFixed(4)} | ${a.viol.toFixed(2)} | ${a.accuracy.toFixed(1)} | ${a.lam.toFixed(1)} | ${a.reclaims} (${a.vms}) | ${a.worst.toFixed(1)} | ${a.fb} | ${(a.usd / base).toFixed(3)} |`);
      }
      console.log(md[md.length - 4], '\n', md[md.length - 3]);
    }
writeFileSync('test/bench/results/spot.md', `${md.join('\n')}\n`);
writeFileSync('test/bench/results/spot.json', `${JSON.stringify({ sloMs: SLO, hours: HOURS, seeds: SEEDS, floors: FLOORS, rows }, null, 1)}\n`);
