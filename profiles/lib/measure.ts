/**
 * Measures one variant inside the current process (the profiler runs this in a child process per
 * variant, so peak RSS and session-load time belong to that model alone): session load time, then
 * session.run latency per (batch size x intra-op threads) cell on a seeded random input.
 *
 * Only session.run is timed (no decoding or preprocessing), with the serving engine's session
 * options (interOp 1, sequential, graph optimisation 'all'; the same as the shared models README),
 * so the figures are comparable with both.
 */
import { build as buildHistogram } from 'hdr-histogram-js';
import * as ort from 'onnxruntime-node';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { ortSessionOptions } from '../../functions/engine/session-cache.js';
import type { Measurement } from '../schema.js';
import { mulberry32 as prng } from '../../functions/engine/synthetic/prng.js';

export interface CellBudget {
  /** Warm-up runs per cell (fewer if they exceed half the time budget). */
  warmupRuns: number;
  /** Timed runs of a cell continue until they add up to this much run time (and minSamples are in). */
  timeBudgetMs: number;
  minSamples: number;
  maxSamples: number;
  /** Hard stop per cell once 3 samples are in: keeps e.g. ResNet-50 at batch 16 from taking minutes. */
  maxCellMs: number;
}

export interface MeasureRequest {
  variant: ModelVariant;
  modelPath: string;
  batchSizes: number[];
  threads: number[];
  budget: CellBudget;
}

export interface MeasureResult {
  sessionLoadMs: number;
  peakRssMb: number;
  measurements: Measurement[];
}

export type ProgressFn = (cellsDone: number, cellsTotal: number, label: string) => void;

/** The serving backends' own session options, so profiled and served latency agree. */
export function sessionOptions(intraOpThreads: number): ort.InferenceSession.SessionOptions {
  return ortSessionOptions({ intraOpThreads });
}

/** Input shape for batch b: the variant's shape with the batch dimension set (other dims must be fixed). */
export function inputShape(variant: ModelVariant, batchSize: number): number[] {
  return variant.input.shape.map((d, i) => {
    if (i === 0) return batchSize;
    if (d === null)
      throw new Error(`input dimension ${i} of ${variant.name} is dynamic; cannot build a test input`);
    return d;
  });
}

/** A seeded random tensor of the variant's input dtype: uint8 0..255, float32 in [-1,1), float16 in [0.5,1). */
export function randomInput(variant: ModelVariant, batchSize: number, seed = 1): ort.Tensor {
  const shape = inputShape(variant, batchSize);
  const n = shape.reduce((a, b) => a * b, 1);
  const rnd = prng(seed);
  switch (variant.input.dtype) {
    case 'uint8': {
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i++) data[i] = Math.floor(rnd() * 256);
      return new ort.Tensor('uint8', data, shape);
    }
    case 'float16': {
      // IEEE-754 half bits: exponent 14 (0x3800) + random 10-bit mantissa = a value in [0.5, 1).
      const data = new Uint16Array(n);
      for (let i = 0; i < n; i++) data[i] = 0x3800 | Math.floor(rnd() * 1024);
      return new ort.Tensor('float16', data, shape);
    }
    default: {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = rnd() * 2 - 1;
      return new ort.Tensor('float32', data, shape);
    }
  }
}

interface Cell {
  batchSize: number;
  feeds: Record<string, ort.Tensor>;
  hist: ReturnType<typeof buildHistogram>;
  samples: number;
  sumMs: number;
  /** Time spent in this cell's timed runs (ms): the budget counts run time, not wall-clock. */
  spentMs: number;
  done: boolean;
}

function cellDone(c: Cell, budget: CellBudget): boolean {
  if (c.samples >= budget.maxSamples) return true;
  if (c.spentMs >= budget.timeBudgetMs && c.samples >= budget.minSamples) return true;
  return c.spentMs >= budget.maxCellMs && c.samples >= 3;
}

function summarise(c: Cell, intraOpThreads: number): Measurement {
  const pct = (p: number) => Math.round(c.hist.getValueAtPercentile(p)) / 1000;
  return {
    batchSize: c.batchSize,
    intraOpThreads,
    samples: c.samples,
    p50Ms: pct(50),
    p95Ms: pct(95),
    p99Ms: pct(99),
    meanMs: Math.round((c.sumMs / c.samples) * 1000) / 1000,
  };
}

/**
 * Times every batch size of one session, interleaved round-robin (one run per unfinished cell per
 * round) rather than cell after cell. On a shared machine load comes in bursts lasting seconds; run
 * cell by cell, a burst lands on one or two batch sizes and bends the fitted slope (we saw b=2 at
 * 3.5x b=1 on a busy 2-core VM). Interleaved, a burst is spread over all batch sizes alike, so the
 * ratios between cells, which is what the fit needs, stay right even when absolute times drift.
 */
async function timeSession(
  session: ort.InferenceSession,
  variant: ModelVariant,
  batchSizes: readonly number[],
  intraOpThreads: number,
  budget: CellBudget,
  onCellDone: (m: Measurement) => void,
): Promise<Measurement[]> {
  const cells: Cell[] = batchSizes.map((b) => ({
    batchSize: b,
    feeds: { [variant.input.name]: randomInput(variant, b, 1000 + b) },
    // Microsecond resolution, 3 significant digits: percentile error <= 0.1 %.
    hist: buildHistogram({ numberOfSignificantValueDigits: 3 }),
    samples: 0,
    sumMs: 0,
    spentMs: 0,
    done: false,
  }));
  for (const c of cells) {
    const warmStart = performance.now();
    for (let i = 0; i < budget.warmupRuns; i++) {
      await session.run(c.feeds);
      if (performance.now() - warmStart > budget.timeBudgetMs / 2) break;
    }
  }
  const out = new Map<Cell, Measurement>();
  while (cells.some((c) => !c.done)) {
    for (const c of cells) {
      if (c.done) continue;
      const t0 = performance.now();
      await session.run(c.feeds);
      const ms = performance.now() - t0;
      c.hist.recordValue(Math.max(1, Math.round(ms * 1000)));
      c.samples++;
      c.sumMs += ms;
      c.spentMs += ms;
      if (cellDone(c, budget)) {
        c.done = true;
        const m = summarise(c, intraOpThreads);
        out.set(c, m);
        onCellDone(m);
      }
    }
  }
  for (const c of cells) if (typeof c.hist.destroy === 'function') c.hist.destroy();
  return cells.map((c) => out.get(c)!);
}

/** Runs the whole grid. Session load time = creating the first session (1st thread count) in this process. */
export async function measureVariant(req: MeasureRequest, onProgress?: ProgressFn): Promise<MeasureResult> {
  const { variant } = req;
  const fixedBatch = variant.input.shape[0] !== null;
  const batchSizes = fixedBatch ? [variant.input.shape[0] as number] : req.batchSizes;
  const total = batchSizes.length * req.threads.length;
  const measurements: Measurement[] = [];
  let sessionLoadMs = 0;
  let done = 0;
  for (const [ti, threads] of req.threads.entries()) {
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(req.modelPath, sessionOptions(threads));
    if (ti === 0) sessionLoadMs = Math.round((performance.now() - t0) * 100) / 100;
    try {
      const ms = await timeSession(session, variant, batchSizes, threads, req.budget, (m) => {
        done++;
        onProgress?.(done, total, `b=${m.batchSize} t=${threads}`);
      });
      measurements.push(...ms);
    } finally {
      await session.release();
    }
  }
  const peakRssMb = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
  return { sessionLoadMs, peakRssMb, measurements };
}
