/**
 * Forecast bench: on every real trace in ../shared/traces (or $SPILLWAY_SHARED_DIR/traces), resampled
 * to a common 60 s tick (10 s for the two ~1 h Azure traces; hourly and 10-minute traces held constant within their interval, per the
 * traces README), scores each peak forecaster over a 120 s provisioning horizon (about one EC2 boot
 * plus a tick): MAPE of the forecast peak vs the actual peak, under-forecast rate (share of steps
 * where VMs bought on the forecast would be short), and mean forecast / mean actual (capacity bought).
 * The baselines are in the same run: recent-max (MArk-style running peak), EWMA-trend and
 * Holt-Winters alone, against the combination with learned headroom.
 * Full mode: every trace in full (Twitter 14 d, Wikipedia 263 d). BENCH_QUICK=1: the first 3 days.
 * Writes test/bench/results/forecast.json and forecast.md. Skips with a message when traces are absent.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  evaluateForecaster,
  FORECAST_METHODS,
  type ForecastScore,
  resampleSeries,
} from '../../controller/core/forecast/index.js';
import { sharedPath } from '../../functions/engine/registry.js';

const quick = process.env.BENCH_QUICK === '1';
const here = dirname(fileURLToPath(import.meta.url));
const tracesDir = sharedPath('traces') ?? '';
const STEP_MS = 60_000;
const HORIZON_MS = 120_000;
const SHORT_STEP_MS = 10_000;

function loadCsv(path: string): { t: number[]; rps: number[]; stepS: number } {
  const lines = readFileSync(path, 'utf8').split('\n');
  const t: number[] = [];
  const rps: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const comma = line.indexOf(',');
    t.push(Number(line.slice(0, comma)));
    rps.push(Number(line.slice(comma + 1)));
  }
  const m = /_(\d+)(s|min|h)\.csv$/.exec(path);
  const stepS = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'min' ? 60 : 1) : 1;
  return { t, rps, stepS };
}

if (!existsSync(tracesDir)) {
  console.log(`forecast bench: no traces at ${tracesDir}; set SPILLWAY_SHARED_DIR or place shared/traces beside the repo. Skipped.`);
  process.exit(0);
}

const files = readdirSync(tracesDir).filter((f) => f.endsWith('.csv')).sort();
const results: Array<{ trace: string; stepMs: number; steps: number; days: number; scores: ForecastScore[]; ms: number }> = [];
for (const f of files) {
  const t0 = performance.now();
  const { t, rps, stepS } = loadCsv(join(tracesDir, f));
  const spanS = (t[t.length - 1] ?? 0) - (t[0] ?? 0) + stepS;
  // Traces shorter than a day (the ~1 h Azure ones) are scored on a 10 s tick, or there would be
  // only ~57 steps; the horizon stays 120 s.
  const stepMs = spanS >= 86_400 ? STEP_MS : SHORT_STEP_MS;
  let series = resampleSeries(t, rps, stepS, stepMs);
  if (quick) series = series.slice(0, Math.round((3 * 86_400_000) / stepMs));
  const scores = FORECAST_METHODS.map((method) => evaluateForecaster(series, stepMs, HORIZON_MS, { method }));
  const ms = performance.now() - t0;
  results.push({ trace: f, stepMs, steps: series.length, days: (series.length * stepMs) / 86_400_000, scores, ms });
  console.log(
    `${f}: ${series.length} steps; ${scores.map((s) => `${s.method} MAPE ${s.mapePct.toFixed(1)} % under ${(s.underForecastRate * 100).toFixed(1)} % x${s.overProvisionRatio.toFixed(2)}`).join(' | ')}`,
  );
}

const out = { bench: 'forecast', quick, stepMs: STEP_MS, horizonMs: HORIZON_MS, seasonMs: 86_400_000, results, at: new Date().toISOString() };
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'forecast.json'), `${JSON.stringify(out, null, 2)}\n`);
const md = [
  `# Forecast bench (${quick ? 'quick: first 3 days' : 'full traces'})`,
  '',
  `Peak over a ${HORIZON_MS / 1000} s horizon, ${STEP_MS / 1000} s tick (${SHORT_STEP_MS / 1000} s for traces under a day), 1-day season. MAPE of forecast peak vs actual peak;`,
  'under = share of steps where the forecast was below the actual peak; xcap = mean forecast / mean actual peak.',
  '',
  `| trace | step s | days | ${FORECAST_METHODS.map((m) => `${m} MAPE / under / xcap`).join(' | ')} |`,
  `|---|---:|---:|${FORECAST_METHODS.map(() => '---').join('|')}|`,
  ...results.map(
    (r) =>
      `| ${r.trace} | ${r.stepMs / 1000} | ${r.days.toFixed(2)} | ${r.scores.map((s) => `${s.mapePct.toFixed(1)} % / ${(s.underForecastRate * 100).toFixed(1)} % / ${s.overProvisionRatio.toFixed(2)}`).join(' | ')} |`,
  ),
  '',
];
writeFileSync(join(here, 'results', 'forecast.md'), md.join('\n'));
