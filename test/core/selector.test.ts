import { describe, expect, it } from 'vitest';
import type { CompletionRecord, LambdaView, RouteRequest, VmView } from '../../controller/core/policy-types.js';
import { decaySelector, estimateKey, initSelector, observeLatency } from '../../controller/core/selector.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { catalog, type FixtureSpec, makeEnv, variantInfo } from './fixtures.js';

// Two variants of one task. 'fast' is cheaper and more accurate, so the plan sends it the traffic;
// its profile says p99 = 1.5 x 50.5 = 76 ms, inside the 100 ms SLO. In truth it is 1.5x slower
// (p99 ~ 114 ms), which the selector must discover from completions and route around.
const SPECS: FixtureSpec[] = [
  { name: 'fast', oneThreadMs: 50, twoThreadMs: 26, accuracy: 72, sessionLoadMs: 100 },
  { name: 'alt', oneThreadMs: 55, twoThreadMs: 28.5, accuracy: 70, sessionLoadMs: 100 },
];
const env = makeEnv(SPECS, { sloMs: 100, instanceTypes: ['c5.large'] });
const lambda: LambdaView = { memoryMbByVariant: {}, warmIdleByVariant: {}, inFlight: 0, concurrencyLimit: 1000 };
const vm = (id: string, variant: string): VmView => ({
  id,
  instanceType: 'c5.large',
  variant,
  state: 'ready',
  launchedAtMs: 0,
  readyAtMs: 90_000,
  outstanding: 0,
  slots: 2,
  slowdown: 1,
});
const vms = [vm('f1', 'fast'), vm('a1', 'alt')];

describe('selector learns from completions (manual clock)', () => {
  it('detects a variant 1.5x slower than its profile within a bounded number of observations and routes around it', () => {
    const policy = createSpillwayPolicy({ exploreShare: 0 });
    let state = policy.init(env, 0);
    let now = 1000;
    const req = (): RouteRequest => ({ nowMs: now, task: 'image-classification', sloMs: 100, minAccuracy: 0, inputs: 1 });
    const pick = () => policy.route(req(), { nowMs: now, vms, lambda }, state, env);
    // Before any feedback the profile is trusted: the planned variant's VM serves.
    expect(pick()).toMatchObject({ kind: 'vm', vmId: 'f1' });
    const prior = state.selector.estimates.get(estimateKey('fast', 'vm', 'c5.large'))!.priorP50Ms;
    let detectedAfter = -1;
    for (let n = 1; n <= 40; n++) {
      now += 50;
      const c: CompletionRecord = {
        atMs: now,
        variant: 'fast',
        backend: 'vm',
        resourceKey: 'c5.large',
        vmId: 'f1',
        serviceMs: prior * 1.5,
        totalMs: prior * 1.5 + 2,
        sloMs: 100,
        coldStart: false,
        violated: true,
      };
      state = policy.observe(c, state, env);
      const d = pick();
      if (d.kind === 'vm' && d.vmId === 'a1') {
        detectedAfter = n;
        break;
      }
    }
    expect(detectedAfter).toBeGreaterThan(0);
    // ratio_n = 1.5 - 0.5 x 0.9^n must push p99 (76 ms x ratio + 2) past 100 ms: n = 8 (see selector.ts).
    expect(detectedAfter).toBeLessThanOrEqual(12);
    // Every later request avoids 'fast' (the planner mix still names it, the estimate vetoes it).
    for (let i = 0; i < 200; i++) {
      const d = pick();
      expect(d.kind === 'vm' && d.variant).toBe('alt');
    }
  });

  it('forgets when nothing confirms: an idle estimate drifts back to its prior', () => {
    const s = initSelector(catalog, [variantInfo(SPECS[0]!)], ['c5.large']);
    const e = s.estimates.get(estimateKey('fast', 'vm', 'c5.large'))!;
    for (let i = 0; i < 50; i++) {
      observeLatency(s, { atMs: i, variant: 'fast', backend: 'vm', resourceKey: 'c5.large', serviceMs: e.priorP50Ms * 2, totalMs: 0, sloMs: 100, coldStart: false, violated: false });
    }
    expect(e.ratio).toBeGreaterThan(1.9);
    decaySelector(s); // this tick saw observations: no decay
    expect(e.ratio).toBeGreaterThan(1.9);
    for (let i = 0; i < 200; i++) decaySelector(s);
    expect(e.ratio).toBeLessThan(1.05);
  });

  it('learns Lambda cold-start and warm overhead from totals', () => {
    const s = initSelector(catalog, [variantInfo(SPECS[0]!)], ['c5.large']);
    const e = s.estimates.get(estimateKey('fast', 'lambda', '2048'))!;
    for (let i = 0; i < 60; i++) {
      observeLatency(s, { atMs: i, variant: 'fast', backend: 'lambda', resourceKey: '2048', serviceMs: e.priorP50Ms, totalMs: e.priorP50Ms + 20, sloMs: 100, coldStart: false, violated: false });
      observeLatency(s, { atMs: i, variant: 'fast', backend: 'lambda', resourceKey: '2048', serviceMs: e.priorP50Ms, totalMs: e.priorP50Ms + 1500, sloMs: 100, coldStart: true, violated: true });
    }
    expect(e.overheadMs).toBeGreaterThan(18);
    expect(e.overheadMs).toBeLessThan(22);
    expect(e.coldStartMs).toBeGreaterThan(1300);
  });
});
