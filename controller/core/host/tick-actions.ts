/**
 * Turns a policy's TickDecision plus the world's limits into the actions a world carries out.
 * Pure: the simulator, the local stack and AWS all apply decisions through this, so a cap or a
 * deferral that holds in one world holds in all of them.
 *
 * - Launches are capped at `maxVms` counting booting + ready VMs, and at `vcpuLimit` counting their
 *   vCPUs, less the ones this decision terminates (a replacement may start while its predecessor
 *   drains); none while a quota backoff
 *   holds (core/launch-backoff.ts). Each carries the idempotency token of its intended launch
 *   (`launchToken`: the same on every tick until a launch of that variant and type is confirmed),
 *   so a launch the loop gave up on (timeout) and the next tick's retry buy one set, not two.
 * - A Lambda memory change is deferred while the variant is in a burst (burst-guard.ts): an update
 *   sends every next request to a new execution environment, i.e. a cold start.
 * - The warm pool (decision.lambdaWarm, core/warm-pool.ts) becomes warm-up invokes: when a variant
 *   holds fewer instances (idle + busy) than its target, or its oldest idle one is past half the
 *   keep-alive, it gets `target - busy` concurrent warm-ups. Concurrent invokes cannot share an
 *   execution environment, so they touch every idle instance (renewing its keep-alive) and start
 *   the missing ones. Worked number: target 5, 2 idle, 0 busy -> 5 warm-ups: 2 land on the idle
 *   instances (~1 ms each), 3 start new ones. Limited by the free concurrency.
 */
import { type BurstGuardOptions, decideMemoryUpdate } from '../burst-guard.js';
import { type LaunchBackoff, launchAllowed } from '../launch-backoff.js';
import type { TickDecision } from '../policy-types.js';

export interface WorldLimits {
  /** Booting + ready VMs at most. @default PolicyEnv.maxVms, else unlimited */
  maxVms?: number;
  /** vCPUs of booting + ready VMs at most (EC2 instance quota). @default PolicyEnv.vcpuLimit, else unlimited */
  vcpuLimit?: number;
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

export interface WarmUpAction {
  variant: string;
  /** Concurrent warm-up invokes to send now. */
  count: number;
  /** Memory the function has (or gets this tick). */
  memoryMb: number;
}

export interface TickActions {
  launch: LaunchAction[];
  terminate: string[];
  setMemory: Array<{ variant: string; memoryMb: number }>;
  /** Warm-up invokes for the warm pool; the policy host claims their concurrency slots. */
  warmUp: WarmUpAction[];
  deferredMemory: Array<{ variant: string; memoryMb: number; reason: string }>;
  /** What the limits changed, in words (for the decision log). */
  notes: string[];
}

export interface ActionContext {
  nowMs: number;
  tickNo: number;
  /** Booting + ready VMs now. */
  activeVms: number;
  /** vCPUs of the booting + ready VMs now. @default 0 */
  activeVcpus?: number;
  /** vCPUs of one VM of a type, and of a tracked VM by id (0 when unknown). */
  vcpuOf?(instanceType: string): number;
  vcpuOfVm?(id: string): number;
  /** Variants the world serves. */
  variants: ReadonlySet<string>;
  /** Memory each variant's function has now. */
  memoryMbByVariant: Readonly<Record<string, number>>;
  burstInput(variant: string): { inFlight: number; recentInvokeTimesMs: readonly number[]; nowMs: number };
  /** The Lambda view per variant: idle-warm instances and how long the oldest has been idle. */
  lambdaIdle(variant: string): { idle: number; oldestIdleMs: number };
  /** Lambda invokes in flight (all variants) and the concurrency the world allows. */
  lambdaInFlight: number;
  lambdaConcurrencyLimit: number;
  /** How long an idle instance stays warm. */
  lambdaKeepAliveMs: number;
  /** The token of the next intended launch of (variant, type): stable until one is confirmed. */
  launchToken(variant: string, instanceType: string): string;
  /** Set while launches are held after quota refusals. */
  launchBackoff?: LaunchBackoff;
}

export function tickActions(decision: TickDecision, ctx: ActionContext, limits: WorldLimits): TickActions {
  const notes: string[] = [];
  const maxVms = limits.maxVms ?? Number.POSITIVE_INFINITY;
  let room = Math.max(0, maxVms - ctx.activeVms + decision.terminate.length);
  const vcpuLimit = limits.vcpuLimit ?? Number.POSITIVE_INFINITY;
  let freedVcpus = 0;
  for (const id of decision.terminate) freedVcpus += ctx.vcpuOfVm?.(id) ?? 0;
  let vcpuRoom = Math.max(0, vcpuLimit - (ctx.activeVcpus ?? 0) + freedVcpus);
  const launch: LaunchAction[] = [];
  const held = !launchAllowed(ctx.launchBackoff, ctx.nowMs);
  if (held && decision.launch.length > 0) {
    const b = ctx.launchBackoff!;
    notes.push(
      `launches held ${Math.ceil((b.untilMs - ctx.nowMs) / 1000)} s more after ${b.refusals} quota refusal(s) (${b.code}): ${decision.launch.map((l) => `${l.count} ${l.instanceType}/${l.variant}`).join(', ')} not tried`,
    );
  }
  for (const l of held ? [] : mergeLaunches(decision.launch)) {
    const perVm = ctx.vcpuOf?.(l.instanceType) ?? 0;
    const byVcpu = perVm > 0 ? Math.floor(vcpuRoom / perVm) : Number.POSITIVE_INFINITY;
    const count = Math.min(l.count, room, byVcpu);
    if (count < l.count) {
      const why = byVcpu < Math.min(l.count, room) ? `vcpuLimit=${vcpuLimit} (${vcpuRoom} vCPU free, ${perVm} each)` : `maxVms=${maxVms}`;
      notes.push(`${l.variant}: wanted ${l.count} ${l.instanceType}, ${why} allows ${count}`);
    }
    if (count <= 0) continue;
    room -= count;
    vcpuRoom -= count * perVm;
    launch.push({ ...l, count, clientToken: ctx.launchToken(l.variant, l.instanceType) });
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
  const warmUp = warmUpActions(decision, ctx, setMemory);
  return { launch, terminate: [...decision.terminate], setMemory, warmUp, deferredMemory, notes };
}

/** One launch per (variant, type): two with the same intended-launch token would buy one set. */
function mergeLaunches(list: TickDecision['launch']): TickDecision['launch'] {
  const out: Array<TickDecision['launch'][number]> = [];
  for (const l of list) {
    const same = out.find((o) => o.variant === l.variant && o.instanceType === l.instanceType);
    if (same) same.count += l.count;
    else out.push({ ...l });
  }
  return out;
}

function warmUpActions(
  decision: TickDecision,
  ctx: ActionContext,
  setMemory: TickActions['setMemory'],
): WarmUpAction[] {
  const out: WarmUpAction[] = [];
  let free = Math.max(0, ctx.lambdaConcurrencyLimit - ctx.lambdaInFlight);
  for (const [variant, target] of Object.entries(decision.lambdaWarm ?? {})) {
    if (free <= 0) break;
    if (!ctx.variants.has(variant) || !(target > 0)) continue;
    const changed = setMemory.find((m) => m.variant === variant);
    const memoryMb = changed?.memoryMb ?? ctx.memoryMbByVariant[variant] ?? decision.lambdaMemoryMb[variant] ?? 0;
    if (!(memoryMb > 0)) continue;
    const busy = ctx.burstInput(variant).inFlight;
    // A memory change this tick retires every idle instance (new configuration, new environments).
    const { idle, oldestIdleMs } = changed ? { idle: 0, oldestIdleMs: 0 } : ctx.lambdaIdle(variant);
    const short = idle + busy < target;
    const ageing = idle > 0 && oldestIdleMs > ctx.lambdaKeepAliveMs / 2;
    if (!short && !ageing) continue;
    const count = Math.min(free, Math.max(0, Math.ceil(target) - busy));
    if (count <= 0) continue;
    out.push({ variant, count, memoryMb });
    free -= count;
  }
  return out;
}
