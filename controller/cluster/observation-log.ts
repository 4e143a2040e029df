/**
 * What a cluster router tells the planner: every event its policy host was fed since the last
 * publish (arrivals as demand counts, refusals, completions with their latencies and Lambda bills,
 * Lambda invoke starts/ends and throttles), as one JSON-safe body per interval. The planner replays
 * the bodies of every router into its own host (ingestObservations), so the one control loop plans
 * for the whole cluster's demand and learns from every router's latencies with the same code the
 * single-process stack runs.
 *
 * Size: completions are the only part that grows with load; past `maxCompletions` per interval the
 * log keeps a uniform sample (reservoir) and the planner still counts all of them as demand. 1,000
 * records are ~150 KB of JSON, under the store's item limit (MAX_COORD_BODY_BYTES, DynamoDB's 400 KB).
 */
import type { CompletionRecord } from '../core/policy-types.js';
import type { HostTap, PolicyHost } from '../core/host/policy-host.js';
import type { LambdaTap } from '../core/host/lambda-view.js';

type Billing = { billedDurationMs: number; memoryMb: number };

export interface ObservationBody {
  /** Arrivals by what they asked for: [task, minAccuracy, pinned variant or '', count]. */
  demand: Array<[string, number, string, number]>;
  rejected: Record<string, number>;
  failed: Record<string, number>;
  completions: Array<{ c: CompletionRecord; billing?: Billing }>;
  /** Completions beyond the sample, counted only (their bills are in `extraBilling`). */
  unsampledCompletions: number;
  /** Lambda events in order: ['s', variant, atMs] start, ['e', variant, atMs, ran] end, ['t', '', atMs, retryAfterMs]. */
  lambda: Array<['s', string, number] | ['e', string, number, boolean] | ['t', string, number, number]>;
  warmUpBills: Billing[];
  /** Bills of completions that were not sampled (the ledger stays exact). */
  extraBilling: Billing[];
}

/** Records a router host's events (install with `install(host)`), hands them out per interval. */
export class ObservationLog implements HostTap, LambdaTap {
  private body: ObservationBody = ObservationLog.empty();
  private demand = new Map<string, [string, number, string, number]>();
  private seen = 0;

  constructor(private readonly maxCompletions = 1_000, private readonly random: () => number = Math.random) {}

  static empty(): ObservationBody {
    return { demand: [], rejected: {}, failed: {}, completions: [], unsampledCompletions: 0, lambda: [], warmUpBills: [], extraBilling: [] };
  }

  install(host: PolicyHost<unknown>): void {
    host.tap = this;
    host.lambda.tap = this;
  }

  arrival(req: { task: string; minAccuracy: number; variant?: string | undefined }): void {
    const floor = req.minAccuracy > 0 ? Math.round(req.minAccuracy * 10) / 10 : 0;
    const key = `${req.task}\u0000${floor}\u0000${req.variant ?? ''}`;
    const row = this.demand.get(key);
    if (row) row[3]++;
    else this.demand.set(key, [req.task, floor, req.variant ?? '', 1]);
  }
  rejected(status: number | undefined): void {
    const k = String(status ?? 0);
    this.body.rejected[k] = (this.body.rejected[k] ?? 0) + 1;
  }
  failed(status: number | undefined): void {
    const k = String(status ?? 0);
    this.body.failed[k] = (this.body.failed[k] ?? 0) + 1;
  }
  completed(c: CompletionRecord, billing: Billing | undefined): void {
    // Reservoir sampling: each completion of the interval is kept with the same probability.
    this.seen++;
    const entry = billing ? { c, billing } : { c };
    const list = this.body.completions;
    if (list.length < this.maxCompletions) {
      list.push(entry);
      return;
    }
    this.body.unsampledCompletions++;
    const j = Math.floor(this.random() * this.seen);
    if (j < this.maxCompletions) {
      const out = list[j]!;
      list[j] = entry;
      if (out.billing) this.body.extraBilling.push(out.billing);
    } else if (billing) this.body.extraBilling.push(billing);
  }
  warmUpBilled(billing: Billing): void {
    this.body.warmUpBills.push(billing);
  }
  started(variant: string, nowMs: number): void {
    this.body.lambda.push(['s', variant, nowMs]);
  }
  ended(variant: string, nowMs: number, ran: boolean): void {
    this.body.lambda.push(['e', variant, nowMs, ran]);
  }
  throttled(nowMs: number, retryAfterMs: number): void {
    this.body.lambda.push(['t', '', nowMs, retryAfterMs]);
  }

  /** Puts back a body whose publish failed: its events go out with the next interval's. */
  restore(body: ObservationBody): void {
    for (const row of body.demand) {
      const [task, floor, variant, count] = row;
      const key = `${task}\u0000${floor}\u0000${variant}`;
      const mine = this.demand.get(key);
      if (mine) mine[3] += count;
      else this.demand.set(key, [task, floor, variant, count]);
    }
    for (const [k, n] of Object.entries(body.rejected)) this.body.rejected[k] = (this.body.rejected[k] ?? 0) + n;
    for (const [k, n] of Object.entries(body.failed)) this.body.failed[k] = (this.body.failed[k] ?? 0) + n;
    for (const e of body.completions) this.completed(e.c, e.billing);
    this.body.unsampledCompletions += body.unsampledCompletions;
    this.body.lambda = [...body.lambda, ...this.body.lambda];
    this.body.warmUpBills.push(...body.warmUpBills);
    this.body.extraBilling.push(...body.extraBilling);
  }

  /** The events since the last take; the log starts empty again. */
  take(): ObservationBody {
    const out = this.body;
    out.demand = [...this.demand.values()];
    this.body = ObservationLog.empty();
    this.demand = new Map();
    this.seen = 0;
    return out;
  }
}

/**
 * Replays one router's body into the planner's host: the same calls the router's own host got, so
 * demand, refusals, learning, the Lambda warm estimate and the ledger come out as if the planner
 * had served those requests. A planner host must have no tap of its own (it would echo them).
 */
export function ingestObservations(host: PolicyHost<unknown>, body: ObservationBody): void {
  for (const [task, minAccuracy, variant, count] of body.demand) {
    for (let i = 0; i < count; i++) host.recordArrival(variant ? { task, minAccuracy, variant } : { task, minAccuracy });
  }
  for (const [status, n] of Object.entries(body.rejected)) for (let i = 0; i < n; i++) host.rejected(Number(status) || undefined);
  for (const [status, n] of Object.entries(body.failed)) for (let i = 0; i < n; i++) host.failed(Number(status) || undefined);
  for (const e of body.lambda) {
    if (e[0] === 's') host.lambda.started(e[1], e[2]);
    else if (e[0] === 'e') host.lambda.ended(e[1], e[2], e[3]);
    else host.lambda.throttled(e[2], e[3]);
  }
  for (const { c, billing } of body.completions) host.completed(c, billing);
  for (const b of body.warmUpBills) host.warmUpBilled(b);
  for (const b of body.extraBilling) host.warmUpBilled(b);
}
