/**
 * Turns a policy's TickDecision plus the world's limits into the actions a world carries out.
 * Pure: the simulator, the local stack and AWS all apply decisions through this, so a cap or a
 * deferral that holds in one world holds in all of them.
 *
 * - Launches are capped at `maxVms` counting booting + ready VMs, less the ones this decision
 *   terminates (a replacement may start while its predecessor drains).
 * - A Lambda memory change is deferred while the variant is in a burst (burst-guard.ts): an update
 *   sends every next request to a new execution environment, i.e. a cold start.
 */
import { type BurstGuardOptions, decideMemoryUpdate } from '../burst-guard.js';
import type { TickDecision } from '../policy-types.js';

export interface WorldLimits {
  /** Booting + ready VMs at most. @default PolicyEnv.maxVms, else unlimited */
  maxVms?: number;
  /** Burst rule for memory updates; `false` applies every change at once. @default the rule's defaults */
  memoryUpdateGuard?: BurstGuardOptions | false;
}

export interface LaunchAction {
  instanceType: string;
  variant: string;
  count: number;
  /** Idempotency token: the same token never launches twice. */
  clientToken: string;
}

export interface TickActions {
  launch: LaunchAction[];
  terminate: string[];
  setMemory: Array<{ variant: string; memoryMb: number }>;
  deferredMemory: Array<{ variant: string; memoryMb: number; reason: string }>;
  /** What the limits changed, in words (for the decision log). */
  notes: string[];
}

export interface ActionContext {
  nowMs: number;
  tickNo: number;
  /** Booting + ready VMs now. */
  activeVms: number;
  /** Variants the world serves. */
  variants: ReadonlySet<string>;
  /** Memory each variant's function has now. */
  memoryMbByVariant: Readonly<Record<string, number>>;
  burstInput(variant: string): { inFlight: number; recentInvokeTimesMs: readonly number[]; nowMs: number };
}

export function tickActions(decision: TickDecision, ctx: ActionContext, limits: WorldLimits): TickActions {
  const notes: string[] = [];
  const maxVms = limits.maxVms ?? Number.POSITIVE_INFINITY;
  let room = Math.max(0, maxVms - ctx.activeVms + decision.terminate.length);
  const launch: LaunchAction[] = [];
  for (const [i, l] of decision.launch.entries()) {
    const count = Math.min(l.count, room);
    if (count < l.count) notes.push(`${l.variant}: wanted ${l.count} ${l.instanceType}, maxVms=${maxVms} allows ${count}`);
    if (count <= 0) continue;
    room -= count;
    launch.push({ ...l, count, clientToken: `spillway-${ctx.nowMs}-${ctx.tickNo}-${i}` });
  }
  const setMemory: TickActions['setMemory'] = [];
  const deferredMemory: TickActions['deferredMemory'] = [];
  for (const [variant, memoryMb] of Object.entries(decision.lambdaMemoryMb)) {
    if (!ctx.variants.has(variant) || !(memoryMb > 0) || ctx.memoryMbByVariant[variant] === memoryMb) continue;
    const guard = limits.memoryUpdateGuard;
    const verdict = guard === false ? { allowed: true as const } : decideMemoryUpdate(ctx.burstInput(variant), guard);
    if (verdict.allowed) setMemory.push({ variant, memoryMb });
    else {
      deferredMemory.push({ variant, memoryMb, reason: verdict.reason });
      notes.push(`lambda memory ${variant} -> ${memoryMb} MB deferred: ${verdict.reason}`);
    }
  }
  return { launch, terminate: [...decision.terminate], setMemory, deferredMemory, notes };
}
