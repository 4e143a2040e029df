import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { breakEvenBurstMs } from '../../controller/core/break-even.js';
import { PolicyHost } from '../../controller/core/host/policy-host.js';
import { buildHistorySample, ControllerHistory, percentile, RingBuffer } from '../../controller/core/host/history.js';
import type { CompletionRecord, TickDecision } from '../../controller/core/policy-types.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { makeEnv, REAL_MODELS } from './fixtures.js';

describe('RingBuffer', () => {
  it('keeps the last `capacity` items, oldest first', () => {
    const r = new RingBuffer<number>(3);
    expect(r.toArray()).toEqual([]);
    expect(r.last()).toBeUndefined();
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.toArray()).toEqual([3, 4, 5]);
    expect(r.size).toBe(3);
    expect(r.last()).toBe(5);
    expect(r.takeLastWhile((x) => x > 3)).toEqual([4, 5]);
    expect(r.takeLastWhile(() => false)).toEqual([]);
  });

  it('matches the tail of an array for any pushes (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer(), { maxLength: 100 }), (cap, xs) => {
        const r = new RingBuffer<number>(cap);
        for (const x of xs) r.push(x);
        expect(r.toArray()).toEqual(xs.slice(-cap));
        expect(r.size).toBe(Math.min(cap, xs.length));
      }),
    );
  });

  it('refuses a capacity below 1', () => {
    expect(() => new RingBuffer(0)).toThrow(/capacity/);
  });
});

describe('ControllerHistory', () => {
  it('holds an hour of ticks and answers since a time', () => {
    expect(ControllerHistory.hourOf(5_000)).toBe(720);
    expect(ControllerHistory.hourOf(500)).toBe(7_200);
    const h = new ControllerHistory(3, 10);
    const sample = (atMs: number) => ({ atMs }) as never;
    for (let t = 1; t <= 4; t++) h.record(sample(t * 1000), { atMs: t * 1000, tick: t, summary: [`launched ${t} c5.large (m): x`], notes: [] });
    expect(h.since(undefined).samples.map((s) => s.atMs)).toEqual([2000, 3000, 4000]);
    expect(h.since(2500).samples.map((s) => s.atMs)).toEqual([3000, 4000]);
    expect(h.since(2500).decisions.map((d) => d.tick)).toEqual([3, 4]);
  });

  it('keeps one of a run of quiet ticks that differ only in figures', () => {
    const h = new ControllerHistory(10, 10);
    const quiet = (t: number, rps: string) => ({ atMs: t, tick: t, summary: [`no change: forecast ${rps} rps over the next 25 s; no VM; x`], notes: [] });
    h.record({ atMs: 1 } as never, quiet(1, '8.2'));
    h.record({ atMs: 2 } as never, quiet(2, '8.4'));
    h.record({ atMs: 3 } as never, { atMs: 3, tick: 3, summary: ['launched 1 c5.large (m): y'], notes: [] });
    h.record({ atMs: 4 } as never, quiet(4, '9'));
    const deferred = (t: number, rps: string) => ({ atMs: t, tick: t, summary: [`kept m's Lambda memory for now (1024 MB planned): recent rate ${rps} rps`], notes: [] });
    h.record({ atMs: 5 } as never, deferred(5, '2.3'));
    h.record({ atMs: 6 } as never, deferred(6, '4.7'));
    h.record({ atMs: 7 } as never, { atMs: 7, tick: 7, summary: ['launched 1 c5.large (m): y'], notes: [] });
    expect(h.decisions.toArray().map((d) => d.tick)).toEqual([1, 3, 4, 5, 7]);
  });
});

describe('percentile and break-even burst', () => {
  it('nearest rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([10], 0.99)).toBe(10);
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.99)).toBe(99);
  });

  it('a burst must outlast u* x boot / (1 - u*), or u* x the billing minimum', () => {
    expect(breakEvenBurstMs(0.5, 60_000, 60_000)).toBeCloseTo(60_000);
    expect(breakEvenBurstMs(0.2, 20_000, 60_000)).toBeCloseTo(12_000); // 20 s + 5 s < 60 s: 0.2 x 60 s
    expect(breakEvenBurstMs(1.2, 20_000, 60_000)).toBe(Number.POSITIVE_INFINITY);
    expect(breakEvenBurstMs(0, 20_000, 60_000)).toBe(0);
  });
});

describe('buildHistorySample', () => {
  const env = makeEnv(REAL_MODELS.slice(0, 2), { sloMs: 100, instanceTypes: ['c5.large'] });
  const [a, b] = env.variants;
  const completion = (variant: string, backend: 'vm' | 'lambda', totalMs: number, coldStart = false): CompletionRecord => ({
    atMs: 1, variant, backend, resourceKey: backend === 'vm' ? 'c5.large' : '2048', serviceMs: 1, totalMs, sloMs: 100, coldStart, violated: totalMs > 100,
  });
  const decision: TickDecision = {
    launch: [], terminate: [], lambdaMemoryMb: {}, variantShares: {}, forecastRps: 12, notes: [],
    facts: {
      horizonMs: 30_000, headroom: 0.2, planRps: 12, holdWindowMs: 120_000, lambdaAbsorbRps: 40,
      vmCapacityRps: { [`c5.large|${a!.name}`]: 100 },
      breakEven: [{ instanceType: 'c5.large', variant: a!.name, capacityRps: 100, pricePerHourUsd: 0.085, lambdaCostPerRequestUsd: 1e-6, utilisation: 0.4, newVmUtilisation: 0.5, burstMs: 40_000, bootDelayMs: 60_000 }],
    },
  };

  it('counts answers, latency, SLO attainment, capacity, cost and the model mix', () => {
    const vms = [
      { id: 'v1', instanceType: 'c5.large', variant: a!.name, state: 'ready' as const, launchedAtMs: 0, outstanding: 0, slots: 1, slowdown: 1 },
      { id: 'v2', instanceType: 'c5.large', variant: a!.name, state: 'booting' as const, launchedAtMs: 0, outstanding: 0, slots: 1, slowdown: 1 },
    ];
    const s = buildHistorySample({
      nowMs: 10_000, tick: 2, env, arrivalRps: 5, decision, vms, bootDelayMs: () => 61_000,
      lambdaInFlight: 3, lambdaConcurrencyLimit: 8,
      completions: [completion(a!.name, 'vm', 10), completion(a!.name, 'lambda', 50, true), completion(b!.name, 'lambda', 300)],
      errors: { rejected503: 1, timeouts504: 0, otherErrors: 0 },
      ec2Usd: 0.01, lambdaUsd: 0.002,
      previous: { atMs: 5_000, cost: { lambdaUsd: 0.001 } } as never,
    });
    expect(s.answers).toEqual({ vm: 1, lambda: 2, coldStarts: 1, rejected503: 1, timeouts504: 0, otherErrors: 0 });
    expect(s.sloAttainment).toBeCloseTo(2 / 4); // 2 met of 3 answered + one 503
    expect(s.p50Ms).toBe(50);
    expect(s.p99Ms).toBe(300);
    expect(s.vmReadyRps).toBe(100);
    expect(s.vmBootingRps).toBe(100);
    expect(s.forecastBaseRps).toBeCloseTo(10);
    expect(s.fleet).toEqual([{ instanceType: 'c5.large', booting: 1, ready: 1, draining: 0, bootDelayMs: 61_000 }]);
    expect(s.cost.ec2UsdPerHour).toBeCloseTo(2 * env.catalog.ec2.instanceTypes.find((t) => t.name === 'c5.large')!.pricePerHourUsd);
    expect(s.cost.lambdaUsdPerHour).toBeCloseTo((0.001 / 5_000) * 3_600_000); // $0.001 over 5 s
    expect(s.modelMix['image-classification']).toEqual({ [a!.name]: 2 / 3, [b!.name]: 1 / 3 });
    expect(s.servedAccuracy).toBeCloseTo((2 * a!.accuracyTop1! + b!.accuracyTop1!) / 3);
    expect(s.breakEven).toEqual({ instanceType: 'c5.large', variant: a!.name, utilisation: 0.4, burstMs: 40_000 });
  });

  it('an idle tick has no percentiles and no attainment (not zero)', () => {
    const s = buildHistorySample({
      nowMs: 1, tick: 1, env, arrivalRps: 0, decision, vms: [], bootDelayMs: () => 1, lambdaInFlight: 0, lambdaConcurrencyLimit: 8,
      completions: [], errors: { rejected503: 0, timeouts504: 0, otherErrors: 0 }, ec2Usd: 0, lambdaUsd: 0, previous: undefined,
    });
    expect(s.p50Ms).toBeNull();
    expect(s.sloAttainment).toBeNull();
    expect(s.cost.lambdaUsdPerHour).toBe(0);
  });
});

describe('the policy host feeds the history every tick', () => {
  it('one sample per tick, capped, with the planner facts and the decision in words', () => {
    const env = makeEnv(REAL_MODELS.slice(0, 1), { tickIntervalMs: 5_000, instanceTypes: ['c5.large'] });
    const host = new PolicyHost(createSpillwayPolicy(), env, { limits: {}, lambdaMemoryMb: 2048, lambdaKeepAliveMs: 60_000, nowMs: 0, historySamples: 3 });
    for (let t = 1; t <= 5; t++) {
      host.arrived(50);
      host.rejected(503);
      host.failed(504);
      host.tick(t * 5_000);
    }
    const { samples, decisions } = host.history!.since(undefined);
    expect(samples.map((s) => s.tick)).toEqual([3, 4, 5]);
    expect(samples[2]!.arrivalRps).toBeCloseTo(10);
    expect(samples[2]!.answers.rejected503).toBe(1);
    expect(samples[2]!.answers.timeouts504).toBe(1);
    expect(samples[2]!.breakEven?.instanceType).toBe('c5.large');
    expect(decisions.length).toBeGreaterThan(0);
    expect(host.lastDecision!.summary.length).toBeGreaterThan(0);
    expect(host.lastDecision!.facts!.horizonMs).toBeGreaterThan(0);
  });

  it('keeps none unless asked (the simulator)', () => {
    const env = makeEnv(REAL_MODELS.slice(0, 1));
    const host = new PolicyHost(createSpillwayPolicy(), env, { limits: {}, lambdaMemoryMb: 2048, lambdaKeepAliveMs: 60_000, nowMs: 0 });
    host.tick(10_000);
    expect(host.history).toBeUndefined();
  });
});
