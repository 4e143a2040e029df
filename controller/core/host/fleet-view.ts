/**
 * The policy's view of the VM fleet, kept from events every world reports the same way:
 * `sync()` with the fleet as the world lists it (EC2 DescribeInstances, the local fleet, the
 * simulator's VMs), `launched()` with what a launch call returned, and per-request
 * `dispatched()` / `finished()`. First-ready transitions become observed boot delays.
 *
 * A VM we launched but the world does not list yet stays in the view as 'booting' for
 * `unlistedGraceMs` (EC2's DescribeInstances is eventually consistent: a just-launched instance
 * can be missing for seconds), so a launch is never repeated because of a stale listing.
 */
import type { VmView } from '../policy-types.js';
import { UNLISTED_VM_GRACE_MS } from '../unlisted-vm.js';
import { vmQueue } from '../vm-load.js';

/** One VM as a world lists it (structurally the ports' VmRecord). */
export interface FleetRecord {
  id: string;
  instanceType: string;
  variant: string;
  state: 'pending' | 'ready' | 'terminating' | 'terminated';
  launchedAtMs: number;
  readyAtMs?: number;
  endpoint?: string;
  slots: number;
  /** Cluster routers: this router's share of `slots` while the VM has not reported its load. */
  slotsWithoutReport?: number;
}

interface Entry {
  view: VmView;
  endpoint?: string;
  /** A call to it failed with "unavailable": never routed to again. */
  dead: boolean;
  /** The plan chose to terminate it: no new requests. */
  draining: boolean;
  /** Added by launched() and not yet listed by the world. */
  unlistedSinceMs?: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface FleetEvents {
  /** A VM appeared (billing starts at launchedAtMs). */
  onAdded?(id: string, instanceType: string, launchedAtMs: number): void;
  /** A VM left the view (billing ends). */
  onGone?(id: string, atMs: number): void;
}

export class FleetView {
  /** Live views, the array the router reads (mutated in place: no allocation per request). */
  readonly vms: VmView[] = [];
  private readonly byId = new Map<string, Entry>();
  /** Provisioning latencies (request -> ready) per instance type, most recent last, at most 20. */
  readonly observedBootDelayMs: Record<string, number[]> = {};

  constructor(
    private readonly events: FleetEvents = {},
    private readonly unlistedGraceMs = UNLISTED_VM_GRACE_MS,
  ) {}

  /** What a launch call returned: counted at once, before the world lists it. */
  launched(records: readonly FleetRecord[], nowMs: number): void {
    for (const r of records) if (!this.byId.has(r.id)) this.add(r, nowMs, true);
  }

  /** Merge the world's listing: keeps outstanding counts, records first-ready boot delays. */
  sync(records: readonly FleetRecord[], nowMs: number): void {
    const seen = new Set<string>();
    for (const r of records) {
      if (r.state === 'terminated') continue;
      seen.add(r.id);
      const e = this.byId.get(r.id) ?? this.add(r, nowMs, false);
      e.unlistedSinceMs = undefined;
      const v = e.view as Mutable<VmView>;
      if (v.readyAtMs === undefined && r.readyAtMs !== undefined && r.readyAtMs > r.launchedAtMs) {
        const list = this.observedBootDelayMs[r.instanceType] ?? [];
        this.observedBootDelayMs[r.instanceType] = list;
        list.push(r.readyAtMs - r.launchedAtMs);
        if (list.length > 20) list.shift();
      }
      v.readyAtMs = r.readyAtMs;
      v.slots = r.slots;
      if (r.slotsWithoutReport !== undefined) v.slotsWithoutReport = r.slotsWithoutReport;
      const state: VmView['state'] =
        r.state === 'pending' ? 'booting' : r.state === 'ready' ? 'ready' : 'draining';
      v.state = e.dead || e.draining ? 'draining' : state;
      if (r.endpoint !== undefined) e.endpoint = r.endpoint;
    }
    for (const [id, e] of this.byId) {
      if (seen.has(id)) continue;
      if (e.unlistedSinceMs !== undefined && nowMs - e.unlistedSinceMs < this.unlistedGraceMs) continue;
      this.drop(id, e, nowMs);
    }
  }

  private add(r: FleetRecord, nowMs: number, unlisted: boolean): Entry {
    const view: VmView = {
      id: r.id,
      instanceType: r.instanceType,
      variant: r.variant,
      state: r.state === 'ready' ? 'ready' : r.state === 'pending' ? 'booting' : 'draining',
      launchedAtMs: r.launchedAtMs,
      ...(r.readyAtMs !== undefined ? { readyAtMs: r.readyAtMs } : {}),
      outstanding: 0,
      slots: r.slots,
      slowdown: 1,
    };
    const e: Entry = { view, dead: false, draining: false, ...(r.endpoint ? { endpoint: r.endpoint } : {}) };
    if (unlisted) e.unlistedSinceMs = nowMs;
    this.byId.set(r.id, e);
    this.vms.push(view);
    this.events.onAdded?.(r.id, r.instanceType, r.launchedAtMs);
    return e;
  }

  private drop(id: string, e: Entry, nowMs: number): void {
    this.byId.delete(id);
    const i = this.vms.indexOf(e.view);
    if (i >= 0) this.vms.splice(i, 1);
    this.events.onGone?.(id, nowMs);
  }

  get(id: string): VmView | undefined {
    return this.byId.get(id)?.view;
  }

  /** The endpoint to call, unless the VM was found dead. */
  endpointOf(id: string): string | undefined {
    const e = this.byId.get(id);
    return e && !e.dead ? e.endpoint : undefined;
  }

  /** A call failed with "unavailable": stop routing to it until the world stops listing it. */
  markDead(id: string): void {
    const e = this.byId.get(id);
    if (!e) return;
    e.dead = true;
    (e.view as Mutable<VmView>).state = 'draining';
  }

  /** Stop routing to VMs the plan terminates (before the world reports them going away). */
  markDraining(ids: readonly string[]): void {
    for (const id of ids) {
      const e = this.byId.get(id);
      if (!e) continue;
      e.draining = true;
      (e.view as Mutable<VmView>).state = 'draining';
    }
  }

  dispatched(id: string, n = 1): void {
    const e = this.byId.get(id);
    if (e) (e.view as Mutable<VmView>).outstanding += n;
  }

  /**
   * A VM answered with its load (requests it holds, the answered one included), before this
   * router's `finished()` for that answer: what it holds beyond this router's own outstanding is
   * other routers' work. Worked number: the VM reports 5, this router has 2 there -> 3 from others.
   */
  loadReported(id: string, vmOutstanding: number, nowMs: number): void {
    const e = this.byId.get(id);
    if (!e) return;
    const v = e.view as Mutable<VmView>;
    v.othersOutstanding = Math.max(0, vmOutstanding - v.outstanding);
    v.othersReportedAtMs = nowMs;
  }

  finished(id: string, n = 1): void {
    const e = this.byId.get(id);
    if (e) {
      const v = e.view as Mutable<VmView>;
      v.outstanding = Math.max(0, v.outstanding - n);
    }
  }

  /** vCPUs of the VMs that count against the quota (the same ones as activeCount). */
  activeVcpus(vcpuOf: (instanceType: string) => number): number {
    let n = 0;
    for (const v of this.vms) if (v.state !== 'draining') n += vcpuOf(v.instanceType);
    return n;
  }

  /** VMs that count against maxVms: booting or ready (draining ones are on their way out). */
  activeCount(): number {
    let n = 0;
    for (const v of this.vms) if (v.state !== 'draining') n++;
    return n;
  }

  /**
   * Fallback VM for a variant when the first choice failed: the ready VM with the fewest
   * outstanding requests per slot, if below `maxQueuePerSlot` (4 per slot at ~5 ms each keeps the
   * wait ~20 ms), so a fallback never piles an unbounded queue onto one VM.
   */
  pickFallback(
    variant: string,
    exclude: ReadonlySet<string>,
    nowMs: number,
    maxQueuePerSlot = 4,
  ): VmView | undefined {
    let best: VmView | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const v of this.vms) {
      if (v.state !== 'ready' || v.variant !== variant || exclude.has(v.id)) continue;
      const e = this.byId.get(v.id);
      if (!e || e.dead || !e.endpoint) continue;
      const q = vmQueue(v, nowMs);
      const load = q.outstanding / q.slots;
      if (load < bestLoad && load < maxQueuePerSlot) {
        best = v;
        bestLoad = load;
      }
    }
    return best;
  }

  /** A copy for the tick observation (the policy may keep it). */
  snapshot(): VmView[] {
    return this.vms.map((v) => ({ ...v }));
  }
}
