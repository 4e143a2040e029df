import { describe, expect, it } from 'vitest';
import { formatRps, plainWords } from '../../controller/core/host/plain-words.js';
import type { PlannerFacts, TickDecision, VmView } from '../../controller/core/policy-types.js';

const facts = (over: Partial<PlannerFacts> = {}): PlannerFacts => ({
  horizonMs: 95_000,
  headroom: 0.1,
  planRps: 46,
  holdWindowMs: 120_000,
  lambdaAbsorbRps: 31,
  vmCapacityRps: {},
  breakEven: [
    { instanceType: 'c7a.medium', variant: 'mobilenet', capacityRps: 90, pricePerHourUsd: 0.05, lambdaCostPerRequestUsd: 2e-7, utilisation: 0.81, newVmUtilisation: 0.95, burstMs: 80_000, bootDelayMs: 20_000 },
  ],
  ...over,
});
const decision = (over: Partial<TickDecision> = {}): TickDecision => ({
  launch: [], terminate: [], lambdaMemoryMb: {}, variantShares: {}, forecastRps: 46, notes: [], facts: facts(), ...over,
});
const noActions = { launch: [], terminate: [], setMemory: [], deferredMemory: [], notes: [] };
const vm = (id: string, state: VmView['state']): VmView => ({ id, instanceType: 'c7a.medium', variant: 'mobilenet', state, launchedAtMs: 0, outstanding: 0, slots: 1, slowdown: 1 });

describe('plainWords', () => {
  it('a launch because Lambda cannot absorb the forecast', () => {
    const words = plainWords({
      decision: decision(),
      actions: { ...noActions, launch: [{ instanceType: 'c7a.medium', variant: 'mobilenet', count: 1, clientToken: 't' }] },
      vms: [],
    });
    expect(words).toEqual(['launched 1 c7a.medium (mobilenet): forecast 46 rps over the next 95 s exceeds what Lambda may absorb (~31 rps)']);
  });

  it('a launch because a VM is busier than break-even', () => {
    const [w] = plainWords({
      decision: decision({ forecastRps: 20, facts: facts({ planRps: 20, lambdaAbsorbRps: 300 }) }),
      actions: { ...noActions, launch: [{ instanceType: 'c7a.medium', variant: 'mobilenet', count: 2, clientToken: 't' }] },
      vms: [],
    });
    expect(w).toBe('launched 2 c7a.medium (mobilenet): forecast 20 rps over the next 95 s; a VM busier than 95 % of its 90 rps is cheaper than Lambda (break-even 81 %)');
  });

  it('stops, replacements and memory changes', () => {
    const words = plainWords({
      decision: decision({ forecastRps: 3.14, facts: facts({ planRps: 3.14 }), notes: ['replace vm-2: slowdown above 1.5 for 3 ticks'] }),
      actions: { ...noActions, terminate: ['vm-1', 'vm-2'], setMemory: [{ variant: 'mobilenet', memoryMb: 1769 }], deferredMemory: [{ variant: 'x', memoryMb: 512, reason: 'in a burst' }] },
      vms: [vm('vm-1', 'ready'), vm('vm-2', 'ready')],
    });
    expect(words).toEqual([
      'stopped vm-1 (c7a.medium): the plan for 3.1 rps needs fewer VMs; held 120 s past the peak',
      'replaced vm-2 (c7a.medium): slowdown above 1.5 for 3 ticks',
      "set mobilenet's Lambda memory to 1769 MB",
      "kept x's Lambda memory for now (512 MB planned): it is busy, and a change would make its next requests cold starts",
    ]);
  });

  it('a quiet tick says what carries the load and when a VM would pay off', () => {
    const [w] = plainWords({ decision: decision({ forecastRps: 8.24, facts: facts({ planRps: 8.24 }) }), actions: noActions, vms: [] });
    expect(w).toBe('no change: forecast 8.2 rps over the next 95 s; no VM; a c7a.medium pays off above 73 rps (break-even 81 %)');
    const [v] = plainWords({ decision: decision({ facts: facts({ breakEven: [{ ...facts().breakEven[0]!, utilisation: 1.7 }] }) }), actions: noActions, vms: [vm('a', 'ready'), vm('b', 'booting')] });
    expect(v).toBe('no change: forecast 46 rps over the next 95 s; 1 VM(s) ready, 1 booting (Lambda covers until they are ready); Lambda is cheaper than a c7a.medium at any load for mobilenet');
  });

  it('launches the limits held back are said too; a decision without facts still reads', () => {
    const words = plainWords({
      decision: decision({ facts: undefined }),
      actions: { ...noActions, notes: ['mobilenet: wanted 3 c7a.medium, maxVms=2 allows 2'], launch: [{ instanceType: 'c7a.medium', variant: 'mobilenet', count: 2, clientToken: 't' }] },
      vms: [],
    });
    expect(words).toEqual(['launched 2 c7a.medium (mobilenet): forecast 46 rps', 'mobilenet: wanted 3 c7a.medium, maxVms=2 allows 2']);
  });

  it('formats rates for people', () => {
    expect(formatRps(46.4)).toBe('46');
    expect(formatRps(8.24)).toBe('8.2');
    expect(formatRps(0.836)).toBe('0.84');
    expect(formatRps(0)).toBe('0');
    expect(formatRps(Number.NaN)).toBe('?');
  });
});
