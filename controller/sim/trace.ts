/**
 * Trace loading: a `t,rps` CSV (format in shared/traces/README.md) or a `builtin:<name>` synthetic
 * workload, turned into a gap-free grid of rates in *simulated* time that the simulator replays
 * with Poisson arrivals inside each step.
 *
 * Gap rules (the README: a missing `t` means "no data", never zero load):
 * - a gap of at most `maxHoldGapS` seconds (default 300 s) is HELD: the previous row's rate
 *   continues through it (Twitter's 12-44 s collection holes);
 * - a longer gap is SKIPPED: simulated time is compressed, the next row follows immediately
 *   (Twitter's daily 29-minute hole, NASA's multi-day outage). Replaying days of "no data" would
 *   only bill idle VMs for load nobody measured.
 * Both are counted in `Trace.gaps` and repeated in `notes` so every report says what happened.
 *
 * Rates: `scale` multiplies every row; `meanRps` rescales so the (windowed, gap-handled) mean is
 * exactly that value (e.g. Twitter's 64.9 rps mean -> 100 rps is a factor 1.541).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { TraceError } from './errors.js';
import { Rng } from './rng.js';

export interface Trace {
  /** File base name or `builtin:<name>`. */
  name: string;
  /** True for built-in generated workloads: every output that shows this trace says "synthetic". */
  synthetic: boolean;
  /** Seconds per grid step. */
  stepS: number;
  /** Rate (requests/s) for each step of simulated time: step i covers [i*stepS, (i+1)*stepS). */
  rps: Float64Array;
  durationS: number;
  meanRps: number;
  peakRps: number;
  /** Factor applied to the file's rates. */
  scale: number;
  /** File time (s) at which simulated time 0 starts. */
  startS: number;
  gaps: { held: number; heldS: number; skipped: number; skippedS: number };
  notes: string[];
}

export interface LoadTraceOptions {
  /** Multiply rates by this factor. Exclusive with meanRps. */
  scale?: number;
  /** Rescale so the mean over the loaded window is this many rps. */
  meanRps?: number;
  /** Window start in hours of file time (default 0). */
  startHours?: number;
  /** Window length in hours of file time (default: to the end). */
  hours?: number;
  /** Longest gap (s) that is held rather than skipped (default 300). */
  maxHoldGapS?: number;
}

export const BUILTIN_TRACES = ['diurnal-burst', 'steady', 'spike'] as const;

export function loadTrace(spec: string, opts: LoadTraceOptions = {}): Trace {
  if (opts.scale !== undefined && opts.meanRps !== undefined) {
    throw new TraceError('loadTrace: give either scale or meanRps, not both');
  }
  if (opts.scale !== undefined && !(opts.scale > 0)) throw new TraceError(`scale must be > 0 (got ${opts.scale})`);
  if (opts.meanRps !== undefined && !(opts.meanRps > 0)) {
    throw new TraceError(`meanRps must be > 0 (got ${opts.meanRps})`);
  }
  if (opts.hours !== undefined && !(opts.hours > 0)) throw new TraceError(`hours must be > 0 (got ${opts.hours})`);
  const startS = Math.max(0, (opts.startHours ?? 0) * 3600);
  const endS = opts.hours !== undefined ? startS + opts.hours * 3600 : Number.POSITIVE_INFINITY;

  let rows: { t: Float64Array; r: Float64Array; n: number; stepS: number };
  let synthetic = false;
  let name: string;
  if (spec.startsWith('builtin:')) {
    name = spec;
    synthetic = true;
    rows = builtinRows(spec.slice('builtin:'.length));
  } else {
    name = basename(spec);
    rows = parseCsv(spec);
  }
  const grid = toGrid(rows, startS, endS, opts.maxHoldGapS ?? 300);
  if (grid.values.length === 0) {
    throw new TraceError(`trace ${name}: no rows in the window [${startS} s, ${endS} s)`);
  }
  let sum = 0;
  for (const v of grid.values) sum += v;
  const rawMean = sum / grid.values.length;
  let scale = opts.scale ?? 1;
  if (opts.meanRps !== undefined) {
    if (rawMean <= 0) throw new TraceError(`trace ${name}: mean rate is 0 in the window, cannot rescale`);
    scale = opts.meanRps / rawMean;
  }
  const rps = new Float64Array(grid.values.length);
  let peak = 0;
  for (let i = 0; i < rps.length; i++) {
    const v = grid.values[i]! * scale;
    rps[i] = v;
    if (v > peak) peak = v;
  }
  const notes: string[] = [];
  if (synthetic) notes.push(`${name} is a SYNTHETIC workload generated in code (not a measured trace).`);
  notes.push(`step ${rows.stepS} s; window starts at file t=${startS} s; rates x${scale.toFixed(4)}`);
  if (grid.gaps.held > 0) notes.push(`${grid.gaps.held} short gaps (${grid.gaps.heldS} s) held at the previous rate`);
  if (grid.gaps.skipped > 0) {
    notes.push(`${grid.gaps.skipped} long gaps (${grid.gaps.skippedS} s) skipped: simulated time is compressed`);
  }
  return {
    name,
    synthetic,
    stepS: rows.stepS,
    rps,
    durationS: rps.length * rows.stepS,
    meanRps: rawMean * scale,
    peakRps: peak,
    scale,
    startS,
    gaps: grid.gaps,
    notes,
  };
}

/** Rate at simulated time tS (s); 0 past the end. */
export function rateAt(trace: Trace, tS: number): number {
  const i = Math.floor(tS / trace.stepS);
  return i >= 0 && i < trace.rps.length ? trace.rps[i]! : 0;
}

function stepFromName(file: string): number | undefined {
  const m = /_(\d+)(s|min|h)\.csv$/.exec(file);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 's' ? n : m[2] === 'min' ? n * 60 : n * 3600;
}

function parseCsv(path: string): { t: Float64Array; r: Float64Array; n: number; stepS: number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TraceError(`cannot read trace file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const lines = text.split('\n');
  if (lines[0]?.trim() !== 't,rps') {
    throw new TraceError(`trace ${path}: header must be "t,rps" (got "${lines[0]?.slice(0, 40)}")`);
  }
  const t = new Float64Array(lines.length);
  const r = new Float64Array(lines.length);
  let n = 0;
  let minDiff = Number.POSITIVE_INFINITY;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0 || line === '\r') continue;
    const comma = line.indexOf(',');
    const tv = Number(line.slice(0, comma));
    const rv = Number(line.slice(comma + 1));
    if (comma < 0 || !Number.isFinite(tv) || !Number.isFinite(rv) || rv < 0) {
      throw new TraceError(`trace ${path} line ${i + 1}: expected "t,rps" with rps >= 0, got "${line.slice(0, 60)}"`);
    }
    if (n > 0) {
      const d = tv - t[n - 1]!;
      if (d <= 0) throw new TraceError(`trace ${path} line ${i + 1}: t=${tv} is not increasing`);
      if (d < minDiff) minDiff = d;
    }
    t[n] = tv;
    r[n] = rv;
    n++;
  }
  if (n === 0) throw new TraceError(`trace ${path}: no data rows`);
  const stepS = stepFromName(basename(path)) ?? (Number.isFinite(minDiff) ? minDiff : 1);
  return { t, r, n, stepS };
}

/**
 * Rows -> contiguous grid in simulated time, applying the window and the gap rules.
 * A row at t with a successor at t + stepS is normal; a successor further away means a gap of
 * (t_next - t - stepS) seconds.
 */
function toGrid(
  rows: { t: Float64Array; r: Float64Array; n: number; stepS: number },
  startS: number,
  endS: number,
  maxHoldGapS: number,
): { values: number[]; gaps: Trace['gaps'] } {
  const { t, r, n, stepS } = rows;
  const values: number[] = [];
  const gaps = { held: 0, heldS: 0, skipped: 0, skippedS: 0 };
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const ti = t[i]!;
    if (ti < startS) continue;
    if (ti >= endS) break;
    if (prev >= 0) {
      const gapS = ti - t[prev]! - stepS;
      if (gapS > 0) {
        if (gapS <= maxHoldGapS) {
          gaps.held++;
          gaps.heldS += gapS;
          const steps = Math.round(gapS / stepS);
          for (let k = 0; k < steps; k++) values.push(r[prev]!);
        } else {
          gaps.skipped++;
          gaps.skippedS += gapS;
        }
      }
    }
    values.push(r[i]!);
    prev = i;
  }
  return { values, gaps };
}

/**
 * Built-in SYNTHETIC workloads (fresh clone, no shared traces). Deterministic (fixed seed), mean
 * about 100 rps before rescaling, 1 s steps:
 * - diurnal-burst: 24 h; sinusoidal day (trough 40 % of peak at 04:00, peak at 16:00), +-8 % noise,
 *   and 14 bursts of 1-6 min at 2-3.5x the current level (the shape that hurts VM-only fleets).
 * - steady: 2 h at a constant 100 rps (Poisson noise comes from the simulator).
 * - spike: 2 h at 100 rps with a 4-minute 4x spike at t = 20 s (so the README's 2-minute demo
 *   replay shows one: Lambda takes the spike, a VM is bought and boots, then takes the load back)
 *   and a 10-minute 4x spike at t = 50 min (longer than any VM's boot: the case VMs must carry).
 */
function builtinRows(which: string): { t: Float64Array; r: Float64Array; n: number; stepS: number } {
  const make = (values: Float64Array) => {
    const t = new Float64Array(values.length);
    for (let i = 0; i < t.length; i++) t[i] = i;
    return { t, r: values, n: values.length, stepS: 1 };
  };
  if (which === 'steady') return make(new Float64Array(7200).fill(100));
  if (which === 'spike') {
    const v = new Float64Array(7200).fill(100);
    for (let i = 20; i < 260; i++) v[i] = 400;
    for (let i = 3000; i < 3600; i++) v[i] = 400;
    return make(v);
  }
  if (which === 'diurnal-burst') {
    const n = 86400;
    const v = new Float64Array(n);
    const rng = new Rng(20260101);
    // Slow noise: a random walk averaged over ~60 s so the level wanders, not white noise.
    let walk = 0;
    for (let i = 0; i < n; i++) {
      const hour = i / 3600;
      const day = 0.7 + 0.3 * Math.sin(((hour - 10) / 24) * 2 * Math.PI);
      walk = walk * 0.98 + 0.02 * rng.normal();
      v[i] = 100 * day * (1 + 0.08 * Math.max(-2.5, Math.min(2.5, walk * 5)));
    }
    for (let b = 0; b < 14; b++) {
      const start = Math.floor(rng.uniform() * (n - 400));
      const len = 60 + Math.floor(rng.uniform() * 300);
      const factor = 2 + 1.5 * rng.uniform();
      for (let i = start; i < start + len && i < n; i++) {
        // Ramp up over 10 s, hold, ramp down over 20 s.
        const up = Math.min(1, (i - start) / 10);
        const down = Math.min(1, (start + len - i) / 20);
        v[i] = v[i]! * (1 + (factor - 1) * Math.min(up, down));
      }
    }
    return make(v);
  }
  throw new TraceError(`unknown builtin trace "builtin:${which}" (known: ${BUILTIN_TRACES.join(', ')})`);
}
