/**
 * Planner bench: solve time of the capacity IP for 6 variants x 12 resource options (72 integer VM
 * counts + 12 continuous rates), over a sweep of loads, with and without a budget. Baseline in the
 * same run: the LP relaxation of the same model (no integrality), so the figure reported is also a
 * ratio that does not depend on the machine. Target: median IP solve <= 20 ms.
 * BENCH_QUICK=1 runs fewer loads. Writes test/bench/results/planner.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PlanInput, type PlannerVariant, planCapacity, type VmOption } from '../../controller/core/planner.js';

const quick = process.env.BENCH_QUICK === '1';
const here = dirname(fileURLToPath(import.meta.url));

// 12 resource options: sizes of three families (x86 compute, x86 general, Graviton), realistic $/h.
const TYPES: Array<{ name: string; vcpu: number; price: number; boot: number }> = [
  { name: 'c5.large', vcpu: 2, price: 0.085, boot: 90_000 },
  { name: 'c5.xlarge', vcpu: 4, price: 0.17, boot: 90_000 },
  { name: 'c5.2xlarge', vcpu: 8, price: 0.34, boot: 95_000 },
  { name: 'c5.4xlarge', vcpu: 16, price: 0.68, boot: 100_000 },
  { name: 'm5.large', vcpu: 2, price: 0.096, boot: 90_000 },
  { name: 'm5.xlarge', vcpu: 4, price: 0.192, boot: 90_000 },
  { name: 'm5.2xlarge', vcpu: 8, price: 0.384, boot: 95_000 },
  { name: 'c6g.large', vcpu: 2, price: 0.068, boot: 80_000 },
  { name: 'c6g.xlarge', vcpu: 4, price: 0.136, boot: 80_000 },
  { name: 'c6g.2xlarge', vcpu: 8, price: 0.272, boot: 85_000 },
  { name: 'c7g.large', vcpu: 2, price: 0.0725, boot: 80_000 },
  { name: 'c7g.xlarge', vcpu: 4, price: 0.145, boot: 80_000 },
];
// 6 variants spanning ~30x in cost (1-thread ms, top-1 %).
const MODELS: Array<{ name: string; ms: number; acc: number }> = [
  { name: 'mobilenet_v1_0.5_128', ms: 2.35, acc: 54.9 },
  { name: 'shufflenet_v2', ms: 5.8, acc: 66.12 },
  { name: 'mobilenet_v2_int8', ms: 7.0, acc: 68.3 },
  { name: 'resnet18', ms: 31, acc: 69.76 },
  { name: 'resnet50', ms: 81, acc: 76.13 },
  { name: 'resnet101', ms: 151, acc: 77.37 },
];

function variants(): PlannerVariant[] {
  return MODELS.map((m, i) => ({
    name: m.name,
    accuracy: m.acc,
    vmOptions: TYPES.map<VmOption>((t, j) => ({
      instanceType: t.name,
      // Graviton a little slower per vCPU for int8 models; m5 same as c5. Small per-type spread keeps options distinct.
      capacityRps: ((t.vcpu * 1000) / m.ms) * (t.name.startsWith('c6g') || t.name.startsWith('c7g') ? 0.9 : 1) * (1 - 0.003 * ((i + j) % 5)),
      pricePerHourUsd: t.price,
      bootDelayMs: t.boot,
    })),
    lambda: { memoryMb: 2048, costPerRequestUsd: (2 * m.ms * 1.66667e-5) / 1000 + 2e-7, durationMs: m.ms },
  }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

const vs = variants();
const loads: number[] = [];
const n = quick ? 15 : 60;
for (let i = 0; i < n; i++) loads.push(Math.round(10 * 1.15 ** i * 10) / 10 + (i % 7));
const configs: Array<{ label: string; extra: Partial<PlanInput> }> = [
  { label: 'plain', extra: {} },
  { label: 'accuracy-floor-68', extra: { minAccuracy: 68 } },
  { label: 'budget', extra: { budgetUsdPerHour: 5 } },
];

const ipMs: number[] = [];
const lpMs: number[] = [];
const perConfig: Record<string, { medianMs: number; p90Ms: number; maxMs: number; infeasible: number }> = {};
// Warm-up (JIT).
for (let i = 0; i < 5; i++) planCapacity({ loadRps: 500, variants: vs, lambdaConcurrencyLimit: 1000 });
for (const c of configs) {
  const times: number[] = [];
  let infeasible = 0;
  for (const load of loads) {
    const input: PlanInput = { loadRps: load, variants: vs, lambdaConcurrencyLimit: 1000, ...c.extra };
    const t0 = performance.now();
    const r = planCapacity(input);
    const dt = performance.now() - t0;
    times.push(dt);
    ipMs.push(dt);
    if (!r.ok) infeasible++;
    // LP relaxation baseline: the same model with fractional VM counts.
    const t1 = performance.now();
    planCapacity({ ...input, relaxIntegers: true });
    lpMs.push(performance.now() - t1);
  }
  perConfig[c.label] = { medianMs: median(times), p90Ms: pct(times, 0.9), maxMs: Math.max(...times), infeasible };
}

const result = {
  bench: 'planner',
  quick,
  problem: { variants: MODELS.length, resourceOptionsPerVariant: TYPES.length, integerVars: MODELS.length * TYPES.length, continuousVars: MODELS.length * 2 },
  solves: ipMs.length,
  medianMs: median(ipMs),
  p90Ms: pct(ipMs, 0.9),
  maxMs: Math.max(...ipMs),
  lpRelaxationMedianMs: median(lpMs),
  ipOverLpMedianRatio: median(ipMs) / Math.max(1e-9, median(lpMs)),
  targetMedianMs: 20,
  meetsTarget: median(ipMs) <= 20,
  perConfig,
  node: process.version,
  at: new Date().toISOString(),
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'planner.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
