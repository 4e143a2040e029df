import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitLatencyModel, fitLatencyModelDetailed, type LatencyPoint, mapePct, solveLinear } from '../../profiles/lib/fit.js';
import { type LatencyModel, predictLatencyMs } from '../../profiles/schema.js';

const GRID_B = [1, 2, 4, 8, 16];
const GRID_C = [1, 2, 3, 4];

function synth(m: LatencyModel, noise: (i: number) => number = () => 1, ratio = 1.3): LatencyPoint[] {
  const out: LatencyPoint[] = [];
  let i = 0;
  for (const b of GRID_B) {
    for (const c of GRID_C) {
      const p50 = predictLatencyMs(m, b, c) * noise(i++);
      out.push({ batchSize: b, intraOpThreads: c, p50Ms: p50, p99Ms: p50 * ratio });
    }
  }
  return out;
}

const base = { fitMapePct: 0, p99OverP50: 1 };

describe('solveLinear', () => {
  it('solves a 3x3 system and reports singular ones', () => {
    const x = solveLinear(
      [
        [2, 1, -1],
        [-3, -1, 2],
        [-2, 1, 2],
      ],
      [8, -11, -3],
    );
    expect(x).toBeDefined();
    expect(x![0]).toBeCloseTo(2, 10);
    expect(x![1]).toBeCloseTo(3, 10);
    expect(x![2]).toBeCloseTo(-1, 10);
    expect(
      solveLinear(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
    ).toBeUndefined();
  });
});

describe('fitLatencyModel', () => {
  it('recovers known parameters from noise-free synthetic data within 1 % and reports MAPE ~0', () => {
    const truth = { ...base, gammaMs: 5.2, deltaMs: 0.8, epsilonMs: 1.7, etaMs: 0.45 };
    const d = fitLatencyModelDetailed(synth(truth, undefined, 1.25));
    expect(d.method).toBe('ols');
    for (const k of ['gammaMs', 'deltaMs', 'epsilonMs', 'etaMs'] as const) {
      expect(Math.abs(d.model[k] - truth[k]) / truth[k]).toBeLessThan(0.01);
    }
    expect(d.model.fitMapePct).toBeLessThan(0.01);
    expect(d.model.p99OverP50).toBeCloseTo(1.25, 3);
  });

  it('recovers any non-negative parameters (property, 1 %)', () => {
    const positive = fc.double({ min: 0.05, max: 50, noNaN: true });
    fc.assert(
      fc.property(positive, positive, positive, positive, (g, d, e, h) => {
        const truth = { ...base, gammaMs: g, deltaMs: d, epsilonMs: e, etaMs: h };
        const m = fitLatencyModel(synth(truth));
        for (const k of ['gammaMs', 'deltaMs', 'epsilonMs', 'etaMs'] as const) {
          expect(Math.abs(m[k] - truth[k])).toBeLessThanOrEqual(0.01 * truth[k] + 1e-9);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('reports the MAPE of a noisy fit and keeps every term non-negative (NNLS)', () => {
    // Multiplicative noise of +-8 % alternating, on a model with a tiny serial overhead: OLS would
    // trade eta below zero for in-sample fit.
    const truth = { ...base, gammaMs: 6, deltaMs: 0.3, epsilonMs: 0.2, etaMs: 0.01 };
    const pts = synth(truth, (i) => (i % 3 === 0 ? 1.08 : i % 3 === 1 ? 0.92 : 1.0));
    const d = fitLatencyModelDetailed(pts);
    for (const k of ['gammaMs', 'deltaMs', 'epsilonMs', 'etaMs'] as const) expect(d.model[k]).toBeGreaterThanOrEqual(0);
    expect(d.model.fitMapePct).toBeGreaterThan(1);
    expect(d.model.fitMapePct).toBeLessThan(10);
    expect(d.model.fitMapePct).toBeCloseTo(mapePct(d.model, pts), 2);
  });

  it('uses NNLS when the unconstrained optimum has a negative term, and beats every non-negative subset fit', () => {
    // Latency that falls faster than 1/c between c=1 and 2 (cache effects): unconstrained fit wants eta < 0.
    const pts: LatencyPoint[] = [];
    for (const b of GRID_B) {
      pts.push({ batchSize: b, intraOpThreads: 1, p50Ms: 10 * b, p99Ms: 11 * b });
      pts.push({ batchSize: b, intraOpThreads: 2, p50Ms: 4 * b, p99Ms: 4.4 * b });
    }
    const d = fitLatencyModelDetailed(pts);
    expect(d.method).toBe('nnls');
    for (const k of ['gammaMs', 'deltaMs', 'epsilonMs', 'etaMs'] as const) expect(d.model[k]).toBeGreaterThanOrEqual(0);
    // more vCPUs never slower under a non-negative model
    for (let c = 1; c < 8; c++) {
      expect(predictLatencyMs(d.model, 4, c + 1)).toBeLessThanOrEqual(predictLatencyMs(d.model, 4, c));
    }
  });

  it('fixed-batch data (b = 1 only) keeps only the per-item terms', () => {
    const pts: LatencyPoint[] = [
      { batchSize: 1, intraOpThreads: 1, p50Ms: 8.6, p99Ms: 9 },
      { batchSize: 1, intraOpThreads: 2, p50Ms: 4.5, p99Ms: 5 },
    ];
    const d = fitLatencyModelDetailed(pts);
    expect(d.identifiable).toEqual(['gamma', 'delta']);
    expect(d.model.epsilonMs).toBe(0);
    expect(d.model.etaMs).toBe(0);
    expect(predictLatencyMs(d.model, 1, 1)).toBeCloseTo(8.6, 6);
    expect(predictLatencyMs(d.model, 1, 2)).toBeCloseTo(4.5, 6);
  });

  it('one thread count only keeps the serial terms (no assumed speed-up)', () => {
    const pts = GRID_B.map((b) => ({ batchSize: b, intraOpThreads: 1, p50Ms: 2 + 3 * b, p99Ms: 3 + 3 * b }));
    const d = fitLatencyModelDetailed(pts);
    expect(d.identifiable).toEqual(['delta', 'eta']);
    expect(d.model.deltaMs).toBeCloseTo(3, 6);
    expect(d.model.etaMs).toBeCloseTo(2, 6);
  });

  it('rejects empty and malformed input with a clear message', () => {
    expect(() => fitLatencyModel([])).toThrow(/no measurements/);
    expect(() => fitLatencyModel([{ batchSize: 0, intraOpThreads: 1, p50Ms: 1, p99Ms: 1 }])).toThrow(/bad measurement/);
  });
});
