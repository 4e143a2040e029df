import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RouteRequest } from '../../controller/core/policy-types.js';
import { createSpillwayPolicy, type SpillwayState } from '../../controller/core/spillway-policy.js';
import { catalog, makeEnv, REAL_MODELS } from './fixtures.js';
import { PolicyHarness } from './harness.js';

const boot = (t: string): number => catalog.ec2.instanceTypes.find((x) => x.name === t)!.typicalBootDelayMs;
const req: RouteRequest = { nowMs: 0, task: 'image-classification', sloMs: 200, minAccuracy: 0, inputs: 1 };

function routeNow(h: PolicyHarness<SpillwayState>) {
  return h.route(req);
}

/**
 * Where a request goes while Lambda carries the load: the first one finds the pool cold, gets a
 * 503 and starts a warm-up (a cold start would miss its 200 ms); from the next tick on, Lambda.
 */
function lambdaOrWarming(h: PolicyHarness<SpillwayState>, first: boolean): string {
  const d = routeNow(h);
  return first && d.kind === 'reject' && d.warm ? 'lambda' : d.kind;
}

describe('Spillway policy: load step up', () => {
  it('buys VMs once the new level has lasted long enough to beat Lambda; Lambda covers until they are ready, then VMs serve', () => {
    const env = makeEnv(REAL_MODELS);
    const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0 }), env, boot);
    for (let i = 0; i < 30; i++) expect(h.tick(0).launch).toEqual([]);
    // The marginal-VM rule waits until the step carries enough of the (exponentially weighted)
    // recent load that a new VM's slice is busier than u* x (1 + boot / hold): a few ticks, never
    // more than the ski-rental window. Meanwhile Lambda serves everything.
    let d = h.tick(800);
    let waited = 1;
    while (d.launch.length === 0 && waited < 60) {
      expect(lambdaOrWarming(h, waited === 1)).toBe('lambda');
      d = h.tick(800);
      waited++;
    }
    const launched = d.launch.reduce((a, l) => a + l.count, 0);
    expect(launched).toBeGreaterThan(0);
    expect(waited).toBeLessThan(60);
    expect(d.forecastRps).toBeGreaterThanOrEqual(800);
    // During the boot gap every request goes to Lambda.
    const firstReady = Math.min(...d.launch.map((l) => boot(l.instanceType)));
    const launchedAt = h.nowMs;
    while (h.nowMs + env.tickIntervalMs < launchedAt + firstReady) {
      h.tick(800);
      expect(h.readyCount()).toBe(0);
      expect(routeNow(h).kind).toBe('lambda');
    }
    for (let i = 0; i < 60; i++) h.tick(800);
    expect(h.readyCount()).toBeGreaterThan(0);
    expect(routeNow(h).kind).toBe('vm');
    // Once the level is steady, the fleet covers it up to at most one partly-busy VM (the
    // fractional top-up above the last full VM is Lambda's when it is below break-even), and no
    // more than the load plus one VM.
    const caps = h.vms.map((vm) => env.variants.find((v) => v.name === vm.variant)!.profile.instances.find((x) => x.instanceType === vm.instanceType)!.throughputRps);
    const total = caps.reduce((a, b) => a + b, 0);
    const biggest = Math.max(...caps);
    expect(total).toBeGreaterThanOrEqual(800 - biggest);
    expect(total * 0.8).toBeLessThanOrEqual(800 + biggest);
  });
});

describe('Spillway policy: load drop', () => {
  it('scales in only after the hysteresis window and never before the 60 s billing minimum', () => {
    const env = makeEnv(REAL_MODELS);
    const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0 }), env, boot);
    for (let i = 0; i < 40; i++) h.tick(800);
    const fleet = h.vms.length;
    expect(fleet).toBeGreaterThan(0);
    expect(h.stopped).toEqual([]);
    const dropTick = h.decisions.length;
    for (let i = 0; i < 4; i++) expect(h.tick(0).terminate).toEqual([]);
    for (let i = 0; i < 200 && h.vms.length > 0; i++) h.tick(0);
    expect(h.vms.length).toBe(0);
    for (const s of h.stopped) expect(s.ageMs).toBeGreaterThanOrEqual(60_000);
    const firstStop = h.decisions.findIndex((d) => d.decision.terminate.length > 0);
    expect(firstStop).toBeGreaterThanOrEqual(dropTick + 4);
  });

  it('a VM whose plan vanishes within 60 s is kept until its billing minimum', () => {
    const env = makeEnv(REAL_MODELS);
    const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0, scaleDownTicks: 1, horizonMs: 10_000, maxScaleDownWindowMs: 0 }), env, boot);
    h.tick(0);
    const d = h.tick(800);
    expect(d.launch.length).toBeGreaterThan(0);
    const launchedAt = h.nowMs;
    for (let i = 0; i < 30; i++) h.tick(0);
    expect(h.stopped.length).toBeGreaterThan(0);
    for (const s of h.stopped) {
      expect(s.ageMs).toBeGreaterThanOrEqual(60_000);
      expect(s.atMs).toBeGreaterThanOrEqual(launchedAt + 60_000);
    }
  });
});

describe('Spillway policy properties', () => {
  it('no flapping: a key launched at tick i is not scaled in before tick i + window; stops respect 60 s', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        (loads, window) => {
          const env = makeEnv(REAL_MODELS.slice(0, 3));
          const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0, scaleDownTicks: window }), env, boot);
          const lastLaunch = new Map<string, number>();
          for (const [i, rps] of loads.entries()) {
            const before = new Map(h.vms.map((v) => [v.id, `${v.instanceType}|${v.variant}`]));
            const d = h.tick(rps);
            for (const id of d.terminate) {
              const k = before.get(id)!;
              const li = lastLaunch.get(k);
              if (li !== undefined && i - li < window) return false;
            }
            for (const l of d.launch) lastLaunch.set(`${l.instanceType}|${l.variant}`, i);
            let sum = 0;
            for (const s of Object.values(d.variantShares)) {
              if (s < 0) return false;
              sum += s;
            }
            if (Math.abs(sum - 1) > 1e-6) return false;
            for (const m of Object.values(d.lambdaMemoryMb)) {
              if (m < catalog.lambda.minMemoryMb || m > catalog.lambda.maxMemoryMb) return false;
            }
          }
          return h.stopped.every((s) => s.ageMs >= 60_000);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('Spillway policy: interference', () => {
  it('replaces a VM that stays slowed down, and routes around it meanwhile', () => {
    const env = makeEnv(REAL_MODELS.slice(0, 2));
    const policy = createSpillwayPolicy({ exploreShare: 0 });
    const h = new PolicyHarness(policy, env, boot);
    for (let i = 0; i < 20; i++) h.tick(600);
    const ready = h.vms.filter((v) => v.state === 'ready');
    expect(ready.length).toBeGreaterThanOrEqual(2);
    const bad = ready[0]!;
    const est = h.state.selector.estimates.get(`${bad.variant}|vm|${bad.instanceType}`)!;
    // Its peers (same type and variant) answer at the profile's median: the bad VM is 3x slower
    // than its type's learned figure, not merely slower than the profile.
    const peers = ready.filter((v) => v.id !== bad.id && v.instanceType === bad.instanceType && v.variant === bad.variant);
    expect(peers.length).toBeGreaterThanOrEqual(1);
    let replacedAt = -1;
    let peerReplaced = false;
    for (let t = 0; t < 6 && replacedAt < 0; t++) {
      for (let k = 0; k < 20; k++) {
        for (const vm of [bad, ...peers]) {
          const ms = est.priorP50Ms * (vm === bad ? 3 : 1);
          h.state = policy.observe(
            { atMs: h.nowMs + k, variant: vm.variant, backend: 'vm', resourceKey: vm.instanceType, vmId: vm.id, serviceMs: ms, totalMs: ms, sloMs: 200, coldStart: false, violated: false },
            h.state,
            env,
          );
        }
      }
      const d = h.tick(600);
      if (d.notes.some((n) => n.startsWith(`replace ${bad.id}:`))) replacedAt = t;
      peerReplaced ||= peers.some((p) => d.notes.some((n) => n.startsWith(`replace ${p.id}:`)));
    }
    expect(replacedAt).toBeGreaterThanOrEqual(2); // 3 consecutive degraded observed ticks
    expect(peerReplaced).toBe(false);
    expect(h.vms.find((v) => v.id === bad.id)).toBeUndefined();
  });
});

describe('Spillway policy: short spikes go to Lambda', () => {
  it('does not keep VMs for a peak that lasts one tick in ten (their utilisation is below break-even)', () => {
    const env = makeEnv(REAL_MODELS.slice(0, 1), { instanceTypes: ['c5.large'] });
    const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0 }), env, boot);
    let last = h.tick(300);
    for (let i = 1; i < 120; i++) last = h.tick(i % 10 === 0 ? 3000 : 300);
    const p = env.variants[0]!.profile.instances.find((x) => x.instanceType === 'c5.large')!;
    const vmCapacity = h.vms.length * p.throughputRps * 0.8;
    // The forecast covers the spikes; the fleet does not: the excess is planned onto Lambda.
    expect(last.forecastRps).toBeGreaterThan(2000);
    expect(vmCapacity).toBeLessThan(last.forecastRps);
    expect(vmCapacity).toBeGreaterThanOrEqual(300);
    expect(h.decisions.some((d) => d.decision.notes.some((n) => n.includes('left to Lambda')))).toBe(true);
  });
});

describe('Spillway policy robustness', () => {
  it('property: tick/observe/route never throw on odd observations (unknown variants, NaN, empty)', () => {
    const env = makeEnv(REAL_MODELS.slice(0, 2));
    const names = [REAL_MODELS[0]!.name, REAL_MODELS[1]!.name, 'unknown-variant'];
    const types = ['c5.large', 'c6g.large', 'no-such-type'];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            rps: fc.oneof(fc.double({ min: 0, max: 5000, noNaN: true }), fc.constant(Number.NaN), fc.constant(-1)),
            vms: fc.array(
              fc.record({ v: fc.integer({ min: 0, max: 2 }), t: fc.integer({ min: 0, max: 2 }), st: fc.constantFrom('booting', 'ready', 'draining') as fc.Arbitrary<'booting' | 'ready' | 'draining'>, out: fc.integer({ min: 0, max: 50 }), slots: fc.integer({ min: 0, max: 4 }) }),
              { maxLength: 6 },
            ),
            done: fc.array(fc.record({ v: fc.integer({ min: 0, max: 2 }), ms: fc.oneof(fc.double({ min: 0, max: 5000, noNaN: true }), fc.constant(Number.NaN)), lambda: fc.boolean(), cold: fc.boolean() }), { maxLength: 5 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (steps) => {
          const policy = createSpillwayPolicy();
          let state = policy.init(env, 0);
          const history: number[] = [];
          steps.forEach((st, i) => {
            const now = (i + 1) * env.tickIntervalMs;
            const vms = st.vms.map((x, j) => ({ id: `vm${j}`, instanceType: types[x.t]!, variant: names[x.v]!, state: x.st, launchedAtMs: 0, outstanding: x.out, slots: x.slots, slowdown: 1 }));
            const completions = st.done.map((d) => ({ atMs: now, variant: names[d.v]!, backend: (d.lambda ? 'lambda' : 'vm') as 'lambda' | 'vm', resourceKey: d.lambda ? '2048' : 'c5.large', vmId: 'vm0', serviceMs: d.ms, totalMs: d.ms, sloMs: 200, coldStart: d.cold, violated: false }));
            for (const c of completions) state = policy.observe(c, state, env);
            history.push(st.rps);
            const lambda = { memoryMbByVariant: {}, warmIdleByVariant: {}, inFlight: 0, concurrencyLimit: 1000 };
            const r = policy.tick({ nowMs: now, arrivalRpsHistory: history, vms, lambda, completions, observedBootDelayMs: { 'c5.large': [70_000] } }, state, env);
            state = r.state;
            policy.route({ nowMs: now, task: 'image-classification', sloMs: 200, minAccuracy: 0, inputs: 1 }, { nowMs: now, vms, lambda }, state, env);
          });
          return true;
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('Spillway policy: learned boot delay', () => {
  it('stretches the provisioning horizon to the observed boot delay (catalog prior until then)', () => {
    const env = makeEnv(REAL_MODELS.slice(0, 1), { instanceTypes: ['c5.large'] });
    const policy = createSpillwayPolicy();
    let state = policy.init(env, 0);
    const lambda = { memoryMbByVariant: {}, warmIdleByVariant: {}, inFlight: 0, concurrencyLimit: 1000 };
    const obs = (now: number, boot: Record<string, number[]>) => ({ nowMs: now, arrivalRpsHistory: [100], vms: [], lambda, completions: [], observedBootDelayMs: boot });
    state = policy.tick(obs(10_000, {}), state, env).state;
    expect(state.horizonMs).toBe(100_000); // 90 s catalog prior + 10 s tick
    state = policy.tick(obs(20_000, { 'c5.large': [180_000, 200_000, 190_000] }), state, env).state;
    expect(state.horizonMs).toBe(200_000); // median 190 s + tick
  });
});

describe('Spillway policy: stuck boot', () => {
  it('replaces a VM that is still booting after 3x its boot delay', () => {
    const env = makeEnv(REAL_MODELS.slice(0, 1), { instanceTypes: ['c5.large'] });
    const h = new PolicyHarness(createSpillwayPolicy({ exploreShare: 0 }), env, () => Number.POSITIVE_INFINITY);
    h.tick(800);
    const first = h.vms.map((v) => v.id);
    expect(first.length).toBeGreaterThan(0);
    for (let i = 0; i < 26; i++) h.tick(800); // 270 s = 3 x 90 s
    expect(h.stopped.map((s) => s.id)).toEqual([]);
    h.tick(800);
    h.tick(800);
    expect(h.stopped.map((s) => s.id).sort()).toEqual([...first].sort());
    // Replacements were launched in the same tick.
    expect(h.vms.length).toBeGreaterThanOrEqual(first.length);
  });
});
