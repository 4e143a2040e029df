/**
 * Several routers, one fleet (issue 12): each router sees only its own dispatches between the VMs'
 * load reports, so least-loaded picks the same VM in every router (herding). With
 * view.routers > 1 the router picks by two choices, drawn per router (plan-doc.ts routerSeed).
 * Real spillway policy.route on the fixture profiles; each router has its own copy of the same
 * plan state, as cluster routers do.
 */
import { describe, expect, it } from 'vitest';
import { routerSeed } from '../../controller/cluster/plan-doc.js';
import type { LambdaView, RouteRequest, RouterView, VmView } from '../../controller/core/policy-types.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { makeEnv, REAL_MODELS, readyVm } from './fixtures.js';

const env = makeEnv(REAL_MODELS);
const policy = createSpillwayPolicy({ exploreShare: 0 });
const primary = Object.keys(policy.init(env, 0).shares)[0]!;
const lambda: LambdaView = { memoryMbByVariant: {}, warmIdleByVariant: {}, inFlight: 0, concurrencyLimit: 0 };
const req: RouteRequest = {
  nowMs: 10_000,
  task: 'image-classification',
  sloMs: 5_000,
  minAccuracy: 0,
  inputs: 1,
};

/** No fresh report: each router keeps to its share of the slots (2 slots, 3 routers -> 1). */
const vm = (id: string): VmView => readyVm(id, { variant: primary, readyAtMs: 1_000, slotsWithoutReport: 1 });

/** `routers` routers each place `perRouter` requests that stay in flight; returns requests per VM. */
function place(
  routers: number,
  perRouter: number,
  vmCount: number,
  twoChoices: boolean,
): Map<string, number> {
  const total = new Map<string, number>();
  for (let r = 0; r < routers; r++) {
    const state = policy.init(env, 0); // the same plan in every router
    const vms = Array.from({ length: vmCount }, (_, k) => vm(`vm-${k}`));
    const view: RouterView = {
      nowMs: req.nowMs,
      vms,
      lambda,
      ...(twoChoices ? { routers, routerSeed: routerSeed(`router-${r}`) } : {}),
    };
    for (let k = 0; k < perRouter; k++) {
      const d = policy.route(req, view, state, env);
      expect(d.kind).toBe('vm');
      if (d.kind !== 'vm') continue;
      const v = vms.find((x) => x.id === d.vmId)!;
      (v as { outstanding: number }).outstanding++;
      total.set(d.vmId, (total.get(d.vmId) ?? 0) + 1);
    }
  }
  return total;
}

const maxOf = (m: Map<string, number>) => Math.max(...m.values());

describe('two choices across routers', () => {
  it('least-loaded herds: 3 routers x 2 requests land on the same 2 of 8 VMs', () => {
    const m = place(3, 2, 8, false);
    expect(m.size).toBe(2);
    expect(maxOf(m)).toBe(3);
  });

  it('two choices spreads the same requests over more VMs, with a lower peak', () => {
    const m = place(3, 2, 8, true);
    expect(m.size).toBeGreaterThanOrEqual(4);
    expect(maxOf(m)).toBeLessThanOrEqual(2);
  });

  it('over many draws the busiest VM holds fewer requests than under least-loaded (10 routers, 20 VMs)', () => {
    const ll = place(10, 2, 20, false);
    const tc = place(10, 2, 20, true);
    console.log(
      `20 requests from 10 routers on 20 VMs: least-loaded ${ll.size} VMs, peak ${maxOf(ll)}; two choices ${tc.size} VMs, peak ${maxOf(tc)}`,
    );
    expect(maxOf(ll)).toBe(10);
    expect(maxOf(tc)).toBeLessThanOrEqual(4);
    expect(tc.size).toBeGreaterThan(ll.size * 3);
  });

  it('one router alone keeps least-loaded (exact view: the first idle slot wins)', () => {
    const state = policy.init(env, 0);
    const vms = [vm('a'), vm('b')];
    const d = policy.route(req, { nowMs: req.nowMs, vms, lambda, routers: 1 }, state, env);
    expect(d).toMatchObject({ kind: 'vm', vmId: 'a' });
  });

  it('a VM that cannot meet the budget is never a choice', () => {
    const state = policy.init(env, 0);
    const vms = [vm('a'), vm('b'), vm('c')];
    (vms[0] as { outstanding: number }).outstanding = 10_000;
    (vms[1] as { outstanding: number }).outstanding = 10_000;
    for (let k = 0; k < 20; k++) {
      const d = policy.route(req, { nowMs: req.nowMs, vms, lambda, routers: 3, routerSeed: k }, state, env);
      expect(d).toMatchObject({ kind: 'vm', vmId: 'c' });
    }
  });
});
