/**
 * The plan a cluster planner publishes and its routers route with. A router's policy host is a
 * follower: it never ticks; each newer plan replaces its policy state (the selector's learned
 * latencies, the variant shares, the plans' VM capacities: everything policy.route reads), its
 * fleet listing, each function's memory and its share of the Lambda concurrency. Requests are
 * then routed by the same policy.route the single-process stack runs, against the router's own
 * view of in-flight work.
 *
 * The policy state holds Maps and typed arrays, so it travels v8-serialized (the structured-clone
 * format) in base64: a 3-variant state is ~20 KB.
 */
import { deserialize, serialize } from 'node:v8';
import type { PolicyHost } from '../core/host/policy-host.js';
import type { VmRecord } from '../ports.js';

export interface PlanBody {
  policyStateB64: string;
  /** The fleet as the planner last described it (endpoints included). */
  vms: VmRecord[];
  lambdaMemoryMb: Record<string, number>;
  /** Lambda concurrency per live router (the plan divides the account's; Lambda's 429 is the backstop). */
  lambdaBudgetByRouter: Record<string, number>;
  /** Concurrency for a router the plan does not name yet (it joined after the plan). */
  lambdaBudgetDefault: number;
  /** Routers the budget was divided among (seen within the last few intervals). */
  routers: string[];
  decision: PolicyHost<unknown>['lastDecision'];
  plannerId: string;
}

/**
 * Divides a concurrency limit among routers: floor share each, the remainder one by one in id
 * order, at least 1 each. 8 among 3 routers: 3, 3, 2.
 */
export function divideBudget(limit: number, routers: readonly string[]): Record<string, number> {
  const ids = [...routers].sort();
  const out: Record<string, number> = {};
  if (ids.length === 0) return out;
  const base = Math.floor(limit / ids.length);
  let rest = limit - base * ids.length;
  for (const id of ids) {
    out[id] = Math.max(1, base + (rest > 0 ? 1 : 0));
    if (rest > 0) rest--;
  }
  return out;
}

export function buildPlanBody(
  host: PolicyHost<unknown>,
  o: { vms: VmRecord[]; routers: readonly string[]; concurrencyLimit: number; plannerId: string },
): PlanBody {
  const budget = divideBudget(o.concurrencyLimit, o.routers);
  return {
    policyStateB64: serialize(host.state).toString('base64'),
    vms: o.vms,
    lambdaMemoryMb: { ...host.lambda.view.memoryMbByVariant },
    lambdaBudgetByRouter: budget,
    lambdaBudgetDefault: Math.max(1, Math.floor(o.concurrencyLimit / Math.max(1, o.routers.length + 1))),
    routers: [...o.routers],
    decision: host.lastDecision,
    plannerId: o.plannerId,
  };
}

/** A router's two-choices seed: FNV-1a of its id (stable across restarts, distinct per router). */
export function routerSeed(routerId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < routerId.length; i++) h = Math.imul(h ^ routerId.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Applies a plan to a router's follower host (the router's own in-flight counts stay its own). */
export function applyPlanBody(
  host: PolicyHost<unknown>,
  plan: PlanBody,
  routerId: string,
  nowMs: number,
): void {
  host.state = deserialize(Buffer.from(plan.policyStateB64, 'base64'));
  // A router sees a VM's whole queue from the load the VM reports on every answer (core/vm-load.ts);
  // until a fresh report, it keeps to its share of the slots (2 slots, 3 routers -> 1 each), so the
  // routers together do not queue N times the work a VM can take.
  const n = Math.max(1, plan.routers.length);
  host.setRouters(n, routerSeed(routerId));
  host.fleet.sync(
    plan.vms.map((v) => ({ ...v, slotsWithoutReport: Math.max(1, Math.round(v.slots / n)) })),
    nowMs,
  );
  for (const [variant, memoryMb] of Object.entries(plan.lambdaMemoryMb))
    host.lambda.memoryApplied(variant, memoryMb);
  const budget = plan.lambdaBudgetByRouter[routerId] ?? plan.lambdaBudgetDefault;
  (host.lambda.view as { concurrencyLimit: number }).concurrencyLimit = budget;
  host.lastDecision = plan.decision;
}
