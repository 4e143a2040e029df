/**
 * Baselines at their best (issue 10 item 1): the same VM admission rule and Lambda right-sizing as
 * Spillway, vm-peak as the smallest static fleet without violations, MArk without a forced VM, and
 * the two new baselines (LIBRA as its simulator, Lambda Managed Instances), on tiny synthetic traces.
 */
import { describe, expect, it } from 'vitest';
import type { LambdaView, RouteRequest, TickObservation, VmView } from '../../controller/core/policy-types.js';
import { profileLambdaMemory } from '../../controller/core/lambda-memory.js';
import { vmAdmissionLimit } from '../../controller/core/router.js';
import { vmPrior } from '../../controller/core/selector.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { BASELINE_LAMBDA_OVERHEAD_MS, vmAdmissionCap } from '../../controller/sim/baselines/common.js';
import type { FleetState } from '../../controller/sim/baselines/fleet.js';
import { createLibraPolicy, LIBRA, libraDecision, libraStep, type LibraEwma } from '../../controller/sim/baselines/libra.js';
import { createLmiPolicy, LMI_BILLING, lmiCap } from '../../controller/sim/baselines/lmi.js';
import { markVmCount } from '../../controller/sim/baselines/mark.js';
import { smallestStaticFleet } from '../../controller/sim/baselines/vm-peak.js';
import { readyVm } from '../core/fixtures.js';
import { createPolicy } from '../../controller/sim/policies.js';
import { runScenario } from '../../controller/sim/scenario.js';
import { simulate } from '../../controller/sim/simulator.js';
import { vmBilledCostUsd } from '../../profiles/pricing.js';
import { envWith, makeProfile, makeTrace } from './helpers.js';

// One variant, c5.large only: p50 = 8 / c + 2 ms at batch 1, p99/p50 2 (a heavy tail, as the real profiles).
const profile = makeProfile({ variant: 'm', etaMs: 2, gammaMs: 8, p99OverP50: 2, maxMeasuredBatch: 1 });
const lambda: LambdaView = { memoryMbByVariant: {}, warmIdleByVariant: { m: 100 }, inFlight: 0, concurrencyLimit: 1000 };
const vm = (id: string, outstanding = 0, slots = 2): VmView => readyVm(id, { outstanding, slots });
const req = (nowMs: number, sloMs: number): RouteRequest => ({ nowMs, task: 'image-classification', sloMs, minAccuracy: 0, inputs: 1 });
const obsAt = (nowMs: number, history: number[], vms: VmView[] = []): TickObservation => ({
  nowMs,
  arrivalRpsHistory: history,
  vms,
  lambda,
  completions: [],
  observedBootDelayMs: {},
});

describe('one VM admission rule for Spillway and every VM baseline', () => {
  for (const slo of [30, 60, 200]) {
    it(`SLO ${slo} ms: a baseline admits a request exactly when Spillway's router (before learning) would`, () => {
      const env = envWith([profile], slo, ['c5.large']);
      const p = vmPrior(profile, 'c5.large');
      const cap = vmAdmissionCap(env, env.variants[0]!, 'c5.large', 2);
      expect(cap).toBe(vmAdmissionLimit(p.p50Ms, p.p99Ms, 2, 2, slo));
      const spillway = createSpillwayPolicy({ exploreShare: 0 });
      const state = spillway.init(env, 0);
      for (let n = 0; n <= cap + 4; n++) {
        const d = spillway.route(req(1000, slo), { nowMs: 1000, vms: [vm('a', n)], lambda }, state, env);
        expect(d.kind === 'vm', `outstanding ${n}, cap ${cap}`).toBe(n < cap);
      }
      for (const name of ['mark', 'spock', 'libra']) {
        const pol = createPolicy(name, { peakRps: 100, minAccuracy: 0 });
        const s = pol.init(env, 0);
        // LIBRA routes to VMs only within provision_for: give it a quota first.
        if (name === 'libra') (s as { provisionFor: number }).provisionFor = 1_000_000;
        for (let n = 0; n <= cap + 4; n++) {
          const d = pol.route(req(1000, slo), { nowMs: 1000, vms: [vm('a', n)], lambda }, s, env);
          expect(d.kind === 'vm', `${name}: outstanding ${n}, cap ${cap}`).toBe(n < cap);
        }
      }
    });
  }
});

describe('Lambda at the cheapest memory meeting the SLO (Spillway helper) for every Lambda baseline', () => {
  it('lambda-only, mark, spock and libra all run the memory profileLambdaMemory picks, and it is cheaper than 3,008 MB', () => {
    const env = envWith([profile], 200, ['c5.large']);
    const want = profileLambdaMemory(env, env.variants[0]!, { overheadMs: BASELINE_LAMBDA_OVERHEAD_MS });
    expect(want.fits).toBe(true);
    expect(want.memoryMb).toBeLessThan(3008);
    for (const name of ['lambda-only', 'mark', 'spock', 'libra']) {
      const pol = createPolicy(name, { peakRps: 100, minAccuracy: 0 });
      const s = pol.init(env, 0);
      const { decision } = pol.tick(obsAt(10_000, [50]), s, env);
      expect(decision.lambdaMemoryMb.m, name).toBe(want.memoryMb);
    }
  });
});

describe('vm-peak: the smallest static fleet with no violations', () => {
  it('search: smallest n with zero violations; a floor of violations no fleet removes is tolerated (+10 % + 2)', () => {
    expect(smallestStaticFleet((n) => Math.max(0, 10 - 2 * n), 2).count).toBe(5);
    expect(smallestStaticFleet((n) => (n < 4 ? 100 : 3), 2)).toMatchObject({ count: 4, floor: 3 });
    expect(smallestStaticFleet(() => 0, 3).count).toBe(1);
  });

  it('in a scenario, vm-peak runs the searched size: no violations, and one VM fewer is not enough', async () => {
    const env = envWith([profile], 200, ['c5.large']);
    const cap = profile.instances.find((i) => i.instanceType === 'c5.large')!.throughputRps;
    const rps = Array.from({ length: 600 }, (_, i) => (i >= 300 && i < 360 ? 2.5 * cap : 0.6 * cap));
    const trace = makeTrace(rps);
    // The optimistic world, as the direct simulate() below runs (same arrivals, same service draws).
    const s = await runScenario({ trace, sloMs: 200, minAccuracy: 0, policies: ['vm-peak'], seed: 1, instanceTypes: ['c5.large'], profiles: new Map([['m', profile]]), world: 'optimistic' });
    const r = s.results[0]!;
    expect(r.violations).toBe(0);
    const n = r.vmLaunches;
    expect(s.profileNotes.some((x) => x.startsWith(`vm-peak: ${n} VM(s)`))).toBe(true);
    const fewer = simulate(trace, createPolicy('vm-peak', { peakRps: trace.peakRps, minAccuracy: 0, vmPeakCount: n - 1 }), env, { seed: 1 });
    expect(fewer.violations).toBeGreaterThan(0);
  });
});

describe('mark: no VM it does not pay for', () => {
  it('buys the top, partial VM only when its load costs more on Lambda than the VM', () => {
    // 100 rps per VM at $0.10/h vs Lambda at $1/M: a VM pays off above 27.8 rps.
    expect(markVmCount(0, 100, 0.1, 1e-6)).toBe(0);
    expect(markVmCount(20, 100, 0.1, 1e-6)).toBe(0);
    expect(markVmCount(30, 100, 0.1, 1e-6)).toBe(1);
    expect(markVmCount(220, 100, 0.1, 1e-6)).toBe(2);
    expect(markVmCount(230, 100, 0.1, 1e-6)).toBe(3);
  });

  it('at a low load MArk keeps no VM at all', () => {
    const env = envWith([profile], 200, ['c5.large']);
    const r = simulate(makeTrace(new Array(600).fill(0.5)), createPolicy('mark', { peakRps: 0.5, minAccuracy: 0 }), env, { seed: 1 });
    expect(r.vmLaunches).toBe(0);
    expect(r.lambdaShare).toBe(1);
  });
});

describe('libra: as its simulator (manager.py)', () => {
  it('EWMA of the per-second load and of its absolute deviation (alpha = mu = 0.2), deviation from the old mean', () => {
    const e: LibraEwma = { mean: undefined, dev: 0 };
    for (const x of [100, 120, 80]) libraStep(e, x);
    // dev: 0 -> 0.2 x |100 - 120| = 4 -> 0.8 x 4 + 0.2 x |104 - 80| = 8; mean: 100 -> 104 -> 99.2.
    expect(e.mean).toBeCloseTo(99.2, 12);
    expect(e.dev).toBeCloseTo(8, 12);
    // vm_share = int(99.2 + 8) = 107; VMs = ceil(107 / 50) = 3; provision_for = int(0.8 x 107) = 85.
    expect(libraDecision(e, 50)).toEqual({ vmShare: 107, vms: 3, provisionFor: 85 });
  });

  it('decides every 300 s; of each second the first provision_for go to VMs, the rest to Lambda; a scale-out applies after 100 s', () => {
    const env = envWith([profile], 200, ['c5.large']);
    const cap = profile.instances.find((i) => i.instanceType === 'c5.large')!.throughputRps;
    const pol = createLibraPolicy({ peakRps: 100, minAccuracy: 0 });
    let s = pol.init(env, 0);
    const vms = Array.from({ length: 20 }, (_, i) => vm(`v${i}`));
    // 0.4 of one VM's capacity, then 1.5 VMs' worth from 400 s on.
    const lo = Math.round(0.4 * cap);
    const perSecond = (t: number) => (t < 400 ? lo : Math.round(1.5 * cap));
    const toVm: number[] = [];
    const launches: Array<{ t: number; n: number }> = [];
    for (let t = 0; t < 1000; t++) {
      if (t % 10 === 0) {
        const { decision, state } = pol.tick(obsAt(t * 1000, [perSecond(Math.max(0, t - 1))], vms.slice(0, s.targetVms)), s, env);
        s = state;
        const n = decision.launch.reduce((a, l) => a + l.count, 0);
        if (n > 0) launches.push({ t, n });
      }
      let v = 0;
      for (let i = 0; i < perSecond(t); i++) if (pol.route(req(t * 1000 + i, 200), { nowMs: t * 1000 + i, vms, lambda }, s, env).kind === 'vm') v++;
      toVm.push(v);
    }
    // t = 0: seeded with the first rate, no deviation: vm_share = lo, provision_for int(0.8 lo), at once.
    const p0 = Math.trunc(0.8 * lo);
    expect(toVm[5]).toBe(p0);
    expect(toVm[350]).toBe(p0);
    // The step at 400 s is seen at the decision at 600 s (not before); more VMs are launched then,
    // and the new provision_for applies from 700 s (the 100 s VM cold start).
    expect(toVm[599]).toBe(p0);
    expect(toVm[650]).toBe(p0);
    expect(launches.some((l) => l.t === 600)).toBe(true);
    const e: LibraEwma = { mean: undefined, dev: 0 };
    for (let t = 0; t < 600; t++) libraStep(e, perSecond(t));
    const d600 = libraDecision(e, cap);
    expect(toVm[710]).toBe(d600.provisionFor);
    expect(d600.vms).toBeGreaterThan(1);
    expect(d600.provisionFor).toBeGreaterThan(p0);
    expect(LIBRA.updateEveryMs).toBe(300_000);
  });
});

describe('lmi: Lambda Managed Instances', () => {
  const env = envWith([profile], 200, ['c5.large']);
  const cap = profile.instances.find((i) => i.instanceType === 'c5.large')!.throughputRps;

  it('keeps at least 3 instances at zero load', () => {
    const r = simulate(makeTrace(new Array(900).fill(0)), createLmiPolicy({ peakRps: 0, minAccuracy: 0 }), env, { seed: 1 });
    expect(Math.min(...r.series.vmCount)).toBe(3);
  });

  it('scale-out throttle: the fleet at most doubles within 5 minutes; what does not fit is throttled, not queued', () => {
    expect(lmiCap([3, 3, 4], 4, 30)).toBe(6);
    expect(lmiCap([], 3, 30)).toBe(6);
    // 1 -> 20 VMs worth of load at t = 10 min.
    const rps = Array.from({ length: 1800 }, (_, i) => (i < 600 ? 0.5 * cap : 20 * cap));
    const r = simulate(makeTrace(rps), createLmiPolicy({ peakRps: 20 * cap, minAccuracy: 0 }), env, { seed: 1 });
    const counts = r.series.vmCount;
    for (let m = 5; m < counts.length; m++) expect(counts[m]!, `minute ${m}`).toBeLessThanOrEqual(2 * Math.min(...counts.slice(m - 5, m)));
    expect(r.rejected).toBeGreaterThan(0);
    expect(r.lambdaShare).toBe(0);
  });

  it('is billed EC2 x 1.15 + $0.20 per million requests', () => {
    const r = simulate(makeTrace(new Array(600).fill(cap)), createLmiPolicy({ peakRps: cap, minAccuracy: 0 }), env, { seed: 1 });
    const plain = r.vmTimeline.reduce((a, v) => a + vmBilledCostUsd(env.catalog, 'c5.large', v.stoppedAtMs - v.launchedAtMs), 0);
    expect(r.cost.ec2Usd).toBeCloseTo(plain * LMI_BILLING.priceFactor, 9);
    expect(r.cost.lambdaComputeUsd).toBe(0);
    expect(r.cost.lambdaRequestsUsd).toBeCloseTo((r.served * 0.2) / 1e6, 12);
    const s: FleetState = createLmiPolicy({ peakRps: cap, minAccuracy: 0 }).init(env, 0);
    expect(s.lambdaMemoryMb).toBeUndefined();
  });
});
