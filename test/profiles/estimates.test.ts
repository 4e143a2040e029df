import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../profiles/catalog.js';
import { lambdaVcpu } from '../../profiles/pricing.js';
import {
  type EstimateInputs,
  instanceEstimate,
  instanceEstimates,
  lambdaColdStartMs,
  lambdaEstimates,
  lambdaLatencyMs,
  replicaOptions,
} from '../../profiles/lib/estimates.js';
import { predictLatencyMs } from '../../profiles/schema.js';

const catalog = loadCatalog();
const model = { gammaMs: 5, deltaMs: 0.6, epsilonMs: 0.8, etaMs: 0.3, fitMapePct: 2, p99OverP50: 1.2 };
const inputs: EstimateInputs = { model, sessionLoadMs: 40, peakRssMb: 180, fixedBatch: false, referenceSloMs: 200 };

describe('Lambda estimates', () => {
  it('one estimate per catalog memory size, each with the vCPU share memoryMb/1769 capped at 6', () => {
    const est = lambdaEstimates(catalog, inputs);
    expect(est.map((e) => e.memoryMb)).toEqual(catalog.lambda.memoryOptionsMb);
    for (const e of est) expect(e.vcpu).toBeCloseTo(Math.min(e.memoryMb / 1769, 6), 3);
  });

  it('more memory is never slower (latency and cold start), for any non-negative model', () => {
    const nonneg = fc.double({ min: 0, max: 40, noNaN: true });
    fc.assert(
      fc.property(nonneg, nonneg, nonneg, nonneg, fc.integer({ min: 1, max: 16 }), (g, d, e, h, b) => {
        const m = { ...model, gammaMs: g, deltaMs: d, epsilonMs: e, etaMs: h };
        let prev = Number.POSITIVE_INFINITY;
        let prevCold = Number.POSITIVE_INFINITY;
        for (let mb = 128; mb <= 10240; mb += 64) {
          const c = lambdaVcpu(catalog, mb);
          const l = lambdaLatencyMs(m, b, c);
          expect(l).toBeLessThanOrEqual(prev + 1e-9);
          const cold = lambdaColdStartMs(catalog, 40, c);
          expect(cold).toBeLessThanOrEqual(prevCold + 1e-9);
          prev = l;
          prevCold = cold;
        }
      }),
      { numRuns: 100 },
    );
  });

  it('below 1 vCPU the whole run stretches by 1/c (time slicing), continuous at 1 vCPU', () => {
    const at1 = predictLatencyMs(model, 1, 1); // 5 + 0.6 + 0.8 + 0.3 = 6.7 ms
    expect(at1).toBeCloseTo(6.7, 9);
    expect(lambdaLatencyMs(model, 1, 0.5)).toBeCloseTo(13.4, 9);
    expect(lambdaLatencyMs(model, 1, 1)).toBeCloseTo(6.7, 9);
    expect(lambdaLatencyMs(model, 1, 0.999999)).toBeCloseTo(6.7, 4);
  });

  it('leaves out memory sizes below the measured peak RSS', () => {
    const est = lambdaEstimates(catalog, { ...inputs, peakRssMb: 1500 });
    expect(est.every((e) => e.memoryMb >= 1500)).toBe(true);
    expect(est.map((e) => e.memoryMb)).not.toContain(1024);
  });

  it('cold start = runtime init + session load, load stretched by 1/c below 1 vCPU', () => {
    expect(lambdaColdStartMs(catalog, 40, 2)).toBe(catalog.lambda.runtimeInitMs + 40);
    expect(lambdaColdStartMs(catalog, 40, 0.5)).toBe(catalog.lambda.runtimeInitMs + 80);
  });
});

describe('instance estimates', () => {
  it('replicas x threads always equal the vCPUs', () => {
    expect(replicaOptions(4)).toEqual([
      { replicas: 4, intraOpThreads: 1 },
      { replicas: 2, intraOpThreads: 2 },
      { replicas: 1, intraOpThreads: 4 },
    ]);
    for (const e of instanceEstimates(catalog, inputs)) expect(e.replicas * e.intraOpThreads).toBe(e.vcpu);
  });

  it('one estimate per catalog type; batch is the largest whose p99 meets the SLO', () => {
    const est = instanceEstimates(catalog, inputs);
    expect(est.map((e) => e.instanceType)).toEqual(catalog.ec2.instanceTypes.map((t) => t.name));
    for (const e of est) {
      expect(e.p99Ms).toBeLessThanOrEqual(200);
      const next = predictLatencyMs(model, e.batchSize + 1, e.intraOpThreads) * model.p99OverP50;
      if (e.batchSize < 16) expect(next).toBeGreaterThan(200);
      // throughput and $/M from the chosen configuration
      const p50 = predictLatencyMs(model, e.batchSize, e.intraOpThreads);
      expect(e.throughputRps).toBeCloseTo((e.replicas * e.batchSize * 1000) / p50, 2);
    }
  });

  it('cost per million checked by hand for c5.large', () => {
    const type = catalog.ec2.instanceTypes.find((t) => t.name === 'c5.large')!;
    const e = instanceEstimate(type, inputs)!;
    expect(e.costPerMillionUsd).toBeCloseTo((0.085 / (e.throughputRps * 3600)) * 1e6, 3);
  });

  it('a fixed-batch model runs batch 1; a too-slow model is reported with its p99 above the SLO', () => {
    const fixed = instanceEstimates(catalog, { ...inputs, fixedBatch: true });
    expect(fixed.every((e) => e.batchSize === 1)).toBe(true);
    const slow = instanceEstimates(catalog, { ...inputs, model: { ...model, deltaMs: 500 } });
    expect(slow.every((e) => e.batchSize === 1 && e.p99Ms > 200)).toBe(true);
  });

  it('limits replicas by memory: a 3 GB model on c5.large (4 GiB) gets one replica', () => {
    const type = catalog.ec2.instanceTypes.find((t) => t.name === 'c5.large')!;
    const e = instanceEstimate(type, { ...inputs, peakRssMb: 3000 })!;
    expect(e.replicas).toBe(1);
    expect(instanceEstimate(type, { ...inputs, peakRssMb: 5000 })).toBeUndefined();
  });
});

