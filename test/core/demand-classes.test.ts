/**
 * Demand classes (core/demand-classes.ts): the plan is made for what the requests ask, learned
 * from arrivals through the one policy host, not from an accuracy floor configured beside them.
 */
import { describe, expect, it } from 'vitest';
import { demandClassOf, initialDemand, updateDemand } from '../../controller/core/demand-classes.js';
import { PolicyHost } from '../../controller/core/host/policy-host.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { REAL_MODELS, makeEnv } from './fixtures.js';

const env = { ...makeEnv(REAL_MODELS), lambdaConcurrencyLimit: 100 };
const task = env.variants[0]!.task;
const accOf = (name: string) => env.variants.find((v) => v.name === name)!.accuracyTop1;

describe('demandClassOf', () => {
  it('puts floors that admit the same variants in one class, keyed by the lowest admitted accuracy', () => {
    const a = demandClassOf(env.variants, { task, minAccuracy: 65 })!;
    const b = demandClassOf(env.variants, { task, minAccuracy: 66 })!;
    expect(a.key).toBe(b.key);
    expect(a.floor).toBe(66.12);
    expect([...a.variants].sort()).toEqual(env.variants.filter((v) => (v.accuracyTop1 ?? -1) >= 65).map((v) => v.name).sort());
    // 0 is "any": every variant, including the one without a published accuracy.
    const any = demandClassOf(env.variants, { task, minAccuracy: 0 })!;
    expect(any.floor).toBe(Number.NEGATIVE_INFINITY);
    expect(any.variants.length).toBe(env.variants.length);
    // Nothing reaches 99 %; an unknown task has no class.
    expect(demandClassOf(env.variants, { task, minAccuracy: 99 })).toBeUndefined();
    expect(demandClassOf(env.variants, { task: 'nope', minAccuracy: 0 })).toBeUndefined();
    const pinned = demandClassOf(env.variants, { task, minAccuracy: 0, variant: env.variants[2]!.name })!;
    expect(pinned.variants).toEqual([env.variants[2]!.name]);
  });

  it('a task never has more classes than variants + 1, whatever floats callers send (randomised)', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const keys = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const c = demandClassOf(env.variants, { task, minAccuracy: rand() * 100 });
      if (c) keys.add(c.key);
    }
    expect(keys.size).toBeLessThanOrEqual(env.variants.length + 1);
  });
});

describe('updateDemand', () => {
  it('replaces the prior on the first observed tick, then moves 20 % per tick and forgets dead classes', () => {
    let d = initialDemand(env.variants);
    expect(Object.keys(d.shares)).toEqual([`${task}@any`]);
    d = updateDemand(env.variants, d, [{ task, minAccuracy: 65, count: 30 }]);
    expect(d.shares).toEqual({ [`${task}@66.12`]: 1 });
    d = updateDemand(env.variants, d, [{ task, minAccuracy: 0, count: 10 }]);
    expect(d.shares[`${task}@any`]).toBeCloseTo(0.2, 10);
    expect(d.shares[`${task}@66.12`]).toBeCloseTo(0.8, 10);
    // A tick without arrivals keeps the mix.
    expect(updateDemand(env.variants, d, [])).toBe(d);
    // 0.8^28 < 0.002: after 28 ticks of "any" only, the 66.12 class is gone.
    for (let i = 0; i < 28; i++) d = updateDemand(env.variants, d, [{ task, minAccuracy: 0, count: 10 }]);
    expect(Object.keys(d.shares)).toEqual([`${task}@any`]);
    expect(Object.keys(d.classes)).toEqual([`${task}@any`]);
  });
});

describe('the Spillway policy plans for the classes that arrive', () => {
  const host = () =>
    new PolicyHost(createSpillwayPolicy({ exploreShare: 0 }), env, { limits: {}, lambdaMemoryMb: 1024, lambdaKeepAliveMs: 60_000, nowMs: 0 });
  const send = (h: PolicyHost, atMs: number, n: number, minAccuracy: number) => {
    for (let i = 0; i < n; i++) h.route({ nowMs: atMs, task, sloMs: 250, minAccuracy, inputs: 1 });
  };

  it('requests asking >= 65 % get a mix and a warm pool of admitted variants only', () => {
    const h = host();
    send(h, 1_000, 100, 65);
    const t = h.tick(5_000);
    const mix = Object.entries(t.decision.variantShares).filter(([, s]) => s > 0);
    expect(mix.length).toBeGreaterThan(0);
    for (const [name] of mix) expect(accOf(name)).toBeGreaterThanOrEqual(65);
    for (const name of Object.keys(t.decision.lambdaWarm ?? {})) expect(accOf(name)).toBeGreaterThanOrEqual(65);
    // And the router sends them there.
    const d = h.route({ nowMs: 5_001, task, sloMs: 250, minAccuracy: 65, inputs: 1 });
    if (d.kind !== 'reject') expect(accOf(d.variant)).toBeGreaterThanOrEqual(65);
  });

  it('a mixed demand is planned per class: shares weighted by demand, each class on its own variants', () => {
    const h = host();
    send(h, 1_000, 70, 0);
    send(h, 1_000, 30, 67);
    const t = h.tick(5_000);
    const shares = t.decision.variantShares;
    const total = Object.values(shares).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 6);
    // At least 30 % of the traffic is planned on variants reaching 67 % (only mobilenet-v2 zoo, 68.3).
    const accurate = Object.entries(shares).filter(([n]) => (accOf(n) ?? -1) >= 67).reduce((a, [, s]) => a + s, 0);
    expect(accurate).toBeGreaterThanOrEqual(0.3 - 1e-9);
    expect(t.decision.notes.some((n) => n.includes(`${task}@68.3`))).toBe(true);
  });
});
