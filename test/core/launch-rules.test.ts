/**
 * The launch and lifecycle rules the AWS world follows, as pure decisions on a manual clock:
 * quota backoff, stable launch tokens per intended launch, when an unlisted VM may be forgotten,
 * the VM server layout (slots) and the warm estimate after a Lambda memory change.
 */
import { describe, expect, it } from 'vitest';
import { LambdaPoolView } from '../../controller/core/host/lambda-view.js';
import { PolicyHost } from '../../controller/core/host/policy-host.js';
import { launchAllowed, launchBackoffAfterRefusal } from '../../controller/core/launch-backoff.js';
import type { Policy, TickDecision } from '../../controller/core/policy-types.js';
import { keepUnlistedVm, UNLISTED_VM_GRACE_MS } from '../../controller/core/unlisted-vm.js';
import { vmServerLayout } from '../../controller/core/vm-layout.js';
import { ConfigError } from '../../controller/errors.js';
import { makeEnv, REAL_MODELS } from './fixtures.js';

const VARIANT = REAL_MODELS[0]!.name;

/** A policy whose every tick asks for the scripted launches (the planner is not under test here). */
function scripted(launch: TickDecision['launch']): Policy<null> {
  return {
    name: 'scripted',
    usesLambda: false,
    init: () => null,
    tick: (_obs, state) => ({
      decision: { launch: launch.map((l) => ({ ...l })), terminate: [], lambdaMemoryMb: {}, variantShares: {}, forecastRps: 0, notes: [] },
      state,
    }),
    route: () => ({ kind: 'reject', reason: 'test' }) as never,
    observe: (_c, state) => state,
  };
}

function host(launch: TickDecision['launch'], nowMs = 1_000_000, runId?: string) {
  return new PolicyHost(scripted(launch), makeEnv(), {
    limits: {},
    lambdaMemoryMb: 1769,
    lambdaKeepAliveMs: 300_000,
    nowMs,
    ...(runId ? { runId } : {}),
  });
}

const rec = (id: string) => ({ id, instanceType: 'c5.large', variant: VARIANT, state: 'pending' as const, launchedAtMs: 0, slots: 1 });

describe('quota backoff (core/launch-backoff.ts)', () => {
  it('doubles from 30 s to the 10 min cap; time is an argument', () => {
    let b: ReturnType<typeof launchBackoffAfterRefusal> | undefined;
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 7; i++) {
      b = launchBackoffAfterRefusal(b, { code: 'VcpuLimitExceeded', message: 'limit of 32 vCPUs' }, now);
      delays.push(b.untilMs - now);
      now = b.untilMs;
    }
    expect(delays).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    expect(b).toMatchObject({ refusals: 7, sinceMs: 0, code: 'VcpuLimitExceeded' });
    expect(launchAllowed(b, b!.untilMs - 1)).toBe(false);
    expect(launchAllowed(b, b!.untilMs)).toBe(true);
    expect(launchAllowed(undefined, 0)).toBe(true);
  });

  it('the host holds launches during the backoff (with a note), tries again after it, and a confirmed launch clears it', () => {
    const h = host([{ instanceType: 'c5.large', variant: VARIANT, count: 2 }]);
    expect(h.tick(1_005_000).actions.launch).toHaveLength(1);
    h.launchRefused({ code: 'InstanceLimitExceeded', message: 'Your quota allows for 0 more running instance(s)' }, 1_005_000);
    const now = 1_010_000;
    const held = h.tick(now);
    expect(held.actions.launch).toEqual([]);
    expect(held.actions.notes.join(' ')).toMatch(/launches held 25 s more after 1 quota refusal\(s\) \(InstanceLimitExceeded\)/);
    expect(h.launchBackoff?.untilMs).toBe(now + 25_000);
    // Still held 1 ms before the end; tried again at the end.
    expect(h.tick(1_000_000 + 5_000 + 30_000 - 1).actions.launch).toEqual([]);
    const retry = h.tick(1_000_000 + 5_000 + 30_000);
    expect(retry.actions.launch).toHaveLength(1);
    h.launchConfirmed(retry.actions.launch[0]!, [rec('i-1')], 1_035_000);
    expect(h.launchBackoff).toBeUndefined();
  });
});

describe('launch tokens (core/host/policy-host.ts)', () => {
  it('the same intended launch keeps its token across ticks until a launch is confirmed', () => {
    const h = host([{ instanceType: 'c5.large', variant: VARIANT, count: 1 }], 1_000_000, 'run1');
    const t1 = h.tick(1_005_000).actions.launch[0]!.clientToken;
    // The launch timed out in the loop (nothing confirmed): the next tick retries with the same token.
    const t2 = h.tick(1_010_000).actions.launch[0]!.clientToken;
    expect(t2).toBe(t1);
    expect(t1).toBe(`sw-run1-${VARIANT}-c5.large-0`);
    // A confirmation with no instance is no confirmation.
    h.launchConfirmed({ variant: VARIANT, instanceType: 'c5.large' }, [], 1_010_000);
    expect(h.tick(1_015_000).actions.launch[0]!.clientToken).toBe(t1);
    h.launchConfirmed({ variant: VARIANT, instanceType: 'c5.large' }, [rec('i-1')], 1_015_000);
    expect(h.fleet.activeCount()).toBe(1);
    expect(h.tick(1_020_000).actions.launch[0]!.clientToken).toBe(`sw-run1-${VARIANT}-c5.large-1`);
  });

  it('a spent token (IdempotentParameterMismatch) or an answer of terminated instances moves to a new token; terminated ones are not counted', () => {
    const h = host([{ instanceType: 'c5.large', variant: VARIANT, count: 1 }], 1_000_000, 'r');
    const pair = { variant: VARIANT, instanceType: 'c5.large' };
    expect(h.launchToken(VARIANT, 'c5.large')).toBe(`sw-r-${VARIANT}-c5.large-0`);
    h.launchTokenSpent(pair);
    expect(h.launchToken(VARIANT, 'c5.large')).toBe(`sw-r-${VARIANT}-c5.large-1`);
    h.launchConfirmed(pair, [{ ...rec('i-old'), state: 'terminated' }], 1_000_000);
    expect(h.fleet.activeCount()).toBe(0);
    expect(h.fleet.get('i-old')).toBeUndefined();
    expect(h.launchToken(VARIANT, 'c5.large')).toBe(`sw-r-${VARIANT}-c5.large-2`);
  });

  it('tokens differ per (variant, type) and per controller run; duplicate launches of a pair merge', () => {
    const h = host([
      { instanceType: 'c5.large', variant: VARIANT, count: 1 },
      { instanceType: 'c5.xlarge', variant: VARIANT, count: 1 },
      { instanceType: 'c5.large', variant: VARIANT, count: 2 },
    ]);
    const launches = h.tick(1_005_000).actions.launch;
    expect(launches.map((l) => [l.instanceType, l.count])).toEqual([
      ['c5.large', 3],
      ['c5.xlarge', 1],
    ]);
    expect(new Set(launches.map((l) => l.clientToken)).size).toBe(2);
    // A restarted controller (a later start time) never reuses the earlier run's tokens: EC2 would
    // answer them with the old, possibly terminated, instances.
    const restarted = host([{ instanceType: 'c5.large', variant: VARIANT, count: 1 }], 2_000_000);
    expect(restarted.tick(2_005_000).actions.launch[0]!.clientToken).not.toBe(launches[0]!.clientToken);
  });
});

describe('unlisted VMs (core/unlisted-vm.ts)', () => {
  const launched = { launchedHere: true, launchedAtMs: 10_000 };
  it('kept while found by id or unknown, dropped once EC2 says terminated', () => {
    expect(keepUnlistedVm(launched, 'alive', 10_000 + 10 * UNLISTED_VM_GRACE_MS)).toBe(true);
    expect(keepUnlistedVm(launched, 'unknown', 10_000 + 10 * UNLISTED_VM_GRACE_MS)).toBe(true);
    expect(keepUnlistedVm(launched, 'gone', 10_001)).toBe(false);
  });
  it('NotFound: a VM launched here survives the 120 s grace, then goes; an adopted one goes at once', () => {
    expect(keepUnlistedVm(launched, 'not-found', 10_000 + 119_999)).toBe(true);
    expect(keepUnlistedVm(launched, 'not-found', 10_000 + 120_000)).toBe(false);
    expect(keepUnlistedVm({ launchedHere: false, launchedAtMs: 10_000 }, 'not-found', 10_001)).toBe(false);
  });
});

describe('VM server layout (core/vm-layout.ts)', () => {
  it('one server with threads = vCPUs (capped) is one slot', () => {
    expect(vmServerLayout(2)).toEqual({ intraOpThreads: 2, slots: 1 });
    expect(vmServerLayout(8)).toEqual({ intraOpThreads: 8, slots: 1 });
    expect(vmServerLayout(8, 1)).toEqual({ intraOpThreads: 1, slots: 1 });
    expect(() => vmServerLayout(0)).toThrow(ConfigError);
    expect(() => vmServerLayout(2, 0)).toThrow(/maxThreads must be >= 1, got 0/);
  });
});

describe('warm estimate after a memory change (core/host/lambda-view.ts)', () => {
  it('idle instances retire at once, busy ones when their invoke ends; new instances count again', () => {
    const v = new LambdaPoolView(['m'], 1024, 10, 300_000);
    for (let i = 0; i < 5; i++) v.started('m', 0);
    for (let i = 0; i < 3; i++) v.ended('m', 10, true);
    expect(v.view.warmIdleByVariant.m).toBe(3);
    v.memoryApplied('m', 2048);
    expect(v.view.warmIdleByVariant.m).toBe(0);
    // The 2 in flight at the change ran on the old configuration: not reused.
    v.ended('m', 20, true);
    v.ended('m', 21, true);
    expect(v.view.warmIdleByVariant.m).toBe(0);
    expect(v.started('m', 30)).toBe(false); // the router's estimate: cold
    v.ended('m', 40, true);
    expect(v.view.warmIdleByVariant.m).toBe(1);
  });
});
