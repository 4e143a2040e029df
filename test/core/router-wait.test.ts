import { describe, expect, it } from 'vitest';
import { LambdaPoolView } from '../../controller/core/host/lambda-view.js';
import type { LambdaView, RouteRequest, VmView } from '../../controller/core/policy-types.js';
import { lambdaWaitFits } from '../../controller/core/router.js';
import { lambdaExpectedMs, type LatencyEstimate } from '../../controller/core/selector.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { makeEnv, REAL_MODELS } from './fixtures.js';

const env = makeEnv(REAL_MODELS);
const policy = createSpillwayPolicy({ exploreShare: 0 });
const initial = policy.init(env, 0);
const primary = Object.keys(initial.shares)[0]!;
const memoryMb = initial.tables.variants[initial.tables.index.get(primary)!]!.plannedMemoryMb;
// One warm answer teaches the invoke overhead (12 ms): waits are admitted only once it is known.
const state = policy.observe(
  { atMs: 0, variant: primary, backend: 'lambda', resourceKey: String(memoryMb), serviceMs: 5, totalMs: 17, sloMs: 250, coldStart: false, violated: false },
  initial,
  env,
);
const row = state.tables.variants[state.tables.index.get(primary)!]!;
const est = row.lambdaEst.get(memoryMb)!;
const req = (over: Partial<RouteRequest> = {}): RouteRequest => ({
  nowMs: 1000,
  task: 'image-classification',
  sloMs: 250,
  minAccuracy: 0,
  inputs: 1,
  ...over,
});
// Every VM full: the request goes to the Lambda pass.
const fullVm: VmView = {
  id: 'a',
  instanceType: 'c5.large',
  variant: primary,
  state: 'ready',
  launchedAtMs: 0,
  readyAtMs: 0,
  outstanding: 100_000,
  slots: 2,
  slowdown: 1,
};
const lambda = (over: Partial<LambdaView> = {}): LambdaView => ({
  memoryMbByVariant: { [primary]: memoryMb },
  warmIdleByVariant: {},
  warmBusyByVariant: {},
  waitingByVariant: {},
  inFlight: 0,
  concurrencyLimit: 8,
  ...over,
});
const route = (lv: LambdaView, p = policy, over: Partial<RouteRequest> = {}) =>
  p.route(req(over), { nowMs: 1000, vms: [fullVm], lambda: lv }, state, env);

describe('waiting for a busy Lambda instance (router lambdaWait)', () => {
  it('lambdaWaitFits: the p99 of k = floor(waiting / busy) + 1 warm invokes ahead + transport; worked number of router.ts', () => {
    const e: LatencyEstimate = {
      p50Ms: 22,
      p99Ms: 60,
      coldStartMs: 300,
      overheadMs: 5,
      n: 100,
    } as LatencyEstimate;
    expect(lambdaWaitFits(e, 0, 0, 250)).toBeUndefined(); // nothing busy: nothing to wait for
    expect(lambdaWaitFits({ ...e, overheadMs: 0 }, 4, 0, 250)).toBeUndefined(); // no warm answer yet: occupancy unknown
    // Admitted waiters with 4 busy instances at a 250 ms budget: the largest `waiting` that still fits, + 1.
    let n = 0;
    while (lambdaWaitFits(e, 4, n, 250)) n++;
    expect(n).toBe(20); // k <= 5: 4 x 5 = 20 waiters (k = 6 is 281 ms)
    expect(lambdaWaitFits(e, 4, 19, 250)!.expectedMs).toBeCloseTo(247.5, 0);
    // A tighter budget admits fewer; more busy instances admit more.
    let m = 0;
    while (lambdaWaitFits(e, 4, m, 150)) m++;
    expect(m).toBeLessThan(n);
    let b = 0;
    while (lambdaWaitFits(e, 8, b, 250)) b++;
    expect(b).toBe(2 * n);
  });

  it('no warm idle and the cold start misses the budget: waits for a busy instance and still warms one', () => {
    expect(est.overheadMs).toBe(12);
    expect(lambdaExpectedMs(est, true)).toBeGreaterThan(250); // the premise: a cold start does not fit
    const d = route(lambda({ warmBusyByVariant: { [primary]: 4 }, inFlight: 4 }));
    expect(d).toMatchObject({
      kind: 'wait',
      variant: primary,
      memoryMb,
      warm: { variant: primary, memoryMb },
    });
    if (d.kind !== 'wait') throw new Error('unreachable');
    // It may wait as long as a warm invoke's p99 still fits after it.
    expect(d.maxWaitMs).toBeCloseTo(250 - lambdaExpectedMs(est, false), 6);
    expect(d.expectedMs).toBeLessThanOrEqual(250);
  });

  it('the queue is bounded by the same rule: past it, a 503 with one instance to warm', () => {
    let waiting = 0;
    while (lambdaWaitFits(est, 4, waiting, 250)) waiting++;
    expect(waiting).toBeGreaterThan(0);
    expect(
      route(lambda({ warmBusyByVariant: { [primary]: 4 }, waitingByVariant: { [primary]: waiting - 1 } })),
    ).toMatchObject({ kind: 'wait' });
    expect(
      route(lambda({ warmBusyByVariant: { [primary]: 4 }, waitingByVariant: { [primary]: waiting } })),
    ).toMatchObject({
      kind: 'reject',
      status: 503,
      warm: { variant: primary },
    });
  });

  it('at the concurrency limit or throttled it waits too (an invoke ending frees the slot), without a warm-up', () => {
    const full = route(lambda({ warmBusyByVariant: { [primary]: 8 }, inFlight: 8 }));
    expect(full).toMatchObject({ kind: 'wait', variant: primary });
    expect(full).not.toHaveProperty('warm');
    const throttled = route(
      lambda({ warmBusyByVariant: { [primary]: 2 }, inFlight: 2, throttledUntilMs: 5000 }),
    );
    expect(throttled).toMatchObject({ kind: 'wait', variant: primary });
    // Nothing warm busy (only cold starts or warm-ups in flight): nothing to wait for.
    expect(route(lambda({ inFlight: 8 }))).toMatchObject({ kind: 'reject', status: 503 });
  });

  it('a warm idle instance, acceptLate or lambdaWait: false never wait', () => {
    expect(
      route(lambda({ warmIdleByVariant: { [primary]: 1 }, warmBusyByVariant: { [primary]: 4 } })),
    ).toMatchObject({ kind: 'lambda', cold: false });
    expect(
      route(lambda({ warmBusyByVariant: { [primary]: 4 } }), policy, { acceptLate: true }),
    ).toMatchObject({ kind: 'lambda', cold: true });
    const noWait = createSpillwayPolicy({ exploreShare: 0, lambdaWait: false });
    const s = noWait.init(env, 0);
    expect(
      noWait.route(
        req(),
        { nowMs: 1000, vms: [fullVm], lambda: lambda({ warmBusyByVariant: { [primary]: 4 } }) },
        s,
        env,
      ),
    ).toMatchObject({
      kind: 'reject',
      status: 503,
    });
  });
});

describe('LambdaPoolView: warm-busy instances and waiters', () => {
  it('counts warm request invokes only, and calls onWarmFreed when a warm instance frees with someone waiting', () => {
    const v = new LambdaPoolView(['m'], 1024, 8, 60_000);
    const freed: string[] = [];
    v.onWarmFreed = (variant) => freed.push(variant);
    // A cold request and a warm-up do not count as warm-busy.
    expect(v.started('m', 0, true)).toBe(false);
    expect(v.view.warmBusyByVariant!.m).toBe(0);
    v.ended('m', 300, true, false); // now one idle-warm
    expect(v.started('m', 400, true)).toBe(true);
    expect(v.view.warmBusyByVariant!.m).toBe(1);
    v.waitStarted('m');
    expect(v.view.waitingByVariant!.m).toBe(1);
    v.ended('m', 420, true, true);
    expect(v.view.warmBusyByVariant!.m).toBe(0);
    expect(freed).toEqual(['m']);
    v.waitEnded('m');
    // Nobody waiting: no call. A retiring instance (memory changed mid-invoke) frees nothing.
    v.started('m', 500, true);
    v.ended('m', 520, true, true);
    expect(freed).toEqual(['m']);
    v.started('m', 600, true);
    v.waitStarted('m');
    v.memoryApplied('m', 2048);
    v.ended('m', 620, true, true);
    expect(freed).toEqual(['m']);
    expect(v.view.warmBusyByVariant!.m).toBe(0);
  });
});
