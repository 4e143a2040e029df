/**
 * The controller's recent past for people: a fixed-size ring buffer of one sample per tick (an
 * hour of them by default) and of the last decisions in plain words, fed by the policy host at
 * every tick and read by GET /v1/history and the dashboard. Pure data: no clock, no I/O; the
 * sample is built from what the tick observed and decided (`buildHistorySample`).
 */
import type { Catalog } from '../../../profiles/catalog.js';
import { vmCostPerHour } from '../../../profiles/pricing.js';
import { instanceEstimate } from '../../../profiles/schema.js';
import type { CompletionRecord, PolicyEnv, TickDecision, VmView } from '../policy-types.js';

/** A fixed-capacity FIFO: pushing onto a full buffer overwrites the oldest item. */
export class RingBuffer<T> {
  private readonly items: Array<T | undefined>;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be an integer >= 1, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = item;
      this.count++;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.capacity] as T);
    return out;
  }

  /** The newest item, if any. */
  last(): T | undefined {
    return this.count === 0 ? undefined : (this.items[(this.start + this.count - 1) % this.capacity] as T);
  }

  /** Items (oldest first) for which `keep` holds, scanning from the newest back while it does. */
  takeLastWhile(keep: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let i = this.count - 1; i >= 0; i--) {
      const item = this.items[(this.start + i) % this.capacity] as T;
      if (!keep(item)) break;
      out.push(item);
    }
    return out.reverse();
  }
}

export interface FleetTypeSample {
  instanceType: string;
  booting: number;
  ready: number;
  draining: number;
  /** The boot delay the planner uses for the type (learned, else the catalog's), ms. */
  bootDelayMs: number;
}

export interface HistorySample {
  atMs: number;
  tick: number;
  /** Arrivals over the tick (every routed request, rejected ones included), rps. */
  arrivalRps: number;
  /** The forecast peak with headroom, and without it (the band between them is the headroom). */
  forecastRps: number | null;
  forecastBaseRps: number | null;
  /** Capacity the plan counts on of ready and of booting VMs, rps. */
  vmReadyRps: number;
  vmBootingRps: number;
  lambdaInFlight: number;
  lambdaConcurrencyLimit: number;
  /** What Lambda may absorb by the planner's figures, rps (null: no facts). */
  lambdaAbsorbRps: number | null;
  fleet: FleetTypeSample[];
  /** Answers during the tick. */
  answers: { vm: number; lambda: number; coldStarts: number; rejected503: number; timeouts504: number; otherErrors: number };
  /** Answered within the SLO over answered + 503 + 504 (null: nothing happened). */
  sloAttainment: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  sloMs: number;
  cost: { ec2UsdPerHour: number; lambdaUsdPerHour: number; ec2Usd: number; lambdaUsd: number };
  /** The cheapest break-even the planner used this tick (null: none in use). */
  breakEven: { instanceType: string; variant: string; utilisation: number; burstMs: number | null } | null;
  /** Answers per task by variant this tick (shares summing to 1 per task). */
  modelMix: Record<string, Record<string, number>>;
  /** Mean published top-1 accuracy of this tick's answers (null: none, or no accuracy known). */
  servedAccuracy: number | null;
}

export interface DecisionRecord {
  atMs: number;
  tick: number;
  /** The decision in plain words (plain-words.ts). */
  summary: string[];
  /** The planner's own notes, unabridged. */
  notes: string[];
}

/** Counts of failed and refused requests during a tick (the host keeps them). */
export interface TickErrorCounts {
  rejected503: number;
  timeouts504: number;
  otherErrors: number;
}

/** Nearest-rank percentile of an ascending array (q in 0..1). */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export interface SampleInput {
  nowMs: number;
  tick: number;
  env: PolicyEnv;
  arrivalRps: number;
  decision: TickDecision;
  /** The fleet after the tick's actions were applied to the view (draining marked). */
  vms: readonly VmView[];
  /** Boot delay per instance type (learned median, else catalog). */
  bootDelayMs: (instanceType: string) => number;
  lambdaInFlight: number;
  lambdaConcurrencyLimit: number;
  completions: readonly CompletionRecord[];
  errors: TickErrorCounts;
  ec2Usd: number;
  lambdaUsd: number;
  /** The previous sample (for the Lambda $/h slope). */
  previous: HistorySample | undefined;
}

function vmCapacity(env: PolicyEnv, facts: TickDecision['facts'], vm: VmView): number {
  const planned = facts?.vmCapacityRps[`${vm.instanceType}|${vm.variant}`];
  if (planned !== undefined) return planned;
  const profile = env.variants.find((v) => v.name === vm.variant)?.profile;
  return (profile ? instanceEstimate(profile, vm.instanceType) : undefined)?.throughputRps ?? 0;
}

function ec2UsdPerHour(catalog: Catalog, vms: readonly VmView[]): number {
  let usd = 0;
  for (const vm of vms) {
    try {
      usd += vmCostPerHour(catalog, vm.instanceType);
    } catch {
      // a type the catalog does not price
    }
  }
  return usd;
}

export function buildHistorySample(i: SampleInput): HistorySample {
  const d = i.decision;
  const f = d.facts;
  let vmReadyRps = 0;
  let vmBootingRps = 0;
  const byType = new Map<string, FleetTypeSample>();
  for (const t of i.env.instanceTypes) byType.set(t, { instanceType: t, booting: 0, ready: 0, draining: 0, bootDelayMs: i.bootDelayMs(t) });
  for (const vm of i.vms) {
    const cap = vmCapacity(i.env, f, vm);
    if (vm.state === 'ready') vmReadyRps += cap;
    else if (vm.state === 'booting') vmBootingRps += cap;
    let t = byType.get(vm.instanceType);
    if (!t) {
      t = { instanceType: vm.instanceType, booting: 0, ready: 0, draining: 0, bootDelayMs: i.bootDelayMs(vm.instanceType) };
      byType.set(vm.instanceType, t);
    }
    t[vm.state]++;
  }

  let vm = 0;
  let lambda = 0;
  let coldStarts = 0;
  let met = 0;
  let accSum = 0;
  let accN = 0;
  const latencies: number[] = [];
  const mixCounts: Record<string, Record<string, number>> = {};
  const info = new Map(i.env.variants.map((v) => [v.name, v]));
  for (const c of i.completions) {
    if (c.backend === 'vm') vm++;
    else lambda++;
    if (c.coldStart) coldStarts++;
    if (!c.violated) met++;
    latencies.push(c.totalMs);
    const v = info.get(c.variant);
    const task = v?.task ?? '?';
    const m = mixCounts[task] ?? {};
    m[c.variant] = (m[c.variant] ?? 0) + 1;
    mixCounts[task] = m;
    if (v?.accuracyTop1 !== null && v?.accuracyTop1 !== undefined) {
      accSum += v.accuracyTop1;
      accN++;
    }
  }
  latencies.sort((a, b) => a - b);
  const modelMix: Record<string, Record<string, number>> = {};
  for (const [task, m] of Object.entries(mixCounts)) {
    const n = Object.values(m).reduce((a, b) => a + b, 0);
    modelMix[task] = Object.fromEntries(Object.entries(m).map(([v, k]) => [v, k / n]));
  }
  const judged = i.completions.length + i.errors.rejected503 + i.errors.timeouts504;
  const prev = i.previous;
  const dtH = prev ? (i.nowMs - prev.atMs) / 3_600_000 : 0;
  const be = f?.breakEven[0];
  const headroom = f?.headroom ?? 0;
  const forecast = Number.isFinite(d.forecastRps) ? d.forecastRps : null;
  return {
    atMs: i.nowMs,
    tick: i.tick,
    arrivalRps: i.arrivalRps,
    forecastRps: forecast,
    forecastBaseRps: forecast === null ? null : forecast / (1 + Math.max(0, headroom)),
    vmReadyRps,
    vmBootingRps,
    lambdaInFlight: i.lambdaInFlight,
    lambdaConcurrencyLimit: i.lambdaConcurrencyLimit,
    lambdaAbsorbRps: f ? f.lambdaAbsorbRps : null,
    fleet: [...byType.values()],
    answers: { vm, lambda, coldStarts, ...i.errors },
    sloAttainment: judged > 0 ? met / judged : null,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    sloMs: i.env.sloMs,
    cost: {
      ec2UsdPerHour: ec2UsdPerHour(i.env.catalog, i.vms),
      lambdaUsdPerHour: prev && dtH > 0 ? Math.max(0, i.lambdaUsd - prev.cost.lambdaUsd) / dtH : 0,
      ec2Usd: i.ec2Usd,
      lambdaUsd: i.lambdaUsd,
    },
    breakEven: be ? { instanceType: be.instanceType, variant: be.variant, utilisation: be.utilisation, burstMs: be.burstMs } : null,
    modelMix,
    servedAccuracy: accN > 0 ? accSum / accN : null,
  };
}

/** The host's history: samples for an hour (at one per tick) and the last decisions. */
export class ControllerHistory {
  readonly samples: RingBuffer<HistorySample>;
  readonly decisions: RingBuffer<DecisionRecord>;

  constructor(sampleCapacity: number, decisionCapacity = 50) {
    this.samples = new RingBuffer(sampleCapacity);
    this.decisions = new RingBuffer(decisionCapacity);
  }

  /** Ticks per hour at this interval (at least 1): the default sample capacity. */
  static hourOf(tickIntervalMs: number): number {
    return Math.max(1, Math.ceil(3_600_000 / Math.max(1, tickIntervalMs)));
  }

  record(sample: HistorySample, decision: DecisionRecord): void {
    this.samples.push(sample);
    // Every tick that changed the fleet or the memory is kept; any other only when its words differ
    // from the last one's by more than figures (a run of "no change: forecast 8.2 rps ..." is one).
    const last = this.decisions.last();
    const acted = decision.summary.some((w) => ACTION_WORDS.test(w));
    if (acted || last === undefined || shape(last.summary) !== shape(decision.summary)) this.decisions.push(decision);
  }

  /** Samples after `sinceMs` (all when undefined) and the decisions after it, oldest first. */
  since(sinceMs: number | undefined): { samples: HistorySample[]; decisions: DecisionRecord[] } {
    if (sinceMs === undefined) return { samples: this.samples.toArray(), decisions: this.decisions.toArray() };
    return {
      samples: this.samples.takeLastWhile((s) => s.atMs > sinceMs),
      decisions: this.decisions.takeLastWhile((d) => d.atMs > sinceMs),
    };
  }
}

/** Sentences that report an action (plain-words.ts). */
const ACTION_WORDS = /^(launched|stopped|replaced|set) /;

/** What a decision says with its figures blanked: a forecast of 8.2 vs 8.4 rps says the same. */
function shape(summary: readonly string[]): string {
  return summary.join('\n').replace(/[0-9.]+/g, '#');
}
