/**
 * Cluster routers see the whole queue of a shared VM (core/vm-load.ts): the load a VM reports on
 * its answers adds the other routers' requests to this router's own count while fresh; without a
 * fresh report a router keeps to its slot share. The single process (no report fields) routes as
 * before. Real spillway policy.route on the fixture profiles; the FleetView arithmetic too.
 */
import { describe, expect, it } from 'vitest';
import { FleetView } from '../../controller/core/host/fleet-view.js';
import type { LambdaView, RouteRequest, VmView } from '../../controller/core/policy-types.js';
import { createSpillwayPolicy } from '../../controller/core/spillway-policy.js';
import { LOAD_REPORT_FRESH_MS, vmQueue } from '../../controller/core/vm-load.js';
import { makeEnv, REAL_MODELS, readyVm } from './fixtures.js';

const env = makeEnv(REAL_MODELS);
const policy = createSpillwayPolicy({ exploreShare: 0 });
const state = policy.init(env, 0);
const primary = Object.keys(state.shares)[0]!;
const lambda: LambdaView = {
  memoryMbByVariant: {},
  warmIdleByVariant: {},
  inFlight: 0,
  concurrencyLimit: 1000,
};
const req: RouteRequest = {
  nowMs: 10_000,
  task: 'image-classification',
  sloMs: 200,
  minAccuracy: 0,
  inputs: 1,
};
const vm = (id: string, over: Partial<VmView> = {}): VmView => readyVm(id, { variant: primary, readyAtMs: 1_000, ...over });

describe('vmQueue', () => {
  it('own count only without reports (single process, simulator)', () => {
    expect(vmQueue(vm('a', { outstanding: 3 }), 10_000)).toEqual({ outstanding: 3, slots: 2 });
  });
  it('adds the others while the report is fresh; falls back to the slot share once stale', () => {
    const v = vm('a', {
      outstanding: 1,
      othersOutstanding: 6,
      othersReportedAtMs: 10_000,
      slotsWithoutReport: 1,
    });
    expect(vmQueue(v, 10_000 + LOAD_REPORT_FRESH_MS)).toEqual({ outstanding: 7, slots: 2 });
    expect(vmQueue(v, 10_001 + LOAD_REPORT_FRESH_MS)).toEqual({ outstanding: 1, slots: 1 });
  });
});

describe('routing on reported load', () => {
  it("a VM busy with other routers' work loses to an idle one, though this router has nothing on either", () => {
    const busy = vm('busy', { othersOutstanding: 8, othersReportedAtMs: 9_900 });
    const idle = vm('idle', { othersOutstanding: 0, othersReportedAtMs: 9_900 });
    expect(policy.route(req, { nowMs: 10_000, vms: [busy, idle], lambda }, state, env)).toMatchObject({
      kind: 'vm',
      vmId: 'idle',
    });
    // Without the reports the first VM wins the tie (the scan stops at an idle slot).
    const blind = [vm('busy'), vm('idle')];
    expect(policy.route(req, { nowMs: 10_000, vms: blind, lambda }, state, env)).toMatchObject({
      kind: 'vm',
      vmId: 'busy',
    });
  });

  it('a VM whose reported queue misses the budget is not chosen: the request spills', () => {
    const full = vm('full', { othersOutstanding: 10_000, othersReportedAtMs: 9_990 });
    const d = policy.route(
      { ...req, acceptLate: true },
      { nowMs: 10_000, vms: [full], lambda: { ...lambda, warmIdleByVariant: { [primary]: 1 } } },
      state,
      env,
    );
    expect(d).toMatchObject({ kind: 'lambda' });
  });
});

describe('FleetView.loadReported', () => {
  it("others = the VM's count minus this router's own outstanding (the answered request is in both)", () => {
    const f = new FleetView();
    f.sync(
      [
        {
          id: 'a',
          instanceType: 'c5.large',
          variant: primary,
          state: 'ready',
          launchedAtMs: 0,
          readyAtMs: 1,
          slots: 2,
          slotsWithoutReport: 1,
        },
      ],
      0,
    );
    f.dispatched('a');
    f.dispatched('a');
    f.loadReported('a', 5, 100);
    f.finished('a');
    expect(f.get('a')).toMatchObject({
      outstanding: 1,
      othersOutstanding: 3,
      othersReportedAtMs: 100,
      slotsWithoutReport: 1,
    });
    // A VM reporting less than this router holds (its answer raced ours) means no others, not negative.
    f.loadReported('a', 0, 200);
    expect(f.get('a')!.othersOutstanding).toBe(0);
  });
});
