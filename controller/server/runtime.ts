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

export class ControllerRuntime<S = unknown> {
  readonly host: PolicyHost<S>;
  /** Requests waiting for a busy Lambda instance ('wait' decisions). */
  readonly lambdaWaiters: LambdaWaiters;
  /** Optional metrics sink (CloudWatch in the aws world): one record per completed request. */
  metricsSink: MetricsPort | undefined;
  private readonly recent: Array<{ atMs: number; backend: 'vm' | 'lambda'; variant: string }> = [];

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
    this.recent.push({ atMs: c.atMs, backend: c.backend, variant: c.variant });
    this.trimRecent(c.atMs);
  }

  private trimRecent(nowMs: number): void {
    const cutoff = nowMs - RECENT_WINDOW_MS;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]!.atMs < cutoff) drop++;
    if (drop > 0) this.recent.splice(0, drop);
  }

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
}
