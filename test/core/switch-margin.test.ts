/**
 * Variant-switch hysteresis (spillway-policy.ts switchMargin): on a noisy load near the point where
 * two (type, variant) plans cost about the same, the fleet keeps what it runs instead of buying the
 * other one and dropping the first at every swing. Manual clock, the shared policy host.
 */
import { describe, expect, it } from 'vitest';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { Rng } from '../../controller/sim/rng.js';
import { makeEnv, REAL_MODELS } from './fixtures.js';
import { PolicyHarness } from './harness.js';

function churn(level: number, switchMargin: number) {
  const env = makeEnv(REAL_MODELS, { instanceTypes: ['c7a.medium', 'c5.large'] });
  const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0, switchMargin }), env, () => 20_000);
  const rng = new Rng(7);
  let launches = 0;
  let terminations = 0;
  const notes: string[] = [];
  for (let i = 0; i < 150; i++) {
    // +-25 % around the level, a new draw every tick (a busy, bursty arrival rate).
    const d = h.tick(level * (1 + 0.25 * (2 * rng.uniform() - 1)));
    for (const l of d.launch) launches += l.count;
    terminations += d.terminate.length;
    notes.push(...d.notes);
  }
  return { launches, terminations, notes };
}

describe('variant-switch hysteresis', () => {
  it('120 rps +-25 %: without a margin the fleet churns; with the default 10 % it keeps what runs', () => {
    const free = churn(120, 0);
    const held = churn(120, 0.1);
    expect(free.launches).toBeGreaterThanOrEqual(8); // the churn the margin is for (measured: 11)
    expect(held.launches).toBeLessThanOrEqual(free.launches / 2);
    expect(held.terminations).toBeLessThanOrEqual(free.terminations / 2);
    expect(held.notes.some((n) => /kept the running .* % better \(switch margin 10 %\)/.test(n))).toBe(true);
    expect(free.notes.some((n) => n.includes('kept the running'))).toBe(false);
  });

  it('a clearly better plan still wins: the load grows 4x and the fleet follows', () => {
    const env = makeEnv(REAL_MODELS, { instanceTypes: ['c7a.medium', 'c5.large'] });
    const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0 }), env, () => 20_000);
    for (let i = 0; i < 40; i++) h.tick(100);
    const before = h.vms.length;
    for (let i = 0; i < 40; i++) h.tick(400);
    expect(h.vms.length).toBeGreaterThan(before);
  });
});
