/**
 * The latency lock-out at tight SLOs (issue 10 item 5), as unit scenarios with a manual clock: a
 * VM whose learned slowdown drifts up by chance must not be starved of traffic (so the estimate
 * can come back) nor replaced, while a VM really slower than its peers still is.
 */
import { describe, expect, it } from 'vitest';
import type { CompletionRecord, LambdaView, VmView } from '../../controller/core/policy-types.js';
import { initInterference, observeVmService, tickInterference } from '../../controller/core/interference.js';
import { createSpillwayPolicy, type SpillwayState } from '../../controller/core/spillway-policy.js';
import { Rng } from '../../controller/sim/rng.js';
import { catalog, makeEnv, readyVm, REAL_MODELS } from './fixtures.js';
import { PolicyHarness } from './harness.js';

const boot = (t: string): number => catalog.ec2.instanceTypes.find((x) => x.name === t)!.typicalBootDelayMs;

/** A lognormal service time with median `p50` and shape p99/p50 = 2.2 (shufflenet's profile). */
function noisy(rng: Rng, p50: number): number {
  return p50 * Math.exp((Math.log(2.2) / 2.326) * rng.normal());
}

describe('interference: relative, significant, decaying', () => {
  it('a healthy VM with a heavy-tailed service time is never replaced and its router slowdown stays ~1 (30 min at 100 rps)', () => {
    const rng = new Rng(7);
    let s = initInterference();
    const vms = [readyVm('a'), readyVm('b')];
    let replaced = 0;
    let slowTicks = 0;
    for (let tick = 1; tick <= 180; tick++) {
      for (let i = 0; i < 500; i++) {
        const at = (tick - 1) * 10_000 + i * 20;
        for (const vm of vms) observeVmService(s, vm.id, noisy(rng, 14), 14, 0, at);
      }
      const r = tickInterference(s, vms, tick * 10_000);
      s = r.state;
      replaced += r.replace.length;
      for (const vm of vms) if (s.byVm.get(vm.id)!.slowdown > 1.16) slowTicks++;
    }
    expect(replaced).toBe(0);
    // 1.16 is what a c5.large with one batch queued can carry at a 60 ms SLO (router.ts queueTailMs).
    expect(slowTicks / 360).toBeLessThan(0.05);
  });

  it('a VM 3x slower than its two peers is replaced after 3 observed ticks; the peers are not', () => {
    const rng = new Rng(3);
    let s = initInterference();
    const vms = [readyVm('bad'), readyVm('p1'), readyVm('p2')];
    const replacedAt: Record<string, number> = {};
    for (let tick = 1; tick <= 10; tick++) {
      for (let i = 0; i < 50; i++) {
        const at = (tick - 1) * 10_000 + i * 200;
        observeVmService(s, 'bad', noisy(rng, 42), 14, 0, at);
        observeVmService(s, 'p1', noisy(rng, 14), 14, 0, at);
        observeVmService(s, 'p2', noisy(rng, 14), 14, 0, at);
      }
      const r = tickInterference(s, vms, tick * 10_000);
      s = r.state;
      for (const id of r.replace) replacedAt[id] ??= tick;
    }
    expect(Object.keys(replacedAt)).toEqual(['bad']);
    expect(replacedAt.bad).toBeGreaterThanOrEqual(3);
    expect(replacedAt.bad).toBeLessThanOrEqual(5);
    // Meanwhile the router already sees most of it.
    expect(s.byVm.get('bad')!.slowdown).toBeGreaterThan(2);
  });

  it('ticks without observations neither count towards a replacement nor freeze the slowdown: it decays toward 1', () => {
    let s = initInterference();
    const vms = [readyVm('a'), readyVm('b')];
    for (let i = 0; i < 40; i++) {
      observeVmService(s, 'b', 14, 14, 0, i * 100);
      observeVmService(s, 'a', 14, 14, 0, i * 100);
    }
    s = tickInterference(s, vms, 10_000).state;
    // A chance run of slow answers on 'a' (each within the 2.2x tail), then no traffic for 'a'.
    for (let i = 0; i < 10; i++) observeVmService(s, 'a', 14 * 2.2, 14, 0, 10_000 + i * 100);
    const peak = s.byVm.get('a')!.slowdown;
    expect(peak).toBeGreaterThan(1.1);
    let replaced = false;
    for (let tick = 2; tick <= 20; tick++) {
      for (let i = 0; i < 40; i++) observeVmService(s, 'b', 14, 14, 0, tick * 10_000 + i * 100);
      const r = tickInterference(s, vms, (tick + 1) * 10_000);
      s = r.state;
      replaced ||= r.replace.includes('a');
    }
    expect(replaced).toBe(false);
    expect(s.byVm.get('a')!.slowdown).toBeLessThan(1 + (peak - 1) / 4);
  });
});

describe('router: an idle VM that has not been observed for a while gets a probe', () => {
  const env = makeEnv(REAL_MODELS.slice(1, 2), { sloMs: 60, instanceTypes: ['c5.large'] });
  const lambda: LambdaView = { memoryMbByVariant: {}, warmIdleByVariant: { [REAL_MODELS[1]!.name]: 5 }, inFlight: 0, concurrencyLimit: 1000 };
  const variant = REAL_MODELS[1]!.name;

  it('a VM whose slowdown says its idle p99 misses the budget is skipped, except for one probe after probeIntervalMs', () => {
    const policy = createSpillwayPolicy({ exploreShare: 0 });
    const state = policy.init(env, 0);
    const est = state.selector.estimates.get(`${variant}|vm|c5.large`)!;
    // A slowdown that puts even an idle VM's p99 past the 60 ms budget.
    const sd = 61 / est.p99Ms;
    state.interference.byVm.set('v', {
      slowdown: sd,
      logMean: Math.log(sd),
      refLog: 0,
      peerRefLog: undefined,
      logVar: 0.01,
      samples: 50,
      recent: 0,
      degradedSamples: 0,
      degradedTicks: 0,
      lastObsMs: 100_000,
    });
    const vms = [readyVm('v', { variant })];
    const at = (nowMs: number, outstanding = 0) =>
      policy.route({ nowMs, task: 'image-classification', sloMs: 60, minAccuracy: 0, inputs: 1 }, { nowMs, vms: [{ ...vms[0]!, outstanding }], lambda }, state, env);
    expect(at(101_000).kind).toBe('lambda');
    expect(at(106_000)).toMatchObject({ kind: 'vm', vmId: 'v' });
    // Not while a request is already on it (at most one probe in flight).
    expect(at(106_000, 1).kind).toBe('lambda');
  });
});

describe('Spillway policy: a chance drift does not lock a VM out (manual clock)', () => {
  it('a VM with a burst of slow answers and then no traffic is not replaced, and is routed to again', () => {
    const env = makeEnv(REAL_MODELS.slice(1, 2), { sloMs: 60, instanceTypes: ['c5.large'] });
    const policy = createSpillwayPolicy({ exploreShare: 0 });
    const h = new PolicyHarness<SpillwayState>(policy, env, boot);
    for (let i = 0; i < 20; i++) h.tick(900);
    const ready = h.vms.filter((v) => v.state === 'ready');
    expect(ready.length).toBeGreaterThanOrEqual(2);
    const [a, b] = ready as [VmView, VmView];
    const est = h.state.selector.estimates.get(`${a.variant}|vm|${a.instanceType}`)!;
    const done = (vmId: string, serviceMs: number, atMs: number): CompletionRecord => ({
      atMs,
      variant: a.variant,
      backend: 'vm',
      resourceKey: a.instanceType,
      vmId,
      serviceMs,
      totalMs: serviceMs + 1,
      sloMs: 60,
      coldStart: false,
      violated: false,
    });
    for (let i = 0; i < 30; i++) {
      for (const vm of ready) h.state = policy.observe(done(vm.id, est.priorP50Ms, h.nowMs - 5000 + i * 100), h.state, env);
    }
    h.tick(900);
    // A short burst of slow answers on a (3x the median for 12 requests, e.g. a pause), then the
    // router sends it nothing more this scenario: no evidence either way from then on.
    for (let i = 0; i < 12; i++) h.state = policy.observe(done(a.id, est.priorP50Ms * 3, h.nowMs + i * 10), h.state, env);
    let replacedA = false;
    for (let t = 0; t < 8; t++) {
      const completions = Array.from({ length: 20 }, (_, i) => done(b.id, est.priorP50Ms, h.nowMs + i * 100));
      for (const c of completions) h.state = policy.observe(c, h.state, env);
      const d = h.tick(900);
      replacedA ||= d.notes.some((n) => n.startsWith(`replace ${a.id}`));
    }
    expect(replacedA).toBe(false);
    expect(h.vms.some((v) => v.id === a.id)).toBe(true);
    // Busy peers, a idle: the next request goes to a.
    for (const vm of h.vms) if (vm.id !== a.id && vm.state === 'ready') h.host.fleet.dispatched(vm.id, 3);
    expect(h.route({ nowMs: h.nowMs, task: 'image-classification', sloMs: 60, minAccuracy: 0, inputs: 1 })).toMatchObject({ kind: 'vm', vmId: a.id });
  });
});
