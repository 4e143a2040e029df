/**
 * The Lambda warm pool: its size (core/warm-pool.ts), how the one policy host turns it into
 * warm-up invokes (core/host/tick-actions.ts), and that the Spillway policy asks for one.
 * The host is driven by a fixed-decision policy so each rule is seen on its own.
 */
import { describe, expect, it } from 'vitest';
import { PolicyHost } from '../../controller/core/host/policy-host.js';
import type { Policy, TickDecision } from '../../controller/core/policy-types.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { poissonQuantile, warmPoolTargets } from '../../controller/core/warm-pool.js';
import { REAL_MODELS, makeEnv } from './fixtures.js';
import { PolicyHarness } from './harness.js';

/** P(Poisson(mean) <= k), summed directly. */
function poissonCdf(mean: number, k: number): number {
  let pmf = Math.exp(-mean);
  let cdf = pmf;
  for (let i = 1; i <= k; i++) {
    pmf *= mean / i;
    cdf += pmf;
  }
  return cdf;
}

describe('poissonQuantile', () => {
  it('is the smallest k whose CDF reaches q (hand-checked: Poisson(1.2) -> 6 at 99.9 %, 4 at 99 %)', () => {
    expect(poissonQuantile(1.2, 0.999)).toBe(6);
    expect(poissonQuantile(1.2, 0.99)).toBe(4);
    expect(poissonQuantile(0, 0.999)).toBe(0);
    for (const mean of [0.05, 0.5, 3, 17, 120]) {
      for (const q of [0.9, 0.99, 0.999]) {
        const k = poissonQuantile(mean, q);
        expect(poissonCdf(mean, k)).toBeGreaterThanOrEqual(q);
        if (k > 0) expect(poissonCdf(mean, k - 1)).toBeLessThan(q);
      }
    }
  });

  it('the normal approximation above mean 200 stays within 2 of the exact quantile', () => {
    // Exact at 200 (loop), approximate at 200.001 (normal): the two sides of the switch agree.
    const exact = poissonQuantile(200, 0.999);
    expect(Math.abs(poissonQuantile(200.001, 0.999) - exact)).toBeLessThanOrEqual(2);
    expect(poissonCdf(400, poissonQuantile(400, 0.999))).toBeGreaterThanOrEqual(0.999);
  });
});

describe('warmPoolTargets', () => {
  const base = { quantile: 0.999, concurrencyLimit: 100, occupancyMs: { a: 45, b: 45 } };
  it('holds the demand quantile of what ready VMs do not carry, at least 1 per variant in the mix', () => {
    // 30 rps x 0.9 share = 27 rps on a at 45 ms -> mean 1.2 -> 6; b at 3 rps -> mean 0.135 -> 2.
    expect(warmPoolTargets({ ...base, planRps: 30, shares: { a: 0.9, b: 0.1 }, readyVmRps: {} })).toEqual({ a: 6, b: 2 });
    // A ready VM carrying all of a's load: 1 instance stays warm for the spill.
    expect(warmPoolTargets({ ...base, planRps: 30, shares: { a: 0.9, b: 0.1 }, readyVmRps: { a: 50 } })).toEqual({ a: 1, b: 2 });
    // A variant out of the mix gets none.
    expect(warmPoolTargets({ ...base, planRps: 30, shares: { a: 1, b: 0 }, readyVmRps: {} })).toEqual({ a: 6 });
  });

  it('also covers the largest ready VM: its traffic moves to Lambda at once when it slows or fails', () => {
    // Two ready VMs of a, 40 + 20 rps, for a's 27 rps: without the largest, 20 rps < 27 -> 7 rps on
    // Lambda at 45 ms = mean 0.315 -> 3 warm; one 60 rps VM alone -> all 27 rps -> 6 warm.
    const shares = { a: 0.9, b: 0.1 };
    expect(warmPoolTargets({ ...base, planRps: 30, shares, readyVmRps: { a: 60 }, largestReadyVmRps: { a: 40 } })).toEqual({ a: 3, b: 2 });
    expect(warmPoolTargets({ ...base, planRps: 30, shares, readyVmRps: { a: 60 }, largestReadyVmRps: { a: 60 } })).toEqual({ a: 6, b: 2 });
    // Worked number in warm-pool.ts: one 64 rps VM carrying all of 64 rps at 45 ms -> 9.
    expect(warmPoolTargets({ ...base, planRps: 64, shares: { a: 1 }, readyVmRps: { a: 64 }, largestReadyVmRps: { a: 64 } })).toEqual({ a: 9 });
  });

  it('scales down to the concurrency it may use, and quantile 0 turns it off', () => {
    const t = warmPoolTargets({ ...base, planRps: 1000, shares: { a: 0.5, b: 0.5 }, readyVmRps: {}, concurrencyLimit: 10 });
    expect(t['a']! + t['b']!).toBeLessThanOrEqual(10);
    expect(t['a']).toBeGreaterThanOrEqual(1);
    expect(warmPoolTargets({ ...base, quantile: 0, planRps: 30, shares: { a: 1 }, readyVmRps: {} })).toEqual({});
  });
});

describe('the policy host turns the warm pool into warm-ups', () => {
  const env = { ...makeEnv(REAL_MODELS), lambdaConcurrencyLimit: 8 };
  const v = env.variants[0]!.name;
  const decision = (warm: number, memoryMb = 1024): TickDecision => ({
    launch: [],
    terminate: [],
    lambdaMemoryMb: { [v]: memoryMb },
    variantShares: { [v]: 1 },
    lambdaWarm: { [v]: warm },
    forecastRps: 1,
    notes: [],
  });
  const fixed = (d: () => TickDecision): Policy<null> => ({
    name: 'fixed',
    usesLambda: true,
    init: () => null,
    route: () => ({ kind: 'reject', status: 503, reason: 'test', retryAfterS: 1 }),
    observe: (_c, s) => s,
    tick: () => ({ decision: d(), state: null }),
  });
  const host = (d: () => TickDecision) =>
    new PolicyHost(fixed(d), env, { limits: {}, lambdaMemoryMb: 1024, lambdaKeepAliveMs: 60_000, nowMs: 0 });

  it('warms the shortfall once, holds the slots until the warm-ups end, then rests', () => {
    const h = host(() => decision(3));
    const t1 = h.tick(1_000);
    expect(t1.actions.warmUp).toEqual([{ variant: v, count: 3, memoryMb: 1024 }]);
    expect(h.lambda.view.inFlight).toBe(3);
    // Still warming: nothing more is sent.
    expect(h.tick(2_000).actions.warmUp).toEqual([]);
    for (let i = 0; i < 3; i++) h.warmUpEnded(v, 2_500, true);
    expect(h.lambda.view.warmIdleByVariant[v]).toBe(3);
    expect(h.tick(3_000).actions.warmUp).toEqual([]);
  });

  it('renews idle instances past half the keep-alive: target - busy invokes touch every one', () => {
    const h = host(() => decision(3));
    h.tick(1_000);
    for (let i = 0; i < 3; i++) h.warmUpEnded(v, 2_000, true);
    expect(h.tick(20_000).actions.warmUp).toEqual([]); // idle 18 s < 30 s
    expect(h.tick(33_000).actions.warmUp).toEqual([{ variant: v, count: 3, memoryMb: 1024 }]);
    // The renewed instances are idle again from their end, not from before.
    for (let i = 0; i < 3; i++) h.warmUpEnded(v, 33_010, true);
    expect(h.tick(50_000).actions.warmUp).toEqual([]); // idle 17 s since the renewal (47 s since the first warm-up)
    expect(h.tick(70_000).actions.warmUp).toEqual([{ variant: v, count: 3, memoryMb: 1024 }]);
  });

  it('never warms more than half the concurrency at once, and a memory change re-warms at the new size', () => {
    const h = host(() => decision(20));
    expect(h.tick(1_000).actions.warmUp).toEqual([{ variant: v, count: 4, memoryMb: 1024 }]);
    expect(h.lambda.view.inFlight).toBe(4);
    for (let i = 0; i < 4; i++) h.warmUpEnded(v, 2_000, true);
    // The next tick sends 4 again; they land on the 4 idle instances (a warm-up invoke takes an idle
    // one first, as on Lambda), so warm-ups alone hold at most half the pool warm: traffic grows the rest.
    expect(h.tick(3_000).actions.warmUp).toEqual([{ variant: v, count: 4, memoryMb: 1024 }]);
    for (let i = 0; i < 4; i++) h.warmUpEnded(v, 4_000, true);
    expect(h.lambda.view.warmIdleByVariant[v]).toBe(4);
    let mem = 1024;
    const h2 = host(() => decision(2, mem));
    h2.tick(1_000);
    h2.warmUpEnded(v, 1_500, true);
    h2.warmUpEnded(v, 1_500, true);
    mem = 2048;
    const t = h2.tick(3_000);
    expect(t.actions.setMemory).toEqual([{ variant: v, memoryMb: 2048 }]);
    expect(t.actions.warmUp).toEqual([{ variant: v, count: 2, memoryMb: 2048 }]);
  });

  it('the Spillway policy asks for at least one warm instance of every variant in its mix', () => {
    const h = new PolicyHost(createSpillwayPolicy({ exploreShare: 0 }), env, {
      limits: {},
      lambdaMemoryMb: 1024,
      lambdaKeepAliveMs: 60_000,
      nowMs: 0,
    });
    h.arrived(50);
    const t = h.tick(5_000);
    const mix = Object.entries(t.decision.variantShares).filter(([, s]) => s > 0);
    expect(mix.length).toBeGreaterThan(0);
    for (const [name] of mix) expect(t.decision.lambdaWarm?.[name]).toBeGreaterThanOrEqual(1);
    expect(t.actions.warmUp.reduce((a, w) => a + w.count, 0)).toBeGreaterThanOrEqual(mix.length);
  });
});

describe('warm pool for the variant the booting VMs will serve', () => {
  it('while a VM boots, its variant already has warm Lambda instances (the spill when it is ready is not cold)', () => {
    const env = makeEnv(REAL_MODELS, { instanceTypes: ['c7a.medium'] });
    const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0 }), env, () => 60_000);
    let launched: string | undefined;
    // 60 rps: Lambda serves shufflenet while the plan buys a mobilenet-v2 VM (the demo's case).
    for (let i = 0; i < 60 && !launched; i++) launched = h.tick(60).launch[0]?.variant;
    expect(launched).toBeDefined();
    // Still booting (60 s): the decision warms the launched VM's variant too.
    const d = h.tick(60);
    expect(d.variantShares[launched!] ?? 0).toBe(0); // not in today's routing mix
    expect(h.vms.some((vm) => vm.state === 'booting' && vm.variant === launched)).toBe(true);
    expect(d.lambdaWarm?.[launched!]).toBeGreaterThanOrEqual(1);
  });
});
