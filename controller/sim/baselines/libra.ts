/**
 * libra: LIBRA (IEEE IC2E'21, github.com/Zongshun96/LIBRA, simulator/manager.py `policy = 'hybrid'`),
 * as its public simulator does it:
 * - every second, with that second's request count x: dev = (1 - mu) dev + mu |mean - x| (with the
 *   mean BEFORE this second), then mean = (1 - alpha) mean + alpha x; alpha = mu = 0.2; the first
 *   second seeds mean = x, dev = 0;
 * - at the first second and then every 300 s (no_vm_update_freq): vm_share = int(|mean + 1 x dev|),
 *   VMs = ceil(vm_share / one VM's rps) (their calculate_vms), provisioned at once;
 * - provision_for = int(vm_share x 0.8) (vm_provison_prop): of each second's requests, the first
 *   provision_for go to the VMs and the rest to Lambda. After a scale-out the new provision_for
 *   applies only once the VMs' 100 s cold start (vm_cold_start) has passed; a scale-in (or no
 *   change) applies it at once.
 * Here: one VM = the profile's throughput of the cheapest $/request type (as every baseline), a
 * request within provision_for that finds every VM full (Spillway's admission rule) goes to Lambda,
 * Lambda at the cheapest memory meeting the SLO (Spillway's right-sizing; LIBRA's config runs 512 MB),
 * and the decision at t = 0 applies at once (the simulator's VMs launched at t = 0 are already running,
 * as for every policy). Seconds are counted in route() (every arrival passes through it; a request
 * re-routed after a Lambda 429 counts twice), seconds without arrivals count as 0.
 */
import type { Policy, PolicyEnv, RouteDecision, RouterView, VariantInfo } from '../../core/policy-types.js';
import {
  activeVms,
  baselineLambdaMemory,
  cheapestPerRequest,
  defaultVariant,
  emptyDecision,
  pickToTerminate,
  type PolicyFactoryContext,
  type RouteLimits,
  routeVmFirst,
  type VmOption,
  vmAdmissionCap,
  vmOptions,
} from './common.js';

export const LIBRA = {
  alpha: 0.2,
  mu: 0.2,
  updateEveryMs: 300_000,
  provisionShare: 0.8,
  vmColdStartMs: 100_000,
  deviations: 1,
} as const;

/** LIBRA's per-second smoother (manager.handle_requests). */
export interface LibraEwma {
  mean: number | undefined;
  dev: number;
}

export function libraStep(e: LibraEwma, x: number): void {
  if (e.mean === undefined) {
    e.mean = x;
    e.dev = 0;
    return;
  }
  e.dev = (1 - LIBRA.mu) * e.dev + LIBRA.mu * Math.abs(e.mean - x);
  e.mean = (1 - LIBRA.alpha) * e.mean + LIBRA.alpha * x;
}

/** LIBRA's sizing at a decision: vm_share, VMs and provision_for. */
export function libraDecision(e: LibraEwma, vmCapacityRps: number): { vmShare: number; vms: number; provisionFor: number } {
  const vmShare = Math.trunc(Math.abs((e.mean ?? 0) + LIBRA.deviations * e.dev));
  const vms = vmCapacityRps > 0 ? Math.ceil(vmShare / vmCapacityRps) : 0;
  return { vmShare, vms, provisionFor: Math.trunc(vmShare * LIBRA.provisionShare) };
}

export interface LibraState {
  variant: VariantInfo;
  option: VmOption;
  limits: RouteLimits;
  lambdaMemoryMb: number;
  /** Mutable per-second counter (written by route()). */
  sec: { second: number; count: number; toVm: number; ewma: LibraEwma };
  nextUpdateMs: number;
  targetVms: number;
  prevVms: number;
  provisionFor: number;
  pending?: { provisionFor: number; vms: number; atMs: number };
  decisions: number;
}

/** Closes the seconds before `second` (the current one with its count, the empty ones with 0). */
function rollTo(s: LibraState, second: number): void {
  const c = s.sec;
  if (second <= c.second) return;
  libraStep(c.ewma, c.count);
  // Empty seconds in between (bounded: after an hour of silence the EWMA is at 0 to 1e-300 anyway).
  const empty = Math.min(3600, second - c.second - 1);
  for (let i = 0; i < empty; i++) libraStep(c.ewma, 0);
  c.second = second;
  c.count = 0;
  c.toVm = 0;
}

function lambdaDecision(view: RouterView, s: LibraState): RouteDecision | undefined {
  const lam = view.lambda;
  if (lam.inFlight >= lam.concurrencyLimit || (lam.throttledUntilMs !== undefined && lam.throttledUntilMs > view.nowMs)) return undefined;
  return { kind: 'lambda', variant: s.variant.name, memoryMb: s.lambdaMemoryMb, expectedMs: 0, cold: (lam.warmIdleByVariant[s.variant.name] ?? 0) === 0 };
}

export function createLibraPolicy(ctx: PolicyFactoryContext): Policy<LibraState> {
  return {
    name: 'libra',
    usesLambda: true,
    init(env: PolicyEnv, nowMs: number): LibraState {
      const variant = defaultVariant(env, ctx.minAccuracy);
      const option = cheapestPerRequest(vmOptions(env, variant));
      if (!option) throw new Error(`libra: variant ${variant.name} has no instance estimate for ${env.instanceTypes.join(', ')}`);
      const lambdaMemoryMb = baselineLambdaMemory(env, variant);
      const maxOutstanding = vmAdmissionCap(env, variant, option.instanceType, option.slots);
      return {
        variant,
        option,
        lambdaMemoryMb,
        limits: { variant: variant.name, maxOutstanding, lambdaMemoryMb },
        sec: { second: Math.floor(nowMs / 1000), count: 0, toVm: 0, ewma: { mean: undefined, dev: 0 } },
        nextUpdateMs: nowMs,
        targetVms: 0,
        prevVms: 0,
        provisionFor: 0,
        decisions: 0,
      };
    },
    tick(obs, prev, env) {
      const s: LibraState = { ...prev };
      const d = emptyDecision();
      rollTo(s, Math.floor(obs.nowMs / 1000));
      const e = s.sec.ewma;
      // Before any arrival was seen (the first tick), the last tick's rate stands in for "the first second".
      if (e.mean === undefined) {
        const last = obs.arrivalRpsHistory[obs.arrivalRpsHistory.length - 1];
        if (last !== undefined) libraStep(e, last);
      }
      if (obs.nowMs >= s.nextUpdateMs) {
        const dec = libraDecision(e, s.option.capacityRps);
        s.nextUpdateMs = obs.nowMs + LIBRA.updateEveryMs;
        s.targetVms = dec.vms;
        if (dec.vms > s.prevVms && s.decisions > 0) {
          s.pending = { provisionFor: dec.provisionFor, vms: dec.vms, atMs: obs.nowMs + LIBRA.vmColdStartMs };
        } else {
          s.pending = undefined;
          s.prevVms = dec.vms;
          s.provisionFor = dec.provisionFor;
        }
        s.decisions++;
        d.notes.push(
          `libra: mean ${(e.mean ?? 0).toFixed(1)} + dev ${e.dev.toFixed(1)} -> vm_share ${dec.vmShare} rps, ${dec.vms} VM(s), provision_for ${dec.provisionFor}/s${s.pending ? ' after the 100 s cold start' : ''}`,
        );
      }
      if (s.pending && obs.nowMs >= s.pending.atMs) {
        s.provisionFor = s.pending.provisionFor;
        s.prevVms = s.pending.vms;
        s.pending = undefined;
      }
      const active = activeVms(obs.vms, s.variant.name);
      if (s.targetVms > active.length) {
        // Provisioned at the decision (a VM that vanished is re-provisioned at once).
        d.launch.push({ instanceType: s.option.instanceType, variant: s.variant.name, count: s.targetVms - active.length });
      } else if (s.targetVms < active.length) {
        d.terminate = pickToTerminate(active, s.targetVms, obs.nowMs, env.catalog.ec2.billingMinimumSeconds * 1000);
      }
      d.lambdaMemoryMb[s.variant.name] = s.lambdaMemoryMb;
      d.variantShares[s.variant.name] = 1;
      d.forecastRps = (e.mean ?? 0) + e.dev;
      return { decision: d, state: s };
    },
    route(req, view, s) {
      rollTo(s, Math.floor(req.nowMs / 1000));
      const c = s.sec;
      c.count++;
      if (c.toVm < s.provisionFor) {
        const r = routeVmFirst(view, s.limits);
        if (r.kind === 'vm') c.toVm++;
        return r;
      }
      return lambdaDecision(view, s) ?? routeVmFirst(view, { ...s.limits, lambdaMemoryMb: undefined });
    },
    observe(_c, s) {
      return s;
    },
  };
}
