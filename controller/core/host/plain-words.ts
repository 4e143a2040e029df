/**
 * A tick's decision in plain words, for people (the dashboard's decision list, /v1/status): what
 * was done and the planner's reason, from the decision's facts, the actions the world's limits
 * allowed and the fleet before the tick. Pure: the same inputs give the same sentences.
 *   "launched 1 c7a.medium (mobilenet): forecast 46 rps over the next 95 s exceeds what Lambda may absorb (~31 rps)"
 *   "stopped vm-3 (c7a.medium): the plan for 12 rps needs fewer VMs; held 120 s past the peak"
 *   "no change: forecast 8.2 rps over the next 25 s; Lambda carries it (a c7a.medium pays off above 73 rps, break-even 81 %)"
 */
import type { PlannerFacts, TickDecision, VmView } from '../policy-types.js';
import type { TickActions } from './tick-actions.js';

export interface PlainWordsInput {
  decision: TickDecision;
  actions: Pick<TickActions, 'launch' | 'terminate' | 'setMemory' | 'deferredMemory' | 'notes'>;
  /** The fleet as the tick saw it (before its actions). */
  vms: readonly VmView[];
}

/** Rates with 2 significant digits below 10 rps, whole numbers above: 0.84, 8.2, 46. */
export function formatRps(rps: number): string {
  if (!Number.isFinite(rps)) return '?';
  if (rps >= 10) return Math.round(rps).toString();
  if (rps <= 0) return '0';
  return Number(rps.toPrecision(2)).toString();
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
const pct = (x: number): string => `${Math.round(x * 100)} %`;

function horizonPhrase(d: TickDecision, f: PlannerFacts | undefined): string {
  const rps = formatRps(d.forecastRps);
  return f ? `forecast ${rps} rps over the next ${seconds(f.horizonMs)}` : `forecast ${rps} rps`;
}

/** Why the plan buys VMs of this type and variant. */
function launchReason(d: TickDecision, f: PlannerFacts | undefined, instanceType: string, variant: string): string {
  const horizon = horizonPhrase(d, f);
  if (!f) return horizon;
  if (f.lambdaAbsorbRps > 0 && Math.max(d.forecastRps, f.planRps) > f.lambdaAbsorbRps) {
    return `${horizon} exceeds what Lambda may absorb (~${formatRps(f.lambdaAbsorbRps)} rps)`;
  }
  const be = f.breakEven.find((b) => b.instanceType === instanceType && b.variant === variant);
  if (be && be.utilisation < 1) {
    return `${horizon}; a VM busier than ${pct(be.newVmUtilisation)} of its ${formatRps(be.capacityRps)} rps is cheaper than Lambda (break-even ${pct(be.utilisation)})`;
  }
  return horizon;
}

/** "Lambda carries it" with the figure above which a VM would pay off. */
function holdReason(f: PlannerFacts | undefined): string {
  const be = f?.breakEven[0];
  if (!be) return 'Lambda carries what the VMs do not';
  if (be.utilisation >= 1) return `Lambda is cheaper than a ${be.instanceType} at any load for ${be.variant}`;
  return `a ${be.instanceType} pays off above ${formatRps(be.utilisation * be.capacityRps)} rps (break-even ${pct(be.utilisation)})`;
}

export function plainWords(input: PlainWordsInput): string[] {
  const { decision: d, actions: a } = input;
  const f = d.facts;
  const out: string[] = [];
  for (const l of a.launch) {
    out.push(`launched ${l.count} ${l.instanceType} (${l.variant}): ${launchReason(d, f, l.instanceType, l.variant)}`);
  }
  // Launches the plan wanted and the world's limits held back (tick-actions.ts says why).
  for (const n of a.notes) if (/^launches held|wanted \d+/.test(n)) out.push(n);
  for (const id of a.terminate) {
    const vm = input.vms.find((v) => v.id === id);
    const what = vm ? `${id} (${vm.instanceType})` : id;
    const replaced = d.notes.find((n) => n.startsWith(`replace ${id}:`));
    if (replaced) out.push(`replaced ${what}: ${replaced.slice(`replace ${id}:`.length).trim()}`);
    else {
      const held = f ? `; held ${seconds(f.holdWindowMs)} past the peak` : '';
      out.push(`stopped ${what}: the plan for ${formatRps(f?.planRps ?? d.forecastRps)} rps needs fewer VMs${held}`);
    }
  }
  for (const m of a.setMemory) out.push(`set ${m.variant}'s Lambda memory to ${m.memoryMb} MB`);
  // The burst guard's own reason (rates, thresholds) stays in the notes: in words it is one thing.
  for (const m of a.deferredMemory) {
    out.push(`kept ${m.variant}'s Lambda memory for now (${m.memoryMb} MB planned): it is busy, and a change would make its next requests cold starts`);
  }
  if (out.length === 0) {
    const ready = input.vms.filter((v) => v.state === 'ready').length;
    const booting = input.vms.filter((v) => v.state === 'booting').length;
    const fleet =
      ready + booting === 0
        ? 'no VM'
        : `${ready} VM(s) ready${booting > 0 ? `, ${booting} booting (Lambda covers until they are ready)` : ''}`;
    out.push(`no change: ${horizonPhrase(d, f)}; ${fleet}; ${holdReason(f)}`);
  }
  const failed = d.notes.find((n) => n.startsWith('policy.tick threw') || n.includes('plan for') && n.includes('failed'));
  if (failed) out.push(failed);
  return out;
}
