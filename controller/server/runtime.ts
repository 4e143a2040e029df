/**
 * The controller's live state, shared by the request path (router) and the control loop:
 * the policy and its state value, the fleet and Lambda views the policy routes on, arrival
 * counts per tick, completions since the last tick, traffic counters and cost so far.
 *
 * The views are mutated in place (outstanding counts, warm Lambda estimates) because route()
 * runs per request and must not allocate a new view each time; the policy only reads them.
 */
import type {
  CompletionRecord,
  LambdaView,
  Policy,
  PolicyEnv,
  RouterView,
  TickDecision,
  VariantInfo,
  VmView,
} from '../core/policy-types.js';
import { lambdaCostPerRequest, vmBilledCostUsd } from '../core/cost.js';
import type { MetricsPort, VmRecord } from '../ports.js';
import type { ModelVariant } from '../../functions/engine/registry-schema.js';

export interface ServedVariant {
  info: VariantInfo;
  variant: ModelVariant;
  /** 'default' when no measured profile existed and a placeholder prior was built. */
  profileSource: 'measured' | 'default';
}

interface VmEntry {
  view: VmView;
  endpoint?: string;
  /** Set when a call to it failed with "unavailable": never routed to again. */
  dead: boolean;
  /** Set when the loop decided to terminate it: no new requests. */
  draining?: boolean;
}

interface BillRecord {
  instanceType: string;
  launchedAtMs: number;
  endedAtMs?: number;
}

/** Window of recent answers kept for /v1/status (traffic split). */
const RECENT_WINDOW_MS = 30_000;

export class ControllerRuntime<S = unknown> {
  state: S;
  readonly vms: VmView[] = [];
  private readonly vmById = new Map<string, VmEntry>();
  readonly lambda: LambdaView;
  /** Reused RouterView: nowMs is refreshed per request. */
  private readonly view: { nowMs: number; vms: VmView[]; lambda: LambdaView };

  arrivalsThisTick = 0;
  readonly arrivalRpsHistory: number[] = [];
  private completions: CompletionRecord[] = [];
  readonly observedBootDelayMs: Record<string, number[]> = {};
  lastDecision: (TickDecision & { atMs: number }) | null = null;

  readonly totals = { vm: 0, lambda: 0, rejected: 0, failed: 0 };
  private readonly recent: Array<{ atMs: number; backend: 'vm' | 'lambda'; variant: string }> = [];
  private readonly bills = new Map<string, BillRecord>();
  lambdaUsd = 0;
  /** Optional metrics sink (CloudWatch in the aws world): one record per completed request. */
  metricsSink: MetricsPort | undefined;
  /** Warm-instance estimate per variant: times at which an instance became idle. */
  private readonly idleSince = new Map<string, number[]>();

  constructor(
    readonly policy: Policy<S>,
    readonly env: PolicyEnv,
    readonly variants: ReadonlyMap<string, ServedVariant>,
    readonly opts: {
      lambdaMemoryMb: number;
      lambdaKeepAliveMs: number;
      lambdaConcurrency: number;
      nowMs: number;
    },
  ) {
    this.state = policy.init(env, opts.nowMs);
    const memoryMbByVariant: Record<string, number> = {};
    const warmIdleByVariant: Record<string, number> = {};
    for (const name of variants.keys()) {
      memoryMbByVariant[name] = opts.lambdaMemoryMb;
      warmIdleByVariant[name] = 0;
    }
    this.lambda = {
      memoryMbByVariant,
      warmIdleByVariant,
      inFlight: 0,
      concurrencyLimit: opts.lambdaConcurrency,
    };
    this.view = { nowMs: opts.nowMs, vms: this.vms, lambda: this.lambda };
  }

  routerView(nowMs: number): RouterView {
    this.view.nowMs = nowMs;
    if (this.lambda.throttledUntilMs !== undefined && this.lambda.throttledUntilMs <= nowMs) {
      this.lambda.throttledUntilMs = undefined;
    }
    return this.view;
  }

  // ---- fleet -------------------------------------------------------------------------------

  /** Merge a fresh fleet.describe(): keeps outstanding counts, records first-ready boot delays. */
  syncFleet(records: readonly VmRecord[], nowMs: number): void {
    const seen = new Set<string>();
    for (const r of records) {
      if (r.state === 'terminated') continue;
      seen.add(r.id);
      const state: VmView['state'] =
        r.state === 'pending' ? 'booting' : r.state === 'ready' ? 'ready' : 'draining';
      let e = this.vmById.get(r.id);
      if (!e) {
        const view: VmView = {
          id: r.id,
          instanceType: r.instanceType,
          variant: r.variant,
          state,
          launchedAtMs: r.launchedAtMs,
          readyAtMs: r.readyAtMs,
          outstanding: 0,
          slots: r.slots,
          slowdown: 1,
        };
        e = { view, endpoint: r.endpoint, dead: false };
        this.vmById.set(r.id, e);
        this.vms.push(view);
        if (!this.bills.has(r.id))
          this.bills.set(r.id, { instanceType: r.instanceType, launchedAtMs: r.launchedAtMs });
      }
      const v = e.view as { -readonly [K in keyof VmView]: VmView[K] };
      if (v.readyAtMs === undefined && r.readyAtMs !== undefined) {
        const list = this.observedBootDelayMs[r.instanceType] ?? [];
        list.push(r.readyAtMs - r.launchedAtMs);
        this.observedBootDelayMs[r.instanceType] = list;
      }
      v.readyAtMs = r.readyAtMs;
      v.slots = r.slots;
      v.state = e.dead || e.draining ? 'draining' : state;
      e.endpoint = r.endpoint;
    }
    for (const [id, e] of this.vmById) {
      if (!seen.has(id)) this.dropVm(id, e, nowMs);
    }
  }

  private dropVm(id: string, e: VmEntry, nowMs: number): void {
    this.vmById.delete(id);
    const i = this.vms.indexOf(e.view);
    if (i >= 0) this.vms.splice(i, 1);
    const bill = this.bills.get(id);
    if (bill && bill.endedAtMs === undefined) bill.endedAtMs = nowMs;
  }

  endpointOf(vmId: string): string | undefined {
    const e = this.vmById.get(vmId);
    return e && !e.dead ? e.endpoint : undefined;
  }

  /** A call failed with "unavailable": stop routing to it until the fleet forgets it. */
  markVmDead(vmId: string): void {
    const e = this.vmById.get(vmId);
    if (!e) return;
    e.dead = true;
    (e.view as { state: VmView['state'] }).state = 'draining';
  }

  /** Stop routing to VMs about to be terminated (before the fleet reports them 'terminating'). */
  markDraining(ids: readonly string[]): void {
    for (const id of ids) {
      const e = this.vmById.get(id);
      if (!e) continue;
      e.draining = true;
      (e.view as { state: VmView['state'] }).state = 'draining';
    }
  }

  addOutstanding(vmId: string, delta: number): void {
    const e = this.vmById.get(vmId);
    if (e) (e.view as { outstanding: number }).outstanding = Math.max(0, e.view.outstanding + delta);
  }

  /**
   * Fallback VM for a variant when the policy's choice failed: the ready VM with the fewest
   * outstanding requests per slot, if it is below `maxQueuePerSlot` (so a fallback never piles
   * an unbounded queue onto a VM; 4 per slot at ~5 ms each keeps the wait ~20 ms).
   */
  pickFallbackVm(variant: string, exclude: ReadonlySet<string>, maxQueuePerSlot = 4): VmView | undefined {
    let best: VmView | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const v of this.vms) {
      if (v.state !== 'ready' || v.variant !== variant || exclude.has(v.id)) continue;
      const e = this.vmById.get(v.id);
      if (!e || e.dead || !e.endpoint) continue;
      const load = v.outstanding / Math.max(1, v.slots);
      if (load < bestLoad && load < maxQueuePerSlot) {
        best = v;
        bestLoad = load;
      }
    }
    return best;
  }

  // ---- lambda warm estimate ----------------------------------------------------------------

  private pruneIdle(variant: string, nowMs: number): number[] {
    let list = this.idleSince.get(variant);
    if (!list) {
      list = [];
      this.idleSince.set(variant, list);
    }
    const cutoff = nowMs - this.opts.lambdaKeepAliveMs;
    while (list.length > 0 && list[0]! < cutoff) list.shift();
    this.lambda.warmIdleByVariant[variant] = list.length;
    return list;
  }

  lambdaStart(variant: string, nowMs: number): void {
    const list = this.pruneIdle(variant, nowMs);
    // Take the most recently idle instance, as Lambda does.
    if (list.length > 0) list.pop();
    this.lambda.warmIdleByVariant[variant] = list.length;
    (this.lambda as { inFlight: number }).inFlight++;
  }

  lambdaEnd(variant: string, nowMs: number, ran: boolean): void {
    (this.lambda as { inFlight: number }).inFlight = Math.max(0, this.lambda.inFlight - 1);
    const list = this.pruneIdle(variant, nowMs);
    if (ran) list.push(nowMs);
    this.lambda.warmIdleByVariant[variant] = list.length;
  }

  noteThrottled(untilMs: number): void {
    (this.lambda as { throttledUntilMs?: number }).throttledUntilMs = untilMs;
  }

  setLambdaMemory(variant: string, memoryMb: number): void {
    this.lambda.memoryMbByVariant[variant] = memoryMb;
  }

  // ---- feedback ----------------------------------------------------------------------------

  recordArrival(): void {
    this.arrivalsThisTick++;
  }

  observe(c: CompletionRecord, lambdaBilling?: { billedDurationMs: number; memoryMb: number }): void {
    try {
      this.state = this.policy.observe(c, this.state, this.env);
    } catch {
      // A learning hiccup must never fail a request that was answered.
    }
    this.completions.push(c);
    try {
      this.metricsSink?.request({
        variant: c.variant,
        backend: c.backend,
        latencyMs: c.totalMs,
        violated: c.violated,
      });
    } catch {
      // Metrics are best effort: never fail an answered request.
    }
    if (c.backend === 'vm') this.totals.vm++;
    else this.totals.lambda++;
    this.recent.push({ atMs: c.atMs, backend: c.backend, variant: c.variant });
    this.trimRecent(c.atMs);
    if (lambdaBilling) {
      this.lambdaUsd += lambdaCostPerRequest(
        this.env.catalog,
        lambdaBilling.memoryMb,
        lambdaBilling.billedDurationMs,
        this.env.lambdaArch,
      );
    }
  }

  private trimRecent(nowMs: number): void {
    const cutoff = nowMs - RECENT_WINDOW_MS;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]!.atMs < cutoff) drop++;
    if (drop > 0) this.recent.splice(0, drop);
  }

  takeCompletions(): CompletionRecord[] {
    const out = this.completions;
    this.completions = [];
    return out;
  }

  /** Closes the current tick's arrival count into the history (mean rps over the tick). */
  closeArrivalTick(elapsedMs: number, keep = 720): void {
    const rps = elapsedMs > 0 ? (this.arrivalsThisTick * 1000) / elapsedMs : 0;
    this.arrivalsThisTick = 0;
    this.arrivalRpsHistory.push(rps);
    if (this.arrivalRpsHistory.length > keep)
      this.arrivalRpsHistory.splice(0, this.arrivalRpsHistory.length - keep);
  }

  // ---- reporting ---------------------------------------------------------------------------

  traffic(nowMs: number): {
    recentLambdaShare: number;
    recentWindowS: number;
    recentByVariant: Record<string, number>;
  } {
    this.trimRecent(nowMs);
    let lambda = 0;
    const byVariant: Record<string, number> = {};
    for (const r of this.recent) {
      if (r.backend === 'lambda') lambda++;
      byVariant[r.variant] = (byVariant[r.variant] ?? 0) + 1;
    }
    const n = this.recent.length;
    for (const k of Object.keys(byVariant)) byVariant[k] = byVariant[k]! / n;
    return {
      recentLambdaShare: n > 0 ? lambda / n : 0,
      recentWindowS: RECENT_WINDOW_MS / 1000,
      recentByVariant: byVariant,
    };
  }

  /** EC2 dollars so far (core/cost.ts: per-second billing, 60 s minimum); running VMs billed up to now. */
  ec2Cost(nowMs: number): { total: number; byInstanceType: Record<string, number> } {
    const byInstanceType: Record<string, number> = {};
    let total = 0;
    for (const b of this.bills.values()) {
      let usd: number;
      try {
        usd = vmBilledCostUsd(this.env.catalog, b.instanceType, (b.endedAtMs ?? nowMs) - b.launchedAtMs);
      } catch {
        continue; // instance type not in the catalog: nothing to price
      }
      byInstanceType[b.instanceType] = (byInstanceType[b.instanceType] ?? 0) + usd;
      total += usd;
    }
    return { total, byInstanceType };
  }
}
