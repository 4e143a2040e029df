import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LambdaView, RouteRequest, VmView } from '../../controller/core/policy-types.js';
import { queueTailMs, serviceMoments } from '../../controller/core/router.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { makeEnv, REAL_MODELS } from './fixtures.js';

const env = makeEnv(REAL_MODELS);
const policy = createSpillwayPolicy({ exploreShare: 0 });
const state = policy.init(env, 0);
const lambda = (over: Partial<LambdaView> = {}): LambdaView => ({
  memoryMbByVariant: {},
  warmIdleByVariant: {},
  inFlight: 0,
  concurrencyLimit: 1000,
  ...over,
});
const req = (over: Partial<RouteRequest> = {}): RouteRequest => ({
  nowMs: 1000,
  task: 'image-classification',
  sloMs: 200,
  minAccuracy: 0,
  inputs: 1,
  ...over,
});
const vm = (id: string, variant: string, over: Partial<VmView> = {}): VmView => ({
  id,
  instanceType: 'c5.large',
  variant,
  state: 'ready',
  launchedAtMs: 0,
  readyAtMs: 90_000,
  outstanding: 0,
  slots: 2,
  slowdown: 1,
  ...over,
});
const primary = Object.keys(state.shares)[0]!;

describe('router', () => {
  it('prefers a ready VM of the planned variant, shortest expected delay', () => {
    const vms = [vm('a', primary, { outstanding: 6 }), vm('b', primary, { outstanding: 1 }), vm('c', primary, { state: 'booting' })];
    const d = policy.route(req(), { nowMs: 1000, vms, lambda: lambda() }, state, env);
    expect(d).toMatchObject({ kind: 'vm', vmId: 'b', variant: primary });
  });

  it('weighs interference: a slowed VM loses to a healthy one with the same queue', () => {
    const vms = [vm('slow', primary, { outstanding: 2, slowdown: 3 }), vm('ok', primary, { outstanding: 2 })];
    expect(policy.route(req(), { nowMs: 1000, vms, lambda: lambda() }, state, env)).toMatchObject({ vmId: 'ok' });
  });

  it('spills to Lambda when every VM queue would miss the budget; warm when warm idle exists', () => {
    const vms = [vm('a', primary, { outstanding: 10_000 })];
    const warm = policy.route(req(), { nowMs: 1000, vms, lambda: lambda({ warmIdleByVariant: { [primary]: 2 } }) }, state, env);
    expect(warm).toMatchObject({ kind: 'lambda', variant: primary, cold: false });
    // A budget the cold start fits (10 s): the cold start is taken for the request.
    const cold = policy.route(req({ sloMs: 10_000 }), { nowMs: 1000, vms, lambda: lambda() }, state, env);
    expect(cold).toMatchObject({ kind: 'lambda', cold: true });
  });

  it('a cold start that would miss the budget is not started for the request: 503 + one instance to warm, unless acceptLate', () => {
    const vms = [vm('a', primary, { outstanding: 10_000 })];
    const view = { nowMs: 1000, vms, lambda: lambda() };
    const d = policy.route(req(), view, state, env);
    expect(d).toMatchObject({ kind: 'reject', status: 503, warm: { variant: expect.any(String), memoryMb: expect.any(Number) } });
    if (d.kind !== 'reject') throw new Error('unreachable');
    expect(d.reason).toMatch(/cold start of '.*' takes ~\d+ ms: warming one; retry, or send acceptLate/);
    // Retry-After covers the cold start (the profiles' cold starts are 1-4 s).
    expect(d.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(policy.route(req({ acceptLate: true }), view, state, env)).toMatchObject({ kind: 'lambda', cold: true });
    // The policy's default for requests that do not say: coldSpill 'serve' takes it.
    const serving = createSpillwayPolicy({ exploreShare: 0, coldSpill: 'serve' });
    expect(serving.route(req(), view, serving.init(env, 0), env)).toMatchObject({ kind: 'lambda', cold: true });
    expect(serving.route(req({ acceptLate: false }), view, serving.init(env, 0), env)).toMatchObject({ kind: 'reject', status: 503 });
  });

  it('an SLO below every backend\'s best case is a 422 naming the field, not a retryable 503', () => {
    const view = { nowMs: 1000, vms: [vm('a', primary)], lambda: lambda({ warmIdleByVariant: { [primary]: 5 } }) };
    const d = policy.route(req({ sloMs: 1 }), view, state, env);
    expect(d).toMatchObject({ kind: 'reject', status: 422, field: 'sloMs', retryAfterS: 0 });
    if (d.kind !== 'reject') throw new Error('unreachable');
    expect(d.reason).toMatch(/^sloMs 1 ms is below the fastest any backend can answer 'image-classification' \(~\d+ ms at p99/);
    expect(policy.route(req({ sloMs: 5_000, budgetMs: 1 }), view, state, env)).toMatchObject({ status: 422, field: 'budgetMs' });
    // Pinned: the pinned variant's own best case.
    expect(policy.route(req({ sloMs: 1, variant: primary }), view, state, env)).toMatchObject({ status: 422, field: 'sloMs' });
  });

  it('answers 503 with Retry-After when throttled or at the concurrency limit', () => {
    const vms = [vm('a', primary, { outstanding: 10_000 })];
    const t = policy.route(req(), { nowMs: 1000, vms, lambda: lambda({ throttledUntilMs: 3500 }) }, state, env);
    expect(t).toMatchObject({ kind: 'reject', status: 503, retryAfterS: 3 });
    const c = policy.route(req(), { nowMs: 1000, vms, lambda: lambda({ inFlight: 1000 }) }, state, env);
    expect(c).toMatchObject({ kind: 'reject', status: 503, retryAfterS: 1 });
  });

  it('404 for unknown task or variant, 400 for an unreachable accuracy', () => {
    const view = { nowMs: 1000, vms: [], lambda: lambda() };
    expect(policy.route(req({ task: 'nope' }), view, state, env)).toMatchObject({ kind: 'reject', status: 404 });
    expect(policy.route(req({ variant: 'nope' }), view, state, env)).toMatchObject({ kind: 'reject', status: 404 });
    expect(policy.route(req({ minAccuracy: 99 }), view, state, env)).toMatchObject({ kind: 'reject', status: 400 });
  });

  it('honours minAccuracy and pinned variants', () => {
    const view = { nowMs: 1000, vms: [vm('lo', 'mobilenet_v1_0.5_128_quant'), vm('hi', 'mobilenet_v2_1.0_int8_onnxzoo')], lambda: lambda() };
    for (let i = 0; i < 50; i++) {
      const d = policy.route(req({ minAccuracy: 68 }), view, state, env);
      expect(d).toMatchObject({ kind: 'vm', vmId: 'hi' });
    }
    expect(policy.route(req({ variant: 'mobilenet_v1_0.5_128_quant' }), view, state, env)).toMatchObject({ vmId: 'lo' });
  });

  it('reused view arrays: a VM replaced in place is not confused with the old one', () => {
    const vms: VmView[] = [vm('a', primary, { outstanding: 0 })];
    const view = { nowMs: 1000, vms, lambda: lambda() };
    expect(policy.route(req(), view, state, env)).toMatchObject({ kind: 'vm', vmId: 'a' });
    vms[0] = vm('b', primary, { outstanding: 0 });
    expect(policy.route(req(), view, state, env)).toMatchObject({ kind: 'vm', vmId: 'b' });
    vms[0]!.state = 'booting';
    expect(policy.route(req({ acceptLate: true }), view, state, env).kind).toBe('lambda');
  });

  it('property: a VM decision never exceeds the budget by its own estimate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ outstanding: fc.integer({ min: 0, max: 200 }), slowdown: fc.double({ min: 0.5, max: 5, noNaN: true }), v: fc.integer({ min: 0, max: 4 }) }), { maxLength: 20 }),
        fc.integer({ min: 5, max: 400 }),
        (specs, slo) => {
          const vms = specs.map((s, i) => vm(`v${i}`, REAL_MODELS[s.v]!.name, { outstanding: s.outstanding, slowdown: s.slowdown }));
          const d = policy.route(req({ sloMs: slo }), { nowMs: 1000, vms, lambda: lambda() }, state, env);
          return d.kind !== 'vm' || d.expectedMs <= slo;
        },
      ),
    );
  });
});

describe('queue tail (manual numbers)', () => {
  it('lognormal moments from p50/p99 and the p99 of waiting behind k batches', () => {
    // p99/p50 = e^2.326 -> sigma = 1; mean = p50 x e^0.5, sd = mean x sqrt(e - 1).
    const m = serviceMoments(10, 10 * Math.exp(2.326));
    expect(m.meanMs).toBeCloseTo(10 * Math.exp(0.5), 9);
    expect(m.sdMs).toBeCloseTo(10 * Math.exp(0.5) * Math.sqrt(Math.E - 1), 9);
    expect(serviceMoments(10, 10)).toEqual({ meanMs: 10, sdMs: 0 });
    // Nothing ahead: the service p99 itself. 3 batches ahead (mean 12, sd 4, p99 25):
    // 25 + 3 x 12 + 2.326 x 4 x (2 - 1) = 70.304.
    expect(queueTailMs(0, 25, 12, 4)).toBe(25);
    expect(queueTailMs(3, 25, 12, 4)).toBeCloseTo(70.304, 9);
    // Always above the naive k x p50 + p99 when mean >= p50.
    expect(queueTailMs(12, 31, 14.8, 5.2)).toBeGreaterThan(12 * 14 + 31);
  });
});
