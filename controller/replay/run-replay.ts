/**
 * `spillway replay` core, used by the CLI and the e2e tests: load a trace window, scale it to the
 * requested mean rps, replay it open-loop against a running Spillway endpoint, summarise.
 */
import { loadTrace } from '../sim/trace.js';
import { ReplayError } from './errors.js';
import { type LoadGenResult, type ProgressSnapshot, runLoad } from './load-gen.js';
import { loadSampleImagesBase64 } from './samples.js';
import { type ReplaySummary, summarize } from './summary.js';

export interface ReplayOptions {
  target: string;
  /** CSV path or builtin:<name>. */
  trace: string;
  meanRps: number;
  durationS: number;
  /** Offset into the trace (s of file time). */
  startS?: number;
  sloMs: number;
  minAccuracy: number;
  task?: string;
  apiKey?: string;
  seed?: number;
  /** Explicit send times (ms from the start) instead of Poisson draws (load-gen.ts arrivalsMs). */
  arrivalsMs?: ArrayLike<number>;
  requestTimeoutMs?: number;
  onProgress?: (p: ProgressSnapshot) => void;
  signal?: AbortSignal;
}

/** Per-second rates for [startS, startS + durationS) with the window's mean scaled to meanRps. */
export function traceWindowRps(
  spec: string,
  o: { meanRps: number; durationS: number; startS?: number },
): { rps: Float64Array; name: string; synthetic: boolean; notes: string[] } {
  if (!(o.durationS >= 1)) throw new ReplayError(`--duration must be at least 1 s (got ${o.durationS})`);
  if (!(o.meanRps > 0)) throw new ReplayError(`--mean-rps must be > 0 (got ${o.meanRps})`);
  const trace = loadTrace(spec, {});
  const total = trace.durationS;
  const start = Math.min(Math.max(0, o.startS ?? 0), Math.max(0, total - 1));
  const raw = new Float64Array(o.durationS);
  for (let s = 0; s < o.durationS; s++) {
    // Hold each step's value for its whole step (README: do not interpolate); wrap past the end.
    const tS = (start + s) % total;
    raw[s] = trace.rps[Math.floor(tS / trace.stepS)] ?? 0;
  }
  let sum = 0;
  for (const v of raw) sum += v;
  const mean = sum / raw.length;
  if (!(mean > 0)) {
    throw new ReplayError(`trace ${trace.name} has zero load in the window [${start}, ${start + o.durationS}) s; pick another --start`);
  }
  const scale = o.meanRps / mean;
  for (let i = 0; i < raw.length; i++) raw[i] = raw[i]! * scale;
  const notes = [...trace.notes, `window t=[${start}, ${start + o.durationS}) s rescaled x${scale.toFixed(4)} to mean ${o.meanRps} rps`];
  if (start + o.durationS > total) notes.push(`trace is ${total} s long; the window wraps around`);
  return { rps: raw, name: trace.name, synthetic: trace.synthetic, notes };
}

export async function runReplay(o: ReplayOptions): Promise<{ summary: ReplaySummary; raw: LoadGenResult }> {
  const w = traceWindowRps(o.trace, o);
  const raw = await runLoad({
    url: o.target,
    ...(o.apiKey ? { apiKey: o.apiKey } : {}),
    rpsPerSecond: w.rps,
    task: o.task ?? 'image-classification',
    sloMs: o.sloMs,
    minAccuracy: o.minAccuracy,
    imagesBase64: loadSampleImagesBase64(),
    ...(o.requestTimeoutMs ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.arrivalsMs ? { arrivalsMs: o.arrivalsMs } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const summary = summarize(raw, {
    target: o.target,
    trace: w.name,
    traceSynthetic: w.synthetic,
    sloMs: o.sloMs,
    notes: w.notes,
  });
  return { summary, raw };
}
