import { describe, expect, it } from 'vitest';
import { type ActionContext, tickActions } from '../../controller/core/host/tick-actions.js';
import { type PlannerVariant, planCapacity } from '../../controller/core/planner.js';
import type { TickDecision } from '../../controller/core/policy-types.js';
import { lambdaCostPerRequest } from '../../profiles/pricing.js';
import { catalog } from './fixtures.js';

/** One 6 ms variant on every catalog type (capacity = vCPUs x 1000 / 6 ms), with or without Lambda. */
function variant(lambda: boolean): PlannerVariant {
  return {
    name: 'v',
    accuracy: 70,
    vmOptions: catalog.ec2.instanceTypes.map((t) => ({
      instanceType: t.name,
      capacityRps: (t.vcpu * 1000) / 6,
      pricePerHourUsd: t.pricePerHourUsd,
      bootDelayMs: t.typicalBootDelayMs,
      vcpu: t.vcpu,
    })),
    ...(lambda ? { lambda: { memoryMb: 2048, costPerRequestUsd: lambdaCostPerRequest(catalog, 2048, 6), durationMs: 6 } } : {}),
  };
}

const vcpusOf = (vms: ReadonlyArray<{ instanceType: string; count: number }>): number =>
  vms.reduce((a, v) => a + v.count * (catalog.ec2.instanceTypes.find((t) => t.name === v.instanceType)?.vcpu ?? 0), 0);

describe('the EC2 vCPU quota is a constraint of the plan', () => {
  it('2,000 rps wants more than 6 vCPUs of VMs; with a 6 vCPU quota the plan stays within it and Lambda takes the rest', () => {
    const free = planCapacity({ loadRps: 2000, variants: [variant(true)], lambdaConcurrencyLimit: 1000 });
    const capped = planCapacity({ loadRps: 2000, variants: [variant(true)], lambdaConcurrencyLimit: 1000, vcpuLimit: 6 });
    expect(free.ok && capped.ok).toBe(true);
    if (!free.ok || !capped.ok) return;
    expect(vcpusOf(free.vms)).toBeGreaterThan(6);
    expect(vcpusOf(capped.vms)).toBeLessThanOrEqual(6);
    expect(vcpusOf(capped.vms)).toBeGreaterThan(0);
    expect(capped.lambdaRps.v ?? 0).toBeGreaterThan(free.lambdaRps.v ?? 0);
    expect(capped.costUsdPerHour).toBeGreaterThanOrEqual(free.costUsdPerHour - 1e-9);
  });

  it('without Lambda a load beyond the quota is infeasible, and the reason names the quota', () => {
    const r = planCapacity({ loadRps: 2000, variants: [variant(false)], lambdaConcurrencyLimit: 1000, vcpuLimit: 4 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/vCPU quota 4/);
  });

  it('existing VMs count against the quota too', () => {
    const v = variant(true);
    const withExisting: PlannerVariant = {
      ...v,
      vmOptions: v.vmOptions.map((o) => (o.instanceType === 'c5.xlarge' ? { ...o, existing: 1 } : o)),
    };
    const r = planCapacity({ loadRps: 2000, variants: [withExisting], lambdaConcurrencyLimit: 1000, vcpuLimit: 4 });
    expect(r.ok).toBe(true);
    if (r.ok) expect(vcpusOf(r.vms)).toBeLessThanOrEqual(4);
  });
});

describe('the policy host caps launches at the vCPU quota', () => {
  const vcpu = (t: string) => catalog.ec2.instanceTypes.find((x) => x.name === t)?.vcpu ?? 0;
  const ctx = (activeVcpus: number, terminating: Record<string, string> = {}): ActionContext => ({
    nowMs: 0,
    tickNo: 1,
    activeVms: 1,
    activeVcpus,
    vcpuOf: vcpu,
    vcpuOfVm: (id) => vcpu(terminating[id] ?? ''),
    variants: new Set(['v']),
    memoryMbByVariant: { v: 2048 },
    burstInput: () => ({ inFlight: 0, recentInvokeTimesMs: [], nowMs: 0 }),
    lambdaIdle: () => ({ idle: 0, oldestIdleMs: 0 }),
    lambdaInFlight: 0,
    lambdaConcurrencyLimit: 8,
    lambdaKeepAliveMs: 600_000,
    launchToken: (v, t) => `tok-${v}-${t}`,
  });
  const decision = (count: number, terminate: string[] = []): TickDecision => ({
    launch: [{ instanceType: 'c5.large', variant: 'v', count }],
    terminate,
    lambdaMemoryMb: {},
    variantShares: { v: 1 },
    forecastRps: 0,
    notes: [],
  });

  it('8 vCPU quota, 4 in use: 3 x c5.large (2 vCPU) asked, 2 launched, and the note says why', () => {
    const a = tickActions(decision(3), ctx(4), { vcpuLimit: 8 });
    expect(a.launch).toEqual([{ instanceType: 'c5.large', variant: 'v', count: 2, clientToken: 'tok-v-c5.large' }]);
    expect(a.notes.join(' ')).toMatch(/vcpuLimit=8 \(4 vCPU free, 2 each\) allows 2/);
  });

  it("a VM this decision terminates frees its vCPUs for the replacement", () => {
    const a = tickActions(decision(1, ['i-old']), ctx(8, { 'i-old': 'c5.large' }), { vcpuLimit: 8 });
    expect(a.launch.map((l) => l.count)).toEqual([1]);
    expect(tickActions(decision(1), ctx(8), { vcpuLimit: 8 }).launch).toEqual([]);
  });

  it('no quota: only maxVms limits', () => {
    expect(tickActions(decision(3), ctx(100), {}).launch.map((l) => l.count)).toEqual([3]);
  });
});
