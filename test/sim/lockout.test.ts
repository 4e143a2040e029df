/**
 * Regression for the latency lock-out at tight SLOs (issue 10 item 5). At SLO 60 ms the router can
 * queue at most one batch behind each VM slot (shufflenet: p99 31 ms idle, ~57 ms with one batch
 * ahead), so a VM whose learned slowdown drifted above ~1.16 by chance took no queued requests, an
 * estimate above ~1.9 took none at all, the estimate then never came back, and the interference
 * check replaced a healthy VM: Spillway paid for VMs and sent most traffic to Lambda (Twitter, 1 h,
 * 100 rps, accuracy >= 65: $0.234 with 68 % on Lambda vs MArk's $0.089). On this steady synthetic
 * trace the old code put 81 % on Lambda at 3.5x MArk's cost; fixed: 10 % at 1.23x.
 */
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../controller/core/policy-types.js';
import { createSpillwayPolicy, type SpillwayState } from '../../controller/core/spillway-policy.js';
import { buildEnv, loadSimProfiles, runScenario } from '../../controller/sim/scenario.js';
import { simulate } from '../../controller/sim/simulator.js';
import { loadTrace } from '../../controller/sim/trace.js';
import { loadCatalog } from '../../profiles/catalog.js';

describe('no latency lock-out at a tight SLO (60 ms, measured profiles)', () => {
  it('Spillway keeps its VMs busy: Lambda share and cost vs MArk within bounds', async () => {
    const s = await runScenario({
      trace: 'builtin:steady',
      meanRps: 100,
      hours: 0.5,
      sloMs: 60,
      minAccuracy: 65,
      policies: ['spillway', 'mark'],
      seed: 1,
      // The world the case was reported in (the policies' own model): old code 81 % on Lambda, 3.5x MArk.
      world: 'optimistic',
    });
    const row = (p: string) => s.rows.find((r) => r.policy === p)!;
    const sp = row('spillway');
    const mark = row('mark');
    expect(sp.violationPct).toBeLessThan(1);
    expect(sp.lambdaPct).toBeLessThan(30);
    expect(sp.vmUtilisationPct).toBeGreaterThan(40);
    expect(sp.totalUsd).toBeLessThan(1.5 * mark.totalUsd);
  }, 120_000);

  it('no healthy VM is replaced for slowness (every tick decision inspected)', async () => {
    const catalog = loadCatalog();
    const { profiles } = await loadSimProfiles(catalog);
    const env = buildEnv(catalog, profiles, { sloMs: 60 });
    const inner = createSpillwayPolicy();
    let replaced = 0;
    let ticks = 0;
    const policy: Policy<SpillwayState> = {
      ...inner,
      tick(obs, state, e) {
        const r = inner.tick(obs, state, e);
        ticks++;
        replaced += r.decision.notes.filter((n) => /^replace .*slowdown/.test(n)).length;
        return r;
      },
    };
    const r = simulate(loadTrace('builtin:steady', { meanRps: 100, hours: 0.5 }), policy, env, { seed: 1, minAccuracy: 65 });
    expect(ticks).toBeGreaterThan(150);
    expect(r.served).toBeGreaterThan(100_000);
    // A steady load on healthy VMs: nothing to replace.
    expect(replaced).toBe(0);
  }, 120_000);
});
