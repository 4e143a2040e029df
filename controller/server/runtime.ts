/**
 * The live controller's state around the one policy host (core/host/policy-host.ts): the served
 * variants (registry metadata + profile), a window of recent answers for /v1/status and the
 * metrics sink. Fleet view, Lambda view, arrival history and the ledger live in the host, which the
 * simulator drives too; the accessors below only forward to it so the request path reads one place.
 */
import type { ModelVariant } from '../../functions/engine/registry-schema.js';
import { PolicyHost, type PolicyHostOptions } from '../core/host/policy-host.js';
import type {
  CompletionRecord,
  LambdaView,
  Policy,
  PolicyEnv,
  TickDecision,
  VariantInfo,
  VmView,
} from '../core/policy-types.js';
import type { MetricsPort } from '../ports.js';
import { LambdaWaiters } from './lambda-waiters.js';

export interface ServedVariant {
  info: VariantInfo;
  variant: ModelVariant;
  /** 'default' when no measured profile existed and a placeholder prior was built. */
  profileSource: 'measured' | 'default';
}

/** Window of recent answers kept for /v1/status (traffic split). */
const RECENT_WINDOW_MS = 30_000;
/**
 * The window in one-second buckets: O(1) per answer and bounded (30 buckets), where a list of
 * answers held 30,000 entries at 1 k req/s and was trimmed on every answer.
 */
const BUCKET_MS = 1_000;
const BUCKETS = RECENT_WINDOW_MS / BUCKET_MS;

interface TrafficBucket {
  /** Start of the bucket's second (ms); -Infinity while unused. */
  startMs: number;
  lambda: number;
  total: number;
  byVariant: Map<string, number>;
}

export class ControllerRuntime<S = unknown> {
  readonly host: PolicyHost<S>;
  /** Requests waiting for a busy Lambda instance ('wait' decisions). */
  readonly lambdaWaiters: LambdaWaiters;
  /** Optional metrics sink (CloudWatch in the aws world): one record per completed request. */
  metricsSink: MetricsPort | undefined;
  private readonly buckets: TrafficBucket[] = Array.from({ length: BUCKETS }, () => ({ startMs: Number.NEGATIVE_INFINITY, lambda: 0, total: 0, byVariant: new Map() }));

  constructor(
    readonly policy: Policy<S>,
    readonly env: PolicyEnv,
    readonly variants: ReadonlyMap<string, ServedVariant>,
    opts: PolicyHostOptions,
  ) {
    this.host = new PolicyHost(policy, env, opts);
    this.lambdaWaiters = new LambdaWaiters(this.host.lambda);
  }

  get vms(): readonly VmView[] {
    return this.host.fleet.vms;
  }
  get lambda(): LambdaView {
    return this.host.lambda.view;
  }
  get totals(): PolicyHost<S>['totals'] {
    return this.host.totals;
  }
  get lastDecision(): (TickDecision & { atMs: number; summary: string[] }) | null {
    return this.host.lastDecision;
  }
  get arrivalRpsHistory(): readonly number[] {
    return this.host.arrivalRpsHistory;
  }
  get lambdaUsd(): number {
    return this.host.ledger.lambdaUsd;
  }
  ec2Cost(nowMs: number): { total: number; byInstanceType: Record<string, number> } {
    return this.host.ledger.ec2(nowMs);
  }
  endpointOf(vmId: string): string | undefined {
    return this.host.fleet.endpointOf(vmId);
  }

  /** An answered request: learning (host), metrics, traffic window. */
  observe(c: CompletionRecord, lambdaBilling?: { billedDurationMs: number; memoryMb: number }): void {
    this.host.completed(c, lambdaBilling);
    try {
      this.metricsSink?.request({ variant: c.variant, backend: c.backend, latencyMs: c.totalMs, violated: c.violated });
    } catch {
      // Metrics are best effort: never fail an answered request.
    }
    const startMs = Math.floor(c.atMs / BUCKET_MS) * BUCKET_MS;
    const slot = (((startMs / BUCKET_MS) % BUCKETS) + BUCKETS) % BUCKETS; // times before 1970 in tests
    const bucket = this.buckets[slot]!;
    if (bucket.startMs !== startMs) {
      bucket.startMs = startMs;
      bucket.lambda = 0;
      bucket.total = 0;
      bucket.byVariant.clear();
    }
    bucket.total++;
    if (c.backend === 'lambda') bucket.lambda++;
    bucket.byVariant.set(c.variant, (bucket.byVariant.get(c.variant) ?? 0) + 1);
  }

  traffic(nowMs: number): {
    recentLambdaShare: number;
    recentWindowS: number;
    recentByVariant: Record<string, number>;
  } {
    // The buckets of the last RECENT_WINDOW_MS (the current second included).
    const oldestMs = Math.floor(nowMs / BUCKET_MS) * BUCKET_MS - RECENT_WINDOW_MS + BUCKET_MS;
    let lambda = 0;
    let n = 0;
    const byVariant: Record<string, number> = {};
    for (const b of this.buckets) {
      if (b.startMs < oldestMs || b.startMs > nowMs) continue;
      lambda += b.lambda;
      n += b.total;
      for (const [v, k] of b.byVariant) byVariant[v] = (byVariant[v] ?? 0) + k;
    }
    for (const k of Object.keys(byVariant)) byVariant[k] = byVariant[k]! / n;
    return {
      recentLambdaShare: n > 0 ? lambda / n : 0,
      recentWindowS: RECENT_WINDOW_MS / 1000,
      recentByVariant: byVariant,
    };
  }
}
