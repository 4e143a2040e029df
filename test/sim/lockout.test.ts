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
import { runScenario } from '../../controller/sim/scenario.js';

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
    });
    const row = (p: string) => s.rows.find((r) => r.policy === p)!;
    const sp = row('spillway');
    const mark = row('mark');
    expect(sp.violationPct).toBeLessThan(1);
    expect(sp.lambdaPct).toBeLessThan(30);
    expect(sp.vmUtilisationPct).toBeGreaterThan(40);
    expect(sp.totalUsd).toBeLessThan(1.5 * mark.totalUsd);
    // No healthy VM replaced: on a steady load there is nothing to replace.
    const res = s.results.find((r) => r.policy === 'spillway')!;
    expect(res.tickNotes.filter((n) => /replace .*slowdown/.test(n))).toEqual([]);
  }, 120_000);
});
