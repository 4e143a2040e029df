/**
 * Warm-ups through the one policy host: a reject that asks for one keeps it only while the pool
 * has a free slot, and the warm-up occupies that slot until the driver reports its end, after
 * which the next request finds a warm instance.
 */
import { describe, expect, it } from 'vitest';
import { PolicyHost } from '../../controller/core/host/policy-host.js';
import type { RouteRequest } from '../../controller/core/policy-types.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { warmAtStart } from '../../controller/loop/warm-up.js';
import { REAL_MODELS, makeEnv } from './fixtures.js';

const env = { ...makeEnv(REAL_MODELS), lambdaConcurrencyLimit: 8 };
const req = (nowMs: number): RouteRequest => ({ nowMs, task: 'image-classification', sloMs: 200, minAccuracy: 0, inputs: 1 });
const host = () =>
  new PolicyHost(createSpillwayPolicy({ exploreShare: 0 }), env, {
    limits: { maxVms: 2 },
    lambdaMemoryMb: 1024,
    lambdaKeepAliveMs: 60_000,
    nowMs: 0,
  });

describe('warm-ups in the policy host', () => {
  it('a burst of 40 on a cold pool of 8: 40 x 503, 4 warm-ups (half the pool), each holding a slot', () => {
    const h = host();
    const ds = Array.from({ length: 40 }, () => h.route(req(1_000)));
    expect(ds.every((d) => d.kind === 'reject' && d.status === 503)).toBe(true);
    expect(ds.filter((d) => d.kind === 'reject' && d.warm).length).toBe(4);
    expect(h.totals.warmUps).toBe(4);
    expect(h.lambda.view.inFlight).toBe(4);
    // The other half of the pool stays free for requests: a warm instance there would be used.
    const after = ds[4]!;
    expect(after.kind === 'reject' && after.warm).toBeFalsy();
    // A warm-up that ends frees its warming share: the next reject may warm again.
    h.warmUpEnded(ds[0]!.kind === 'reject' ? ds[0]!.warm!.variant : '', 1_500, false);
    expect(h.route(req(1_600))).toMatchObject({ kind: 'reject', warm: expect.any(Object) });
  });

  it('once a warm-up ends, the next request goes to the warm instance; a failed one leaves the pool cold', () => {
    const h = host();
    const first = h.route(req(1_000));
    expect(first).toMatchObject({ kind: 'reject', warm: { variant: expect.any(String) } });
    const variant = first.kind === 'reject' ? first.warm!.variant : '';
    h.warmUpEnded(variant, 3_000, true, { billedDurationMs: 2_000, memoryMb: 1024 });
    expect(h.lambda.view.inFlight).toBe(0);
    expect(h.route(req(3_100))).toMatchObject({ kind: 'lambda', variant, cold: false });

    const h2 = host();
    const d2 = h2.route(req(1_000));
    h2.warmUpEnded(d2.kind === 'reject' ? d2.warm!.variant : '', 3_000, false);
    expect(h2.route(req(3_100))).toMatchObject({ kind: 'reject', warm: expect.any(Object) });
  });

  it('a throttled pool starts no warm-up', () => {
    const h = host();
    h.lambda.throttled(0, 10_000);
    const d = h.route(req(1_000));
    expect(d).toMatchObject({ kind: 'reject', status: 503 });
    expect(d.kind === 'reject' && d.warm).toBeFalsy();
    expect(h.totals.warmUps).toBe(0);
  });

  it('a throttle lifts when an invocation ends (a slot is free), not only when its backoff runs out', () => {
    const h = host();
    const v = h.env.variants[0]!.name;
    h.lambda.started(v, 900);
    h.lambda.throttled(1_000);
    expect(h.lambda.view.throttledUntilMs).toBe(2_000);
    h.lambda.ended(v, 1_020, true);
    expect(h.lambda.view.throttledUntilMs).toBeUndefined();
  });
});

describe('warmAtStart (stand-in pool: warm() resolves on the next macrotask)', () => {
  const pool = (ok: boolean) => ({
    warm: (_v: string, _t: number) =>
      new Promise<{ billedDurationMs: number; memoryMb: number }>((resolve, reject) =>
        setTimeout(() => (ok ? resolve({ billedDurationMs: 5, memoryMb: 1024 }) : reject(new Error('function error'))), 0),
      ),
  });
  it('warms every variant although warm-ups may hold only half the pool at once (5 variants, concurrency 8)', async () => {
    const h = host();
    const names = env.variants.map((v) => v.name);
    expect(names.length).toBe(5);
    const n = await warmAtStart({ host: h, pool: pool(true) as never, timeoutMs: 1_000, now: () => 1_000 }, names, 1);
    expect(n).toBe(5);
    for (const v of names) expect(h.lambda.view.warmIdleByVariant[v]).toBe(1);
  });
  it('a function that fails its warm-ups is tried once per wave, never forever', async () => {
    const h = host();
    const names = env.variants.map((v) => v.name);
    const n = await warmAtStart({ host: h, pool: pool(false) as never, timeoutMs: 1_000, now: () => 1_000 }, names, 1);
    expect(n).toBe(4);
    expect(h.lambda.view.inFlight).toBe(0);
  });
});
